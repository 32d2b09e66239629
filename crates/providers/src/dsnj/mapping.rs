//! From the DSNJ upstream's answer to the contract's `data` and errors.

use passerelle_core::ApiError;
use passerelle_core::Subcode;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::DSNJ;
use crate::http;

/// The upstream's status labels and their public values.
const STATUTS: &[(&str, &str)] = &[
    ("En règle", "en_regle"),
    ("Pas en règle", "pas_en_regle"),
    ("Indéterminé", "indetermine"),
    ("Non concerné", "non_concerne"),
];

/// Maps an upstream answer. DSNJ puts its verdict in the body, so beyond the shared
/// transport statuses only a refused token is read from the status.
pub fn build(status: StatusCode, body: &[u8]) -> Result<Value, ApiError> {
    if let Some(error) = http::soft_status_error(DSNJ, status) {
        return Err(error);
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        tracing::error!(provider = DSNJ.name, %status, "upstream refused the gateway's token");
        return Err(DSNJ.error(Subcode::Authentication));
    }
    let json: Value = serde_json::from_slice(body).map_err(|_| unknown("body is not JSON"))?;
    if json.get("return_code").and_then(Value::as_str) != Some("OK") {
        return Err(unknown("return_code is not OK"));
    }
    let result = match json.get("results").and_then(Value::as_array).map(Vec::as_slice) {
        Some([only]) => only,
        _ => return Err(unknown("results does not hold exactly one item")),
    };
    match result.get("code").and_then(Value::as_str) {
        Some("OK") => found(result),
        Some("NON_TROUVE") => Err(not_found()),
        _ => Err(unknown("unexpected result code")),
    }
}

fn found(result: &Value) -> Result<Value, ApiError> {
    let label = result.get("en_regle").and_then(Value::as_str);
    let statut = STATUTS
        .iter()
        .find(|(upstream, _)| Some(*upstream) == label)
        .map(|(_, public)| *public)
        .ok_or_else(|| unknown("unknown en_regle label"))?;
    let commentaires = match result.get("complement") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(s)) => Value::String(s.clone()),
        Some(_) => return Err(unknown("complement is not a string")),
    };
    Ok(json!({"statut_service_national": statut, "commentaires": commentaires}))
}

fn not_found() -> ApiError {
    DSNJ.error(Subcode::NotFound)
        .with_title("Entité non trouvée")
        .with_detail("Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.")
}

fn unknown(why: &'static str) -> ApiError {
    tracing::warn!(provider = DSNJ.name, why, "unexpected upstream answer");
    DSNJ.error(Subcode::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(status: u16, body: &str) -> String {
        build(StatusCode::from_u16(status).unwrap(), body.as_bytes())
            .unwrap_err()
            .code
    }

    fn upstream(file: &str) -> String {
        let path = format!(
            "{}/../../../shared/fixtures/upstream/dsnj/service_national/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).unwrap_or_default()
    }

    #[test]
    fn found_maps_status_and_comment() {
        let body =
            r#"{"return_code":"OK","results":[{"code":"OK","en_regle":"Pas en règle","complement":"JDC à faire"}]}"#;
        assert_eq!(
            build(StatusCode::OK, body.as_bytes()).unwrap(),
            json!({"statut_service_national": "pas_en_regle", "commentaires": "JDC à faire"})
        );
        let body = r#"{"return_code":"OK","results":[{"code":"OK","en_regle":"Non concerné"}]}"#;
        assert_eq!(
            build(StatusCode::OK, body.as_bytes()).unwrap(),
            json!({"statut_service_national": "non_concerne", "commentaires": null})
        );
    }

    #[test]
    fn errors_follow_the_body() {
        assert_eq!(
            code(200, r#"{"return_code":"OK","results":[{"code":"NON_TROUVE"}]}"#),
            "39003"
        );
        assert_eq!(
            code(200, r#"{"return_code":"ERREUR_TECHNIQUE","error_msg":"x"}"#),
            "39999"
        );
        assert_eq!(code(200, r#"{"return_code":"OK","results":[]}"#), "39999");
        assert_eq!(
            code(
                200,
                r#"{"return_code":"OK","results":[{"code":"OK","en_regle":"Autre"}]}"#
            ),
            "39999"
        );
        assert_eq!(code(200, "<html></html>"), "39999");
        assert_eq!(code(503, "{}"), "39001");
        assert_eq!(code(504, "{}"), "39002");
        assert_eq!(code(401, "{}"), "39006");
    }

    proptest::proptest! {
        #[test]
        fn incomplete_bodies_are_39999(cut in 0usize..500, pick in 0usize..5) {
            let valid = json!({"return_code": "OK", "results": [{"code": "OK", "en_regle": "En règle", "complement": null}]});
            let required = ["/return_code", "/results", "/results/0", "/results/0/code", "/results/0/en_regle"];
            crate::incomplete::refused(|b| build(StatusCode::OK, b), &valid, &required, (cut, pick), "39999")?;
        }
    }

    /// The real upstream payloads, when the shared fixtures sit next to the checkout.
    #[test]
    fn real_payloads() {
        let cases = [
            ("found.json", None),
            ("not_found.json", Some("39003")),
            ("found_multiple.json", Some("39999")),
            ("ko.json", Some("39999")),
            ("error_with_return_code_ok.json", Some("39999")),
        ];
        for (file, expected) in cases {
            let text = upstream(file);
            if text.is_empty() {
                continue;
            }
            let got = build(StatusCode::OK, text.as_bytes()).err().map(|e| e.code);
            assert_eq!(got.as_deref(), expected, "{file}");
        }
    }
}
