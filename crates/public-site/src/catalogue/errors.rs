//! The errors an endpoint can answer: the statuses its OpenAPI operation lists, and
//! under each the codes of the catalogue (the bouquet's and the gateway's) that apply
//! to a call like it, and its provider's generic codes.

use passerelle_bouquet::{Bouquet, Endpoint, Mode};
use passerelle_core::{codes, Code, ProviderInfo, Subcode};

use super::openapi::Operation;
use super::params::IDENTITY;

/// One error code.
pub struct ErrorRow {
    pub code: String,
    pub title: String,
    pub detail: String,
}

/// One HTTP status and the codes that come with it.
pub struct StatusGroup {
    pub status: String,
    /// What the OpenAPI document says of this status; empty when it does not list it.
    pub description: String,
    pub codes: Vec<ErrorRow>,
}

/// Codes any call may meet, whatever its parameters.
const EVERY_CALL: &[Code] = &[
    codes::SCOPE_MISSING,
    codes::VERSION_UNSUPPORTED,
    codes::DUPLICATE_IN_FLIGHT,
    codes::TOO_MANY_REQUESTS,
    codes::INTERNAL,
    codes::JOURNAL_UNAVAILABLE,
];

/// Codes of a call that carries the habilitation's token.
const TOKEN: &[Code] = &[
    codes::TOKEN_INVALID,
    codes::TOKEN_EXPIRED,
    codes::TOKEN_REVOKED,
    codes::IP_REFUSED,
];

/// Codes of a call that carries a citizen's FranceConnect token (`00101`: none at all).
const FRANCE_CONNECT: &[Code] = &[
    codes::TOKEN_INVALID,
    codes::FC_TOKEN_MALFORMED,
    codes::FC_TOKEN_UNKNOWN,
    codes::FC_NO_PIVOT,
];

/// The generic provider errors every provider may answer.
const PROVIDER: &[Subcode] = &[
    Subcode::NotFound,
    Subcode::Internal,
    Subcode::Unavailable,
    Subcode::Timeout,
    Subcode::Maintenance,
    Subcode::Unknown,
];

/// The errors of `endpoint`, by status.
pub fn groups(bouquet: &Bouquet, endpoint: &Endpoint, doc: Option<&Operation>) -> Vec<StatusGroup> {
    let mut groups: Vec<StatusGroup> = doc
        .map(Operation::responses)
        .unwrap_or_default()
        .into_iter()
        .filter(|(status, _)| !status.starts_with('2'))
        .map(|(status, description)| StatusGroup {
            status,
            description,
            codes: Vec::new(),
        })
        .collect();
    for (status, row) in rows(bouquet, endpoint) {
        let status = status.to_string();
        match groups.iter_mut().find(|g| g.status == status) {
            Some(group) => group.codes.push(row),
            None => groups.push(StatusGroup {
                status,
                description: String::new(),
                codes: vec![row],
            }),
        }
    }
    groups.sort_by(|a, b| a.status.cmp(&b.status));
    groups
}

/// Every code of `endpoint` with its status, without repeats.
fn rows(bouquet: &Bouquet, endpoint: &Endpoint) -> Vec<(u16, ErrorRow)> {
    let mut found: Vec<Code> = Vec::new();
    let mut add = |code: Code| {
        if !found.iter().any(|c| c.code == code.code) {
            found.push(code);
        }
    };
    let carried = if endpoint.mode == Mode::FranceConnect {
        FRANCE_CONNECT
    } else {
        TOKEN
    };
    // Any valid token opens an endpoint without scopes: none can be missing.
    let open = endpoint.access_scopes.is_empty();
    carried
        .iter()
        .chain(EVERY_CALL)
        .filter(|c| !(open && c.code == codes::SCOPE_MISSING.code))
        .copied()
        .for_each(&mut add);
    for param in bouquet.purpose {
        add(param.missing);
        add(param.invalid);
    }
    for name in parameter_names(endpoint) {
        codes_of(bouquet, &name).into_iter().for_each(&mut add);
    }
    if endpoint.mode == Mode::Identite {
        add(codes::CIVILITY_MALFORMED);
    }
    let mut rows: Vec<(u16, ErrorRow)> = found.into_iter().map(|c| (c.kind.status(), row(&c))).collect();
    if let Some(provider) = bouquet.provider(endpoint) {
        rows.extend(provider_rows(provider.info()));
    }
    rows.sort_by(|a, b| (a.0, &a.1.code).cmp(&(b.0, &b.1.code)));
    rows
}

fn row(code: &Code) -> ErrorRow {
    ErrorRow {
        code: code.code.to_string(),
        title: code.title.to_string(),
        detail: code.detail.to_string(),
    }
}

