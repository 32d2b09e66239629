//! MEN upstream answers → the contract's `data` (unmasked) or its errors.

use passerelle_core::ApiError;
use passerelle_core::Subcode;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::MEN;

/// Labels of `code-regime` (nomenclature BCN), as the contract publishes them.
const REGIMES: &[(&str, &str)] = &[
    ("0", "Externe libre"),
    ("1", "Externe surveillé"),
    ("2", "Demi-pensionnaire dans l'établissement"),
    ("3", "Interne dans l'établissement"),
    ("4", "Interne externé"),
    ("5", "Interne hébergé"),
    ("6", "Demi-pensionnaire hors l'établissement"),
];

/// A non-200 answer. Transport-level statuses (502/503/504, redirects) are handled
/// before, by `http::soft_status_error`.
pub fn upstream_error(status: StatusCode) -> ApiError {
    match status.as_u16() {
        404 => MEN
            .error(Subcode::NotFound)
            .with_title("Entité non trouvée")
            .with_detail("Aucun élève n'a pu être trouvé avec les critères de recherche fournis."),
        500 => MEN.error(Subcode::Internal),
        _ => MEN.error(Subcode::Unknown),
    }
}

/// "No scolarité" reuses sub-code 004, as the real gateway does (404, not DNS).
fn no_scolarite() -> ApiError {
    MEN.error(Subcode::NotFound)
        .with_code("30004")
        .with_title("Scolarité non trouvée")
        .with_detail("Aucune scolarité n'a pu être trouvée pour cet élève")
}

/// Maps a 200 body. Anything unexpected is `30999`, never a panic.
pub fn build(body: &Value, version: u8) -> Result<Value, ApiError> {
    let unknown = || MEN.error(Subcode::Unknown);
    let identification = body.get("identification").ok_or_else(unknown)?;
    let scolarite = body.get("info-scolarite").ok_or_else(unknown)?;
    let est_scolarise = scolarite
        .get("est-scolarise")
        .and_then(Value::as_bool)
        .ok_or_else(unknown)?;
    // A pupil with no schooling at all comes without a status. A status with
    // `est-scolarise: false` is still answered (the official sandbox case does so).
    let Some(statut) = scolarite.get("statut-eleve").filter(|s| !s.is_null()) else {
        return Err(if est_scolarise { unknown() } else { no_scolarite() });
    };
    let bourse = body.get("info-bourse");
    let mut data = Map::new();
    data.insert("identite".into(), identite(identification).ok_or_else(unknown)?);
    data.insert(
        "module_elementaire_formation".into(),
        json!({
            "code_mef_stat": text(scolarite.get("code-mef-stat")),
            // The real gateway reads `libelle-long_mef` (a typo) and always sends null.
            "libelle": text(scolarite.get("libelle-long-mef")),
        }),
    );
    data.insert(
        "etablissement".into(),
        etablissement(identification).ok_or_else(unknown)?,
    );
    data.insert(
        "annee_scolaire".into(),
        string(identification.get("annee-scolaire")).ok_or_else(unknown)?,
    );
    data.insert("est_scolarise".into(), Value::Bool(est_scolarise));
    data.insert(
        "statut_eleve".into(),
        json!({
            "code": string(statut.get("code")).ok_or_else(unknown)?,
            "libelle": text(statut.get("libelle")),
        }),
    );
    data.insert(
        "est_boursier".into(),
        bourse
            .and_then(|b| b.get("est-boursier"))
            .filter(|v| v.is_boolean())
            .cloned()
            .unwrap_or(Value::Null),
    );
    data.insert(
        "echelon_bourse".into(),
        bourse
            .and_then(|b| b.get("niveau-bourse"))
            .filter(|v| v.is_u64())
            .cloned()
            .unwrap_or(Value::Null),
    );
    if version >= 5 {
        data.insert("regime_pensionnat".into(), regime(scolarite.get("code-regime")));
    }
    Ok(Value::Object(data))
}

/// A string or null (numbers are rendered, as some upstream fields vary in type).
fn text(value: Option<&Value>) -> Value {
    string(value).unwrap_or(Value::Null)
}

fn string(value: Option<&Value>) -> Option<Value> {
    match value? {
        Value::String(s) => Some(Value::String(s.clone())),
        Value::Number(n) => Some(Value::String(n.to_string())),
        _ => None,
    }
}

fn identite(identification: &Value) -> Option<Value> {
    let sexe = match identification.get("sexe")? {
        Value::Number(n) if n.as_u64() == Some(1) => "M",
        Value::String(s) if s == "1" => "M",
        Value::Null => return None,
        _ => "F",
    };
    Some(json!({
        "nom": string(identification.get("nom"))?,
        "prenom": string(identification.get("prenom"))?,
        "sexe": sexe,
        "date_naissance": string(identification.get("date-naissance"))?,
    }))
}

