//! The bouquet's endpoints as the catalogue lists them: each with its provider's name,
//! its routes, its scopes and the use cases whose habilitation form opens it.

use std::sync::OnceLock;

use passerelle_bouquet::{Bouquet, Endpoint, Mode};
use passerelle_habilitation::{Forms, Kind};

use super::search::fold;

/// A use case of the bouquet: a habilitation form of kind "use case".
#[derive(Debug, Clone)]
pub struct UseCase {
    /// The form's id, the value of `cas` in the search.
    pub id: String,
    pub title: String,
    pub scopes: Vec<String>,
}

impl UseCase {
    fn opens(&self, endpoint: &Endpoint) -> bool {
        endpoint
            .access_scopes
            .iter()
            .any(|s| self.scopes.iter().any(|o| o == s))
    }
}

/// One route of an endpoint: `GET /v3/dss/quotient_familial/identite`.
#[derive(Debug, Clone)]
pub struct RouteLine {
    pub version: u8,
    pub path: String,
    pub operation_id: String,
}

/// One endpoint as the catalogue shows it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub endpoint: &'static Endpoint,
    /// The operation id of its latest version: its page is `/catalogue/{id}`.
    pub id: String,
    pub provider_id: &'static str,
    /// The provider's name (`CNAV`), or its id when it is not in the registry.
    pub provider: String,
    pub routes: Vec<RouteLine>,
    pub use_cases: Vec<UseCase>,
    /// Name, title, paths, provider and operation ids, folded, for the text search.
    pub haystack: String,
}

impl Entry {
    pub fn new(bouquet: &Bouquet, endpoint: &'static Endpoint, use_cases: &[UseCase]) -> Entry {
        let latest = endpoint.versions.iter().copied().max().unwrap_or_default();
        let provider = bouquet
            .provider(endpoint)
            .map(|p| p.info().name.to_string())
            .unwrap_or_else(|| endpoint.provider.as_str().to_string());
        let routes: Vec<RouteLine> = endpoint
            .versions
            .iter()
            .map(|v| RouteLine {
                version: *v,
                path: endpoint.public_path(*v),
                operation_id: bouquet.operation_id(endpoint, *v),
            })
            .collect();
        let mut words = vec![
            endpoint.resource,
            endpoint.title,
            endpoint.path,
            endpoint.provider.as_str(),
        ];
        words.extend(mode_label(endpoint.mode));
        words.push(&provider);
        words.extend(routes.iter().map(|r| r.operation_id.as_str()));
        Entry {
            endpoint,
            id: bouquet.operation_id(endpoint, latest),
            provider_id: endpoint.provider.as_str(),
            haystack: fold(&words.join(" ")),
            provider,
            routes,
            use_cases: use_cases.iter().filter(|u| u.opens(endpoint)).cloned().collect(),
        }
    }

    /// How the caller names the person (`FranceConnect`); none for a company.
    pub fn mode(&self) -> Option<&'static str> {
        mode_label(self.endpoint.mode)
    }

    pub fn scopes(&self) -> &'static [&'static str] {
        self.endpoint.access_scopes
    }

    /// Whether `id` names this endpoint in one of its versions.
    pub fn answers_to(&self, id: &str) -> bool {
        self.routes.iter().any(|r| r.operation_id == id)
    }
}

fn mode_label(mode: Mode) -> Option<&'static str> {
    match mode {
        Mode::Identite => Some("Identité"),
        Mode::FranceConnect => Some("FranceConnect"),
        Mode::Ine => Some("INE"),
        Mode::Identifiant => Some("Identifiant"),
        Mode::Subject => None,
    }
}

/// Every endpoint of the bouquet, in its catalogue's order.
pub fn all(bouquet: &Bouquet) -> Vec<Entry> {
    let use_cases = use_cases(bouquet.name);
    bouquet
        .endpoints
        .iter()
        .map(|e| Entry::new(bouquet, e, &use_cases))
        .collect()
}

/// The use cases of `bouquet`, in the forms' order.
pub fn use_cases(bouquet: &str) -> Vec<UseCase> {
    let Some(forms) = forms() else {
        return Vec::new();
    };
    let known = passerelle_habilitation::known_scopes(bouquet);
    forms
        .of(bouquet)
        .into_iter()
        .filter(|f| f.kind == Kind::UseCase)
        .map(|f| UseCase {
            id: f.id.clone(),
            title: f.title.clone(),
            scopes: f.offered(&known).into_iter().map(String::from).collect(),
        })
        .collect()
}

/// The habilitation forms built into the binary, read once.
fn forms() -> Option<&'static Forms> {
    static FORMS: OnceLock<Option<Forms>> = OnceLock::new();
    FORMS
        .get_or_init(|| match Forms::built_in(passerelle_habilitation::known_scopes) {
            Ok(forms) => Some(forms),
            Err(e) => {
                tracing::warn!(error = %e, "habilitation forms unreadable: the catalogue shows no use case");
                None
            }
        })
        .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn use_cases_are_the_use_case_forms_of_the_bouquet_only() {
        let particulier = use_cases("particulier");
        assert!(!particulier.is_empty());
        assert!(particulier.iter().all(|u| u.id.starts_with("api-particulier-")));
        assert!(particulier
            .iter()
            .all(|u| !u.id.contains("editeur") && !u.id.ends_with("libre")));
        assert!(particulier.iter().all(|u| !u.scopes.is_empty()));
        assert!(use_cases("entreprise")
            .iter()
            .all(|u| u.id.starts_with("api-entreprise-")));
        assert!(use_cases("nope").is_empty());
    }
}
