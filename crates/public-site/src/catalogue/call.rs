//! A `curl` line for an endpoint: its route at the bouquet's base URL, the purpose
//! parameters, and the sandbox case's own parameters when there is one (so that the
//! line, sent to the sandbox, gets the example answer back).

use passerelle_bouquet::{Bouquet, Endpoint, Mode};
use serde_json::{Map, Value};

use super::params::IDENTITY;
use super::search::encode;

/// A SIRET for the examples' `recipient` (DINUM's).
const RECIPIENT: &str = "13002526500013";

/// The shell line; `$URL_DE_BASE` and `$JETON` are for the reader to set.
pub fn curl(bouquet: &Bouquet, endpoint: &Endpoint, version: u8, case: Option<&Map<String, Value>>) -> String {
    let empty = Map::new();
    let case = case.unwrap_or(&empty);
    let mut path = endpoint.public_path(version);
    for name in endpoint.path_params() {
        if let Some(value) = case.get(name).and_then(scalar) {
            path = path.replace(&format!("{{{name}}}"), &encode(&value));
        }
    }
    let mut query: Vec<(String, String)> = bouquet
        .purpose
        .iter()
        .map(|p| (p.name.to_string(), encode(purpose_value(p.name))))
        .collect();
    query.extend(case_params(endpoint, case));
    query.extend(missing_required(endpoint, &query));
    let query: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let bearer = match endpoint.mode {
        Mode::FranceConnect => "$JETON_FRANCECONNECT",
        _ => "$JETON",
    };
    format!(
        "curl -sg -H \"Authorization: Bearer {bearer}\" \"$URL_DE_BASE{path}?{}\"",
        query.join("&")
    )
}

fn purpose_value(name: &str) -> &'static str {
    match name {
        "recipient" => RECIPIENT,
        _ => "Essai",
    }
}

/// The case's parameters the endpoint takes in its query, values encoded: its own, and
/// the identity when the caller gives it (not with FranceConnect, whose token gives it).
fn case_params(endpoint: &Endpoint, case: &Map<String, Value>) -> Vec<(String, String)> {
    let takes = |name: &str| {
        endpoint.extra_params.iter().any(|p| p.name == name)
            || (endpoint.mode == Mode::Identite && IDENTITY.contains(&name))
    };
    let mut pairs = Vec::new();
    for (name, value) in case.iter().filter(|(name, _)| takes(name)) {
        match value {
            Value::Array(items) => {
                let key = format!("{}[]", name.trim_end_matches("[]"));
                pairs.extend(items.iter().filter_map(scalar).map(|v| (key.clone(), encode(&v))));
            }
            other => pairs.extend(scalar(other).map(|v| (name.clone(), encode(&v)))),
        }
    }
    pairs
}

/// Placeholders (`…`, left as is) for the required parameters the case did not give.
fn missing_required(endpoint: &Endpoint, given: &[(String, String)]) -> Vec<(String, String)> {
    let has = |name: &str| given.iter().any(|(k, _)| k.trim_end_matches("[]") == name);
    let mut names: Vec<&str> = endpoint
        .extra_params
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect();
    if let (Mode::Identite, Some(rules)) = (endpoint.mode, endpoint.civility) {
        names.push("nomNaissance");
        names.extend(rules.prenoms_required.then_some("prenoms[]"));
        names.extend(rules.sexe_required.then_some("sexeEtatCivil"));
        names.extend(rules.pays_required.then_some("codeCogInseePaysNaissance"));
    }
    names
        .into_iter()
        .filter(|n| !has(n.trim_end_matches("[]")))
        .map(|n| (n.to_string(), "…".to_string()))
        .collect()
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_bouquet::{Cache, ExtraParam, ProviderId};

    const ENDPOINT: Endpoint = Endpoint {
        provider: ProviderId::new("x"),
        resource: "r",
        path: "x/unites_legales/{siren}/r",
        mode: Mode::Subject,
        versions: &[3],
        operation: "x_r",
        title: "R",
        civility: None,
        extra_params: &[ExtraParam {
            name: "limit",
            required: true,
            kind: "integer",
            description: "",
        }],
        access_scopes: &["r"],
        fields: &[],
        masks: &[],
        cache: Cache::Never,
    };

    #[test]
    fn the_case_fills_the_path_and_the_query_and_unknown_names_are_left_out() {
        let case: Map<String, Value> =
            serde_json::from_str(r#"{"siren": "306138900", "limit": 5, "nope": "x"}"#).unwrap();
        assert_eq!(
            case_params(&ENDPOINT, &case),
            vec![("limit".to_string(), "5".to_string())]
        );
        assert!(missing_required(&ENDPOINT, &case_params(&ENDPOINT, &case)).is_empty());
        assert_eq!(
            missing_required(&ENDPOINT, &[]),
            vec![("limit".to_string(), "…".to_string())]
        );
    }
}