/// `nom` is not in the OpenAPI schema but some official sandbox cases carry it: it
/// is passed on when the upstream sends it, and absent otherwise.
fn etablissement(identification: &Value) -> Option<Value> {
    let source = identification.get("etablissement")?;
    let mut out = Map::new();
    out.insert("code_uai".into(), string(source.get("code-uai"))?);
    if let Some(nom) = string(source.get("nom")) {
        out.insert("nom".into(), nom);
    }
    out.insert("code_ministere_tutelle".into(), text(source.get("ministere-tutelle")));
    Some(Value::Object(out))
}

fn regime(code: Option<&Value>) -> Value {
    let Some(Value::String(code)) = string(code) else {
        return Value::Null;
    };
    let libelle = REGIMES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| Value::String(l.to_string()))
        .unwrap_or(Value::Null);
    json!({"code": code, "libelle": libelle})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> Value {
        json!({
            "identification": {"nom": "Martin", "prenom": "Camille", "prenom2": "Christine",
                "sexe": 1, "date-naissance": "2007-07-07",
                "etablissement": {"code-uai": "0890003V", "ministere-tutelle": "06"},
                "annee-scolaire": "2023"},
            "info-scolarite": {"est-scolarise": true, "code-mef-stat": "211324099991",
                "libelle-long-mef": "1CAP1 STAFFEUR ORNEMANISTE", "code-regime": "0",
                "statut-eleve": {"code": "ST", "libelle": "SCOLAIRE"}},
            "info-bourse": {"est-boursier": true, "niveau-bourse": 2}
        })
    }

    proptest::proptest! {
        #[test]
        fn incomplete_bodies_are_30999(cut in 0usize..1000, pick in 0usize..11, version in 3u8..6) {
            let map = |b: &[u8]| {
                let json: Value = serde_json::from_slice(b).map_err(|_| MEN.error(Subcode::Unknown))?;
                build(&json, version)
            };
            let required = [
                "/identification", "/info-scolarite", "/info-scolarite/est-scolarise", "/info-scolarite/statut-eleve",
                "/info-scolarite/statut-eleve/code", "/identification/nom", "/identification/prenom",
                "/identification/sexe", "/identification/date-naissance", "/identification/etablissement",
                "/identification/annee-scolaire",
            ];
            crate::incomplete::refused(map, &fixture(), &required, (cut, pick), "30999")?;
        }
    }

    #[test]
    fn maps_the_real_upstream_payload() {
        let data = build(&fixture(), 5).unwrap();
        assert_eq!(
            data,
            json!({
                "identite": {"nom": "Martin", "prenom": "Camille", "sexe": "M", "date_naissance": "2007-07-07"},
                "module_elementaire_formation": {"code_mef_stat": "211324099991", "libelle": "1CAP1 STAFFEUR ORNEMANISTE"},
                "etablissement": {"code_uai": "0890003V", "code_ministere_tutelle": "06"},
                "annee_scolaire": "2023",
                "est_scolarise": true,
                "statut_eleve": {"code": "ST", "libelle": "SCOLAIRE"},
                "est_boursier": true,
                "echelon_bourse": 2,
                "regime_pensionnat": {"code": "0", "libelle": "Externe libre"}
            })
        );
        assert!(build(&fixture(), 4).unwrap().get("regime_pensionnat").is_none());
    }

    #[test]
    fn missing_bourse_and_regime_are_null() {
        let mut body = fixture();
        body.as_object_mut().unwrap().remove("info-bourse");
        body["info-scolarite"].as_object_mut().unwrap().remove("code-regime");
        body["identification"]["sexe"] = json!(2);
        let data = build(&body, 5).unwrap();
        assert_eq!(data["est_boursier"], Value::Null);
        assert_eq!(data["echelon_bourse"], Value::Null);
        assert_eq!(data["regime_pensionnat"], Value::Null);
        assert_eq!(data["identite"]["sexe"], "F");
    }

    #[test]
    fn no_scolarite_is_30004_and_odd_bodies_30999() {
        let none = json!({"identification": fixture()["identification"].clone(),
            "info-scolarite": {"est-scolarise": false}});
        let e = build(&none, 3).unwrap_err();
        assert_eq!((e.code.as_str(), e.status()), ("30004", 404));
        for odd in [
            json!({}),
            json!([1, 2]),
            json!({"identification": {}, "info-scolarite": {"est-scolarise": true}}),
            json!({"identification": fixture()["identification"].clone(),
                "info-scolarite": {"est-scolarise": "oui"}}),
        ] {
            assert_eq!(build(&odd, 3).unwrap_err().code, "30999", "{odd}");
        }
    }

    #[test]
    fn upstream_statuses() {
        assert_eq!(upstream_error(StatusCode::NOT_FOUND).code, "30003");
        assert_eq!(upstream_error(StatusCode::INTERNAL_SERVER_ERROR).code, "30000");
        assert_eq!(upstream_error(StatusCode::BAD_REQUEST).code, "30999");
    }
}
