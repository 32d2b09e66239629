//! MESRI's answer → the contract's `data`. Anything that is not the documented shape
//! is `25999`: never a panic, never a half-built payload.

use crate::Fetched;
use passerelle_core::ApiError;
use passerelle_core::Subcode;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::MESRI;

/// The training regimes the contract knows, with their codes.
const REGIMES: &[(&str, &str)] = &[
    ("formation initiale", "RF1"),
    ("formation initiale hors apprentissage", "RF2"),
    ("reprise d'études non financée sans convention", "RF3"),
    ("contrat d'apprentissage", "RF4"),
    ("formation continue", "RF5"),
    ("formation continue hors contrat professionnel", "RF6"),
    ("contrat de professionnalisation", "RF7"),
];

/// Maps a non-soft upstream answer: 200 with a student, 404, or an error. The
/// student's INE, which v3 leaves out, is kept for v2's answers.
pub fn answer(status: StatusCode, body: &[u8]) -> Result<Fetched, ApiError> {
    match status.as_u16() {
        200 => serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|json| {
                let mut fetched = Fetched::from(build(&json)?);
                if let Some(ine) = json.get("ine").filter(|i| i.is_string()) {
                    fetched.legacy.insert("ine".into(), ine.clone());
                }
                Some(fetched)
            })
            .ok_or_else(|| unexpected("a 200 that is not a student")),
        404 => Err(not_found()),
        401 | 403 => {
            tracing::error!(provider = MESRI.name, %status, "upstream refused the gateway's API key");
            Err(MESRI.error(Subcode::Authentication))
        }
        _ => Err(unexpected("an unexpected status")),
    }
}

fn unexpected(what: &str) -> ApiError {
    tracing::warn!(provider = MESRI.name, what, "unexpected upstream answer");
    MESRI.error(Subcode::Unknown)
}

/// As the contract publishes it (the sandbox cases): 404 `25003`.
pub fn not_found() -> ApiError {
    let mut error = MESRI
        .error(Subcode::NotFound)
        .with_detail("Aucun étudiant n'a pu être trouvé avec les critères de recherche fournis.");
    error.title = "Entité non trouvée".into();
    error
}

/// The contract's `data`, or `None` when the body is not a student.
pub fn build(json: &Value) -> Option<Value> {
    let nom = json.get("nomFamille")?.as_str()?;
    let admissions = json
        .get("inscriptions")?
        .as_array()?
        .iter()
        .map(admission)
        .collect::<Option<Vec<_>>>()?;
    Some(json!({
        "identite": {
            "nom_naissance": nom,
            "prenom": optional_string(json.get("prenom"))?,
            "date_naissance": optional_date(json.get("dateNaissance"))?,
        },
        "admissions": admissions,
    }))
}

fn admission(item: &Value) -> Option<Value> {
    let item = item.as_object()?;
    Some(json!({
        "date_debut": optional_date(item.get("dateDebutInscription"))?,
        "date_fin": optional_date(item.get("dateFinInscription"))?,
        // A missing status would read as "not enrolled": it is required.
        "est_inscrit": item.get("statut")?.as_str()? == "inscrit",
        "regime_formation": regime(item.get("regime"))?,
        "code_cog_insee_commune": optional_string(item.get("codeCommune"))?,
        "etablissement_etudes": etablissement(item.get("etablissement"))?,
    }))
}

fn regime(value: Option<&Value>) -> Option<Value> {
    let libelle = optional_string(value)?;
    let code = libelle
        .as_str()
        .and_then(|l| REGIMES.iter().find(|(name, _)| *name == l))
        .map(|(_, code)| *code);
    Some(json!({"libelle": libelle, "code": code}))
}

fn etablissement(value: Option<&Value>) -> Option<Value> {
    match value {
        None | Some(Value::Null) => Some(Value::Null),
        Some(Value::Object(e)) => Some(json!({
            "uai": optional_string(e.get("uai"))?,
            "nom": optional_string(e.get("nomEtablissement"))?,
        })),
        Some(_) => None,
    }
}

/// A string or null; `None` (unexpected) for any other type.
fn optional_string(value: Option<&Value>) -> Option<Value> {
    match value {
        None | Some(Value::Null) => Some(Value::Null),
        Some(Value::String(s)) => Some(Value::String(s.clone())),
        Some(_) => None,
    }
}

