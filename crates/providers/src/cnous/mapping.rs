//! From the CNOUS upstream's answers to the contract's `data` and errors.

use chrono::{DateTime, NaiveDate};
use passerelle_core::ApiError;
use passerelle_core::{codes, Subcode};
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::CNOUS;
use crate::http;

/// How the student was searched: the upstream's 400 means a different thing for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Search {
    Ine,
    Civility,
}

/// Maps a non-200 upstream answer (or a 200 holding several students) to the
/// contract's error.
pub fn upstream_error(status: StatusCode, search: Search, body: &[u8]) -> ApiError {
    if let Some(error) = http::soft_status_error(CNOUS, status) {
        return error;
    }
    match status.as_u16() {
        404 => not_found(),
        400 if search == Search::Ine => ApiError::gateway(codes::INE_MALFORMED),
        400 => ApiError::gateway(codes::CIVILITY_MALFORMED),
        401 | 403 => CNOUS.error(Subcode::Authentication),
        _ if several_students(body) => conflict(),
        500 => CNOUS.error(Subcode::Internal),
        _ => CNOUS.error(Subcode::Unknown),
    }
}

fn not_found() -> ApiError {
    CNOUS
        .error(Subcode::NotFound)
        .with_title("Entité non trouvée")
        .with_detail("Aucun étudiant boursier n'a pu être trouvé avec les critères de recherche fournis.")
}

fn conflict() -> ApiError {
    CNOUS.error(Subcode::Conflict).with_detail(
        "Plusieurs étudiants boursiers correspondent à ces critères : précisez la recherche (prénoms, sexe, lieu de naissance).",
    )
}

fn several_students(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|v| v.as_array().map(Vec::len))
        .is_some_and(|n| n > 1)
}

/// Builds `data` for `version` from a 200 body: one student (INE search) or an array
/// of students (civility search). Anything unexpected is `26999`.
pub fn build(version: u8, body: &[u8]) -> Result<Value, ApiError> {
    let json: Value = serde_json::from_slice(body).map_err(|_| unexpected("not JSON"))?;
    let student = match &json {
        Value::Array(items) if items.len() > 1 => return Err(conflict()),
        Value::Array(items) => items.first(),
        other => Some(other),
    }
    .and_then(Value::as_object)
    .ok_or_else(|| unexpected("no student record"))?;
    student
        .get("lastName")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| unexpected("no lastName"))?;
    data(version, student).ok_or_else(|| unexpected("unreadable field"))
}

fn unexpected(why: &str) -> ApiError {
    tracing::warn!(why, "CNOUS answer does not have the expected shape");
    CNOUS.error(Subcode::Unknown)
}

fn data(version: u8, s: &Map<String, Value>) -> Option<Value> {
    let field = |k: &str| s.get(k).cloned().unwrap_or(Value::Null);
    // The answer's point: never published as null when the upstream left it out.
    let boursier = s.get("boursier").filter(|b| b.is_boolean())?.clone();
    let mut data = json!({
        "periode_versement_bourse": {
            "date_rentree": date(s.get("backToSchoolDate"))?,
            "duree": field("paymentDuration"),
        },
        "etablissement_etudes": {
            "nom_commune": field("studyTown"),
            "nom_etablissement": field("schoolName"),
        },
        "echelon_bourse": {
            "echelon": echelon(s.get("grantEchelon"))?,
            "echelon_bourse_regionale_provisoire": s.get("grantStatus").and_then(Value::as_i64).is_some_and(|g| g > 0),
        },
        "email": field("email"),
        "identite": identite(s)?,
    });
    let object = data.as_object_mut()?;
    if version >= 4 {
        let statut = json!({
            "est_boursier": boursier,
            "est_radie": s.get("removed").and_then(Value::as_str) == Some("O"),
            "date_radiation": date(s.get("removalDate"))?,
        });
        object.insert("statut_boursier".into(), statut);
    } else {
        object.insert("est_boursier".into(), boursier);
    }
    Some(data)
}

fn identite(s: &Map<String, Value>) -> Option<Value> {
    // `firstName3` is not part of the contract; absent first names are left out
    // rather than sent as null (the sandbox cases show no null).
    let prenoms: Vec<Value> = ["firstName", "firstName2"]
        .iter()
        .filter_map(|k| s.get(*k).and_then(Value::as_str))
        .filter(|p| !p.trim().is_empty())
        .map(|p| Value::String(p.to_string()))
        .collect();
    let commune = s
        .get("birthPlace")
        .and_then(|p| p.get("libelle"))
        .filter(|l| l.is_string())
        .or_else(|| s.get("birthPlaceLibelle"))
        .cloned()
        .unwrap_or(Value::Null);
    Some(json!({
        "nom": s.get("lastName").cloned().unwrap_or(Value::Null),
        "prenoms": prenoms,
        "date_naissance": date(s.get("birthDate"))?,
        "nom_commune_naissance": commune,
        "sexe": s.get("civility").cloned().unwrap_or(Value::Null),
    }))
}

/// The echelon is a string in the contract (`0bis`, `1`…); the upstream may send a number.
fn echelon(value: Option<&Value>) -> Option<Value> {
    match value {
        None | Some(Value::Null) => Some(Value::Null),
        Some(Value::String(s)) => Some(Value::String(s.clone())),
        Some(Value::Number(n)) => Some(Value::String(n.to_string())),
        Some(_) => None,
    }
}

