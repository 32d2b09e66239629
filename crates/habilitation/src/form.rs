//! The forms an agent fills, as versioned data files (`forms/<bouquet>/*.toml`, built
//! into the binary): "Demande libre", use-case forms and software editors' templates
//! with pre-filled and locked parts. A form's scopes are checked against the bouquet's
//! catalogue when the forms load: a form cannot offer a scope the gateway does not know.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

/// The steps of a form, in their order (DataPass's blocks).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    BasicInfos,
    Modalities,
    Legal,
    Scopes,
    PersonalData,
    Contacts,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::BasicInfos => "basic_infos",
            Step::Modalities => "modalities",
            Step::Legal => "legal",
            Step::Scopes => "scopes",
            Step::PersonalData => "personal_data",
            Step::Contacts => "contacts",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Step::BasicInfos => "Mon projet",
            Step::Modalities => "Modalités d'accès",
            Step::Legal => "Cadre juridique",
            Step::Scopes => "Les données",
            Step::PersonalData => "Traitement des données personnelles",
            Step::Contacts => "Les personnes impliquées",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The default form, every step open.
    Libre,
    /// A use case: pre-filled purpose and scopes, still editable unless locked.
    UseCase,
    /// A software editor's template: what the software needs is filled and locked.
    Editor,
}

/// A form as its file states it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Form {
    /// Stable identifier (DataPass's `form_uid`), kept on every demande.
    pub id: String,
    /// Bumped on every change of the file; a demande keeps the version it was filed with.
    pub version: u32,
    pub bouquet: String,
    pub kind: Kind,
    pub title: String,
    pub summary: String,
    /// The software editor, for an editor's template.
    #[serde(default)]
    pub editor: Option<String>,
    /// The steps the agent goes through.
    pub steps: Vec<Step>,
    /// Steps shown read-only: their fields come from `prefill` and cannot change.
    #[serde(default)]
    pub locked_steps: Vec<Step>,
    /// Fields filled in advance (wire keys of §a.2), editable unless their step is locked.
    #[serde(default)]
    pub prefill: BTreeMap<String, String>,
    /// The scopes the form offers; every scope of the bouquet when empty.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Scopes checked in advance and impossible to uncheck.
    #[serde(default)]
    pub locked_scopes: Vec<String>,
    /// Scopes checked in advance.
    #[serde(default)]
    pub checked_scopes: Vec<String>,
    /// Modalities checked in advance (API Particulier).
    #[serde(default)]
    pub modalities: Vec<String>,
}

impl Form {
    pub fn locks(&self, step: Step) -> bool {
        self.locked_steps.contains(&step)
    }

    /// The scopes offered, given every scope the bouquet knows.
    pub fn offered<'a>(&'a self, known: &'a [&'static str]) -> Vec<&'a str> {
        if self.scopes.is_empty() {
            known.to_vec()
        } else {
            self.scopes.iter().map(String::as_str).collect()
        }
    }
}

/// Every form file, built into the binary so that a deployment carries its forms.
const FILES: &[(&str, &str)] = &[
    (
        "particulier/libre.toml",
        include_str!("../forms/particulier/libre.toml"),
    ),
    (
        "particulier/tarification-municipale.toml",
        include_str!("../forms/particulier/tarification-municipale.toml"),
    ),
    ("particulier/ccas.toml", include_str!("../forms/particulier/ccas.toml")),
    (
        "particulier/transports.toml",
        include_str!("../forms/particulier/transports.toml"),
    ),
    (
        "particulier/editeur-famille-plus.toml",
        include_str!("../forms/particulier/editeur-famille-plus.toml"),
    ),
    (
        "particulier/editeur-restauscol.toml",
        include_str!("../forms/particulier/editeur-restauscol.toml"),
    ),
    (
        "particulier/editeur-mobilite-solidaire.toml",
        include_str!("../forms/particulier/editeur-mobilite-solidaire.toml"),
    ),
    ("entreprise/libre.toml", include_str!("../forms/entreprise/libre.toml")),
    (
        "entreprise/marches-publics.toml",
        include_str!("../forms/entreprise/marches-publics.toml"),
    ),
    (
        "entreprise/aides-publiques.toml",
        include_str!("../forms/entreprise/aides-publiques.toml"),
    ),
    (
        "entreprise/subventions-associations.toml",
        include_str!("../forms/entreprise/subventions-associations.toml"),
    ),
    (
        "entreprise/editeur-attestations-plus.toml",
        include_str!("../forms/entreprise/editeur-attestations-plus.toml"),
    ),
    (
        "entreprise/editeur-achat-public.toml",
        include_str!("../forms/entreprise/editeur-achat-public.toml"),
    ),
    (
        "entreprise/editeur-subventia.toml",
        include_str!("../forms/entreprise/editeur-subventia.toml"),
    ),
];

/// A form file that does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum FormError {
    #[error("{file}: {source}")]
    Syntax { file: String, source: toml::de::Error },
    #[error("{file}: {problem}")]
    Invalid { file: String, problem: String },
}

/// The forms of every bouquet, by id.
#[derive(Debug, Clone)]
pub struct Forms {
    forms: BTreeMap<String, Form>,
}