/// `YYYY-MM-DD` (a time part is dropped). The day is not checked against the calendar:
/// the published cases carry dates such as `2024-06-31` as the upstream sent them.
fn optional_date(value: Option<&Value>) -> Option<Value> {
    match value {
        None | Some(Value::Null) => Some(Value::Null),
        Some(Value::String(s)) => {
            let day = s.get(..10)?;
            let shape = day.bytes().enumerate().all(|(i, b)| match i {
                4 | 7 => b == b'-',
                _ => b.is_ascii_digit(),
            });
            let rest = &s[10..];
            (shape && (rest.is_empty() || rest.starts_with('T') || rest.starts_with(' ')))
                .then(|| Value::String(day.to_string()))
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Value {
        json!({"ine":"1234567890G","nomFamille":"Dupont","prenom":"Jean","dateNaissance":"2000-01-01",
            "inscriptions":[{"dateDebutInscription":"2020-07-01","dateFinInscription":"2021-08-31",
            "statut":"admis","codeCommune":"75113",
            "etablissement":{"uai":"0751967F","nomEtablissement":"UFR ECONOMIE"},
            "regime":"contrat d'apprentissage"}]})
    }

    proptest::proptest! {
        #[test]
        fn incomplete_bodies_are_25999(cut in 0usize..500, pick in 0usize..3) {
            let valid = json!({"nomFamille": "MARTIN", "prenom": "Jean", "dateNaissance": "2000-01-01",
                "inscriptions": [{"dateDebutInscription": "2024-09-01", "dateFinInscription": "2025-08-31",
                    "statut": "inscrit", "regime": "formation initiale", "codeCommune": "75056",
                    "etablissement": {"uai": "0751717J", "nomEtablissement": "Université"}}]});
            let required = ["/nomFamille", "/inscriptions", "/inscriptions/0/statut"];
            crate::incomplete::refused(|b| answer(StatusCode::OK, b), &valid, &required, (cut, pick), "25999")?;
        }
    }

    #[test]
    fn maps_the_upstream_fixture() {
        let data = build(&fixture()).unwrap();
        assert_eq!(
            data,
            json!({"identite": {"nom_naissance": "Dupont", "prenom": "Jean", "date_naissance": "2000-01-01"},
                "admissions": [{"date_debut": "2020-07-01", "date_fin": "2021-08-31", "est_inscrit": false,
                    "regime_formation": {"libelle": "contrat d'apprentissage", "code": "RF4"},
                    "code_cog_insee_commune": "75113",
                    "etablissement_etudes": {"uai": "0751967F", "nom": "UFR ECONOMIE"}}]})
        );
    }

    #[test]
    fn unknown_regime_has_no_code_and_dates_keep_their_day() {
        let mut json = fixture();
        json["inscriptions"][0]["regime"] = "alternance".into();
        json["inscriptions"][0]["dateFinInscription"] = "2024-06-31T00:00:00+02:00".into();
        let data = build(&json).unwrap();
        let admission = &data["admissions"][0];
        assert_eq!(admission["regime_formation"]["code"], Value::Null);
        assert_eq!(admission["date_fin"], "2024-06-31");
    }

    #[test]
    fn odd_bodies_are_25999() {
        let odd = [
            json!({"prenom": "Jean", "inscriptions": []}),
            json!({"nomFamille": "Dupont"}),
            json!({"nomFamille": "Dupont", "inscriptions": [1]}),
            json!({"nomFamille": "Dupont", "inscriptions": [{"dateDebutInscription": "01/07/2020"}]}),
            json!({"nomFamille": "Dupont", "inscriptions": [], "dateNaissance": 2000}),
            json!([]),
        ];
        for body in odd {
            let bytes = serde_json::to_vec(&body).unwrap();
            let error = answer(StatusCode::OK, &bytes).unwrap_err();
            assert_eq!(error.code, "25999", "{body}");
        }
        assert_eq!(answer(StatusCode::OK, b"<html>").unwrap_err().code, "25999");
    }

    #[test]
    fn statuses() {
        let code = |s: u16| answer(StatusCode::from_u16(s).unwrap(), b"{}").unwrap_err();
        let nf = code(404);
        assert_eq!((nf.code.as_str(), nf.kind.status()), ("25003", 404));
        assert_eq!(nf.title, "Entité non trouvée");
        assert_eq!(code(401).code, "25006");
        assert_eq!(code(500).code, "25999");
        assert_eq!(code(400).code, "25999");
    }
}