/// An upstream datetime (`2020-09-01T00:00:00+02:00`) or date as `YYYY-MM-DD`, in the
/// upstream's own offset (its midnight is the day meant). `None` when unreadable.
fn date(value: Option<&Value>) -> Option<Value> {
    let raw = match value {
        None | Some(Value::Null) => return Some(Value::Null),
        Some(Value::String(s)) if s.trim().is_empty() => return Some(Value::Null),
        Some(Value::String(s)) => s.trim(),
        Some(_) => return None,
    };
    let day = DateTime::parse_from_rfc3339(raw)
        .map(|d| d.date_naive())
        .or_else(|_| NaiveDate::parse_from_str(raw, "%Y-%m-%d"))
        .ok()?;
    Some(Value::String(day.format("%Y-%m-%d").to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(removed: bool) -> Value {
        json!({
            "id": 19934, "lastName": "Martin", "firstName": "Jerome", "firstName2": "Francis",
            "firstName3": "Lalanne", "birthDate": "1980-11-14T00:00:00+01:00",
            "birthPlace": {"id": 32352, "com": "79048", "libelle": "La Crèche"},
            "birthPlaceLibelle": null, "civility": "M", "email": "francislalanne@gmail.com",
            "grantStatus": 0, "grantEchelon": "5", "studyTown": "MONTPELLIER",
            "backToSchoolDate": "2020-09-01T00:00:00+02:00", "paymentDuration": 12,
            "schoolName": "UFR SCIENCES TECHNOLOG SANTE",
            "removalDate": if removed { json!("2023-06-15T00:00:00+02:00") } else { Value::Null },
            "removed": if removed { "O" } else { "N" }, "boursier": true
        })
    }

    fn bytes(v: &Value) -> Vec<u8> {
        serde_json::to_vec(v).unwrap()
    }

    #[test]
    fn v3_maps_the_real_fixture() {
        let data = build(3, &bytes(&fixture(false))).unwrap();
        assert_eq!(
            data,
            json!({
                "est_boursier": true,
                "periode_versement_bourse": {"date_rentree": "2020-09-01", "duree": 12},
                "etablissement_etudes": {"nom_commune": "MONTPELLIER", "nom_etablissement": "UFR SCIENCES TECHNOLOG SANTE"},
                "echelon_bourse": {"echelon": "5", "echelon_bourse_regionale_provisoire": false},
                "email": "francislalanne@gmail.com",
                "identite": {"nom": "Martin", "prenoms": ["Jerome", "Francis"], "date_naissance": "1980-11-14",
                             "nom_commune_naissance": "La Crèche", "sexe": "M"}
            })
        );
    }

    #[test]
    fn v4_carries_the_removal() {
        let data = build(4, &bytes(&json!([fixture(true)]))).unwrap();
        assert_eq!(
            data["statut_boursier"],
            json!({"est_boursier": true, "est_radie": true, "date_radiation": "2023-06-15"})
        );
        assert!(data.get("est_boursier").is_none());
    }

    #[test]
    fn birth_place_label_is_the_fallback() {
        let mut s = fixture(false);
        s["birthPlace"] = Value::Null;
        s["birthPlaceLibelle"] = json!("La Crèche");
        s["firstName2"] = Value::Null;
        let data = build(3, &bytes(&s)).unwrap();
        assert_eq!(data["identite"]["nom_commune_naissance"], "La Crèche");
        assert_eq!(data["identite"]["prenoms"], json!(["Jerome"]));
    }

    proptest::proptest! {
        #[test]
        fn incomplete_bodies_are_26999(cut in 0usize..1000, pick in 0usize..2, version in 3u8..5) {
            let required = ["/lastName", "/boursier"];
            crate::incomplete::refused(|b| build(version, b), &fixture(false), &required, (cut, pick), "26999")?;
        }
    }

    #[test]
    fn odd_answers_are_errors_not_panics() {
        let code = |body: &[u8]| build(3, body).unwrap_err().code;
        assert_eq!(code(b"<html>"), "26999");
        assert_eq!(code(b"[]"), "26999");
        assert_eq!(code(b"{\"boursier\": true}"), "26999");
        assert_eq!(code(b"42"), "26999");
        let mut s = fixture(false);
        s["birthDate"] = json!("hier");
        assert_eq!(code(&bytes(&s)), "26999");
        assert_eq!(code(&bytes(&json!([fixture(false), fixture(true)]))), "26015");
    }

    #[test]
    fn statuses_map_to_the_contract() {
        let code = |status: u16, search, body: &[u8]| {
            let e = upstream_error(StatusCode::from_u16(status).unwrap(), search, body);
            let status = e.status();
            (e.code, status)
        };
        assert_eq!(code(404, Search::Ine, b""), ("26003".into(), 404));
        assert_eq!(code(400, Search::Ine, b""), ("00360".into(), 422));
        assert_eq!(code(400, Search::Civility, b""), ("00366".into(), 422));
        assert_eq!(code(500, Search::Civility, b""), ("26000".into(), 502));
        assert_eq!(code(503, Search::Civility, b""), ("26001".into(), 502));
        assert_eq!(code(504, Search::Civility, b""), ("26002".into(), 504));
        assert_eq!(code(302, Search::Civility, b""), ("26000".into(), 502));
        assert_eq!(code(418, Search::Civility, b"{}"), ("26999".into(), 502));
        assert_eq!(code(418, Search::Civility, b"[{}, {}]"), ("26015".into(), 409));
    }
}