impl Forms {
    /// The forms built into the binary, checked against `known_scopes(bouquet)`.
    pub fn built_in(known_scopes: impl Fn(&str) -> Vec<&'static str>) -> Result<Forms, FormError> {
        let mut forms = BTreeMap::new();
        for (file, text) in FILES {
            let form: Form = toml::from_str(text).map_err(|source| FormError::Syntax {
                file: file.to_string(),
                source,
            })?;
            check(&form, &known_scopes(&form.bouquet)).map_err(|problem| FormError::Invalid {
                file: file.to_string(),
                problem,
            })?;
            if let Some(twin) = forms.insert(form.id.clone(), form) {
                return Err(FormError::Invalid {
                    file: file.to_string(),
                    problem: format!("the id `{}` is taken", twin.id),
                });
            }
        }
        Ok(Forms { forms })
    }

    pub fn get(&self, id: &str) -> Option<&Form> {
        self.forms.get(id)
    }

    /// The forms of `bouquet`: "Demande libre" first, then use cases, then editors.
    pub fn of(&self, bouquet: &str) -> Vec<&Form> {
        let mut forms: Vec<&Form> = self.forms.values().filter(|f| f.bouquet == bouquet).collect();
        forms.sort_by_key(|f| (f.kind as u8, f.title.clone()));
        forms
    }
}

/// The fields of a demande besides contacts (wire keys of §a.2), each with its step:
/// what a form may pre-fill and what an agent may write.
pub const FIELDS: &[(&str, Step)] = &[
    ("intitule", Step::BasicInfos),
    ("description", Step::BasicInfos),
    ("date_prevue_mise_en_production", Step::BasicInfos),
    ("volumetrie_approximative", Step::BasicInfos),
    ("cadre_juridique_nature", Step::Legal),
    ("cadre_juridique_url", Step::Legal),
    ("destinataire_donnees_caractere_personnel", Step::PersonalData),
    ("duree_conservation_donnees_caractere_personnel", Step::PersonalData),
    (
        "duree_conservation_donnees_caractere_personnel_justification",
        Step::PersonalData,
    ),
];

/// The step of field `key` (not a contact's).
pub fn step_of(key: &str) -> Option<Step> {
    FIELDS.iter().find(|(k, _)| *k == key).map(|(_, step)| *step)
}

/// The modalities of API Particulier (§a.3).
pub const MODALITIES: &[(&str, &str)] = &[
    ("params", "Jeton et paramètres d'identité de la personne"),
    ("formulaire_qf", "Formulaire national de collecte du quotient familial"),
    ("france_connect", "FranceConnect"),
];

fn check(form: &Form, known: &[&'static str]) -> Result<(), String> {
    if known.is_empty() {
        return Err(format!("unknown bouquet `{}`", form.bouquet));
    }
    let all_scopes = form
        .scopes
        .iter()
        .chain(&form.locked_scopes)
        .chain(&form.checked_scopes);
    if let Some(unknown) = all_scopes.clone().find(|s| !known.contains(&s.as_str())) {
        return Err(format!("the scope `{unknown}` is not in the bouquet's catalogue"));
    }
    let offered: BTreeSet<&str> = form.offered(known).into_iter().collect();
    let extra = form.locked_scopes.iter().chain(&form.checked_scopes);
    if let Some(hidden) = extra.clone().find(|s| !offered.contains(s.as_str())) {
        return Err(format!("the scope `{hidden}` is checked but not offered"));
    }
    if let Some(field) = form.prefill.keys().find(|k| step_of(k).is_none()) {
        return Err(format!("the field `{field}` cannot be pre-filled"));
    }
    if let Some(m) = form.modalities.iter().find(|m| !MODALITIES.iter().any(|(k, _)| k == m)) {
        return Err(format!("unknown modality `{m}`"));
    }
    if let Some(step) = form.locked_steps.iter().find(|s| !form.steps.contains(s)) {
        return Err(format!("the locked step `{}` is not a step of the form", step.as_str()));
    }
    let needed = [
        Step::BasicInfos,
        Step::Legal,
        Step::Scopes,
        Step::PersonalData,
        Step::Contacts,
    ];
    if let Some(missing) = needed.iter().find(|s| !form.steps.contains(s)) {
        return Err(format!("the step `{}` is missing", missing.as_str()));
    }
    if (form.kind == Kind::Editor) != form.editor.is_some() {
        return Err("an editor's template, and only one, names its editor".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forms() -> Forms {
        Forms::built_in(crate::known_scopes).unwrap()
    }

    #[test]
    fn every_built_in_form_loads_against_the_catalogues() {
        let forms = forms();
        for bouquet in ["particulier", "entreprise"] {
            let of = forms.of(bouquet);
            let count = |kind| of.iter().filter(|f| f.kind == kind).count();
            assert_eq!(count(Kind::Libre), 1, "{bouquet}");
            assert!(count(Kind::UseCase) >= 3, "{bouquet}");
            assert!(count(Kind::Editor) >= 3, "{bouquet}");
            assert_eq!(of[0].kind, Kind::Libre);
        }
    }

    #[test]
    fn an_unknown_scope_cannot_exist() {
        let text = FILES[0].1.replace("[]", "[\"cnous_ine\"]");
        let form: Form = toml::from_str(&text).unwrap();
        let refused = check(&form, &crate::known_scopes("particulier")).unwrap_err();
        assert!(refused.contains("cnous_ine"), "{refused}");
    }

    #[test]
    fn editors_lock_what_their_software_needs() {
        let forms = forms();
        let editor = forms.get("api-particulier-editeur-restauscol").unwrap();
        assert!(editor.locks(Step::Scopes));
        assert!(!editor.locked_scopes.is_empty());
        assert!(editor.editor.is_some());
    }
}