fn provider_rows(info: ProviderInfo) -> Vec<(u16, ErrorRow)> {
    PROVIDER
        .iter()
        .map(|subcode| {
            let e = info.error(*subcode);
            let row = ErrorRow {
                code: e.code.clone(),
                title: e.title.clone(),
                detail: format!("{} (fournisseur : {})", e.detail, info.name),
            };
            (e.status(), row)
        })
        .collect()
}

/// The names of the endpoint's own parameters, as error sources name them.
fn parameter_names(endpoint: &Endpoint) -> Vec<String> {
    let mut names: Vec<String> = endpoint.path_params().map(String::from).collect();
    names.extend(endpoint.extra_params.iter().map(|p| p.name.to_string()));
    if endpoint.mode == Mode::Identite {
        names.extend(IDENTITY.iter().map(|n| n.to_string()));
        names.push("prenoms[]".into());
    }
    names
}

/// The codes that refuse parameter `name`: those whose source names it, and those the
/// contract gives a path identifier without naming it (`id`, or no source at all).
fn codes_of(bouquet: &Bouquet, name: &str) -> Vec<Code> {
    let unnamed: &[&str] = match name {
        "siret_or_rna" => &["00303"],
        "siret_or_eori" => &["00304"],
        "siren_or_siret_or_rna" => &["00330"],
        "siren_or_rna" => &["00333"],
        "year" => &["00307", "00315"],
        "profondeur" => &["00390"],
        _ => &[],
    };
    // Repeats (a code both in the bouquet's list and the gateway's) are dropped by `rows`.
    bouquet
        .codes
        .iter()
        .chain(codes::ALL)
        .filter(|c| c.source.is_some_and(|(_, param)| param == name) || unnamed.contains(&c.code))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_bouquet::{Cache, ExtraParam, ProviderId, PurposeParam, Registry};

    static ENDPOINT: Endpoint = Endpoint {
        provider: ProviderId::new("x"),
        resource: "r",
        path: "x/associations/{siret_or_rna}/r",
        mode: Mode::Subject,
        versions: &[3],
        operation: "x_r",
        title: "R",
        civility: None,
        extra_params: &[ExtraParam {
            name: "limit",
            required: false,
            kind: "integer",
            description: "",
        }],
        access_scopes: &["r"],
        fields: &[],
        masks: &[],
        cache: Cache::Never,
    };

    fn bouquet() -> Bouquet {
        Bouquet {
            name: "x",
            title: "X",
            operation_prefix: "api_x",
            endpoints: vec![&ENDPOINT],
            providers: Registry::new(),
            purpose: &[PurposeParam {
                name: "recipient",
                parse: |v| Some(v.to_string()),
                missing: codes::RECIPIENT_MISSING,
                invalid: codes::RECIPIENT_INVALID,
            }],
            throttle: |_| None,
            codes: codes::ALL,
            openapi: String::new(),
            privileges: false,
            documents: false,
            legacy: None,
        }
    }

    fn codes_in(groups: &[StatusGroup], status: &str) -> Vec<String> {
        let group = groups.iter().find(|g| g.status == status);
        group
            .map(|g| g.codes.iter().map(|c| c.code.clone()).collect())
            .unwrap_or_default()
    }

    #[test]
    fn codes_follow_the_parameters_and_the_statuses_of_the_document() {
        let yaml = "paths:\n  /v3/x:\n    get:\n      operationId: api_x_v3_x_r\n      responses:\n        '200': {description: ok}\n        '451': {description: Entité protégée}\n        '422': {description: Paramètres invalides}\n";
        let doc = Operation::find(yaml, &["api_x_v3_x_r"]).unwrap();
        let groups = errors_of(&doc);
        let statuses: Vec<&str> = groups.iter().map(|g| g.status.as_str()).collect();
        assert!(statuses.windows(2).all(|w| w[0] < w[1]), "{statuses:?}");
        assert!(!statuses.contains(&"200"));
        let protected = groups.iter().find(|g| g.status == "451").unwrap();
        assert_eq!(
            (protected.description.as_str(), protected.codes.len()),
            ("Entité protégée", 0)
        );
        let invalid = codes_in(&groups, "422");
        for code in ["00203", "00210", "00303", "00313"] {
            assert!(invalid.contains(&code.to_string()), "{code} in {invalid:?}");
        }
        assert!(!invalid.contains(&"00420".to_string()), "no identity here");
        assert_eq!(codes_in(&groups, "401"), vec!["00101", "00103", "00105"]);
        assert!(codes_in(&groups, "401").iter().all(|c| !c.starts_with("500")));
    }

    fn errors_of(doc: &Operation) -> Vec<StatusGroup> {
        groups(&bouquet(), &ENDPOINT, Some(doc))
    }
}
