//! From France Travail's answers to the contract's `data` and errors.

use chrono::NaiveDate;
use passerelle_core::ApiError;
use passerelle_core::Subcode;
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::FRANCE_TRAVAIL;
use crate::http;

/// The contract's "not found", as published (without the generic suffix).
pub fn not_found() -> ApiError {
    FRANCE_TRAVAIL
        .error(Subcode::NotFound)
        .with_title("Entité non trouvée")
        .with_detail("Aucune situation France Travail n'a pu être trouvée avec les critères de recherche fournis.")
}

fn unknown(why: &str) -> ApiError {
    tracing::warn!(provider = FRANCE_TRAVAIL.name, why, "unexpected France Travail answer");
    FRANCE_TRAVAIL.error(Subcode::Unknown)
}

/// Maps one upstream answer of `resource` to `data` or to the contract's error.
pub fn answer(resource: &str, status: StatusCode, body: &[u8], identifiant: &str) -> Result<Value, ApiError> {
    if let Some(error) = http::soft_status_error(FRANCE_TRAVAIL, status) {
        return Err(error);
    }
    match (resource, status.as_u16()) {
        (_, 404) | ("statut", 206) | ("indemnites", 204) => Err(not_found()),
        (_, 500) if is_upstream_timeout(body) => Err(FRANCE_TRAVAIL.error(Subcode::Timeout)),
        (_, 401 | 403) => {
            tracing::error!(provider = FRANCE_TRAVAIL.name, %status, "upstream refused the gateway's token");
            Err(FRANCE_TRAVAIL.error(Subcode::Authentication))
        }
        (_, 200) => {
            let json: Value = serde_json::from_slice(body).map_err(|_| unknown("body is not JSON"))?;
            match resource {
                "statut" => statut(&json, identifiant),
                "indemnites" => indemnites(&json, identifiant),
                _ => Err(unknown("unknown resource")),
            }
        }
        _ => Err(unknown("unexpected status")),
    }
}

/// France Travail reports its own backend timeouts as a 500 naming the Java exception.
fn is_upstream_timeout(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|b| b.get("messageLog")?.as_str().map(str::to_string))
        .is_some_and(|m| m.contains("java.util.concurrent.TimeoutException"))
}

/// A string with its blanks trimmed away; blank or absent is null.
fn text(body: &Map<String, Value>, key: &str) -> Value {
    match body.get(key).and_then(Value::as_str).map(str::trim) {
        Some(s) if !s.is_empty() => Value::String(s.to_string()),
        _ => Value::Null,
    }
}

/// `1990-01-01T00:00:00+01:00` as `1990-01-01`; blank or absent is null.
fn date(body: &Map<String, Value>, key: &str) -> Result<Value, ApiError> {
    let Value::String(raw) = text(body, key) else {
        return Ok(Value::Null);
    };
    raw.get(..10)
        .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
        .ok_or_else(|| unknown("date is not a date"))
}

fn statut(body: &Value, identifiant: &str) -> Result<Value, ApiError> {
    let body = body.as_object().ok_or_else(|| unknown("body is not an object"))?;
    // A status without a registration category is not a registration.
    let code: i64 = match text(body, "categorieInscription") {
        Value::String(c) => c.parse().map_err(|_| unknown("category is not a number"))?,
        _ => return Err(unknown("no registration category")),
    };
    let empty = Map::new();
    let adresse = match body.get("adresse") {
        Some(Value::Object(a)) => a,
        None | Some(Value::Null) => &empty,
        Some(_) => return Err(unknown("address is not an object")),
    };
    Ok(json!({
        "identifiant": identifiant,
        "identite": {
            "civilite": text(body, "civilite"),
            "nom_naissance": text(body, "nom"),
            "nom_usage": text(body, "nomUsage"),
            "prenom": text(body, "prenom"),
            "sexe": text(body, "sexe"),
            "date_naissance": date(body, "dateNaissance")?,
        },
        "contact": {
            "email": text(body, "email"),
            "telephone": text(body, "telephone"),
            "telephone2": text(body, "telephone2"),
        },
        "adresse": {
            "code_cog_insee_commune": text(adresse, "INSEECommune"),
            "code_postal": text(adresse, "codePostal"),
            "ligne_complement_adresse": text(adresse, "ligneComplementAdresse"),
            "ligne_complement_destinataire": text(adresse, "ligneComplementDestinataire"),
            "ligne_complement_distribution": text(adresse, "ligneComplementDistribution"),
            "ligne_nom": text(adresse, "ligneNom"),
            "ligne_voie": text(adresse, "ligneVoie"),
            "localite": text(adresse, "localite"),
        },
        "inscription": {
            "date_debut": date(body, "dateInscription")?,
            "date_fin": date(body, "dateCessationInscription")?,
            "code_certification_cnav": text(body, "codeCertificationCNAV"),
            "categorie": {
                "code": code,
                "libelle": text(body, "libellecategorieInscription"),
            },
        },
    }))
}

fn indemnites(body: &Value, identifiant: &str) -> Result<Value, ApiError> {
    let body = body.as_object().ok_or_else(|| unknown("body is not an object"))?;
    if !body.contains_key("statutInscription") {
        return Err(unknown("no statutInscription"));
    }
    let payments = match body.get("listePaiement") {
        Some(Value::Array(list)) => list,
        None | Some(Value::Null) => return Err(not_found()),
        Some(_) => return Err(unknown("listePaiement is not a list")),
    };
    // Not registered, or registered without any payment: nothing to show.
    if payments.is_empty() {
        return Err(not_found());
    }
    let paiements = payments.iter().map(payment).collect::<Result<Vec<_>, _>>()?;
    Ok(json!({"identifiant": identifiant, "paiements": paiements}))
}

fn payment(item: &Value) -> Result<Value, ApiError> {
    let item = item.as_object().ok_or_else(|| unknown("payment is not an object"))?;
    let amount = |key: &str| match item.get(key) {
        Some(n @ Value::Number(_)) => Ok(n.clone()),
        None | Some(Value::Null) => Ok(Value::Null),
        Some(_) => Err(unknown("amount is not a number")),
    };
    let (day, total) = (date(item, "datePaiement")?, amount("montantPaiement")?);
    if day.is_null() || total.is_null() {
        return Err(unknown("a payment without its date or amount"));
    }
    Ok(json!({
        "date_versement": day,
        "montant_total": total,
        "montant_allocations": amount("allocations")?,
        "montant_aides": amount("aides")?,
        "montant_autres": amount("autresPaiements")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The upstream's documented example (fixtures/upstream/france_travail/statut/valid.json).
    const STATUT: &str = r#"{
      "adresse": {"INSEECommune": "75107", "codePostal": "75007", "ligneComplementAdresse": " ",
        "ligneComplementDestinataire": "APPARTEMENT 42", "ligneNom": "DUPONT",
        "ligneVoie": "42 RUE DE LA PAIX", "localite": "75001 PARIS"},
      "categorieInscription": "1", "civilite": "M.", "codeCertificationCNAV": "VC",
      "dateInscription": "2020-01-01T00:00:00+01:00", "dateNaissance": "1990-01-01T00:00:00+01:00",
      "email": "jean.dupont@france.fr",
      "libellecategorieInscription": "PERSONNE SANS EMPLOI DISPONIBLE DUREE INDETERMINEE PLEIN TPS",
      "nom": "DUPONT", "nomUsage": " ", "prenom": "JEAN", "sexe": "Masculin", "telephone": "0636656565"
    }"#;

    fn ok(resource: &str, body: &str) -> Result<Value, ApiError> {
        answer(resource, StatusCode::OK, body.as_bytes(), "jean.dupont33")
    }

    fn code(result: Result<Value, ApiError>) -> String {
        result.unwrap_err().code
    }

    #[test]
    fn statut_maps_blanks_to_null_and_dates_to_days() {
        let data = ok("statut", STATUT).unwrap();
        assert_eq!(data["identifiant"], "jean.dupont33");
        assert_eq!(data["identite"]["nom_usage"], Value::Null);
        assert_eq!(data["identite"]["date_naissance"], "1990-01-01");
        assert_eq!(data["adresse"]["ligne_complement_adresse"], Value::Null);
        assert_eq!(data["inscription"]["categorie"]["code"], 1);
        assert_eq!(data["inscription"]["date_fin"], Value::Null);
    }

    #[test]
    fn odd_answers_are_24999_never_a_panic() {
        assert_eq!(code(ok("statut", "{\"nom\": \"X\"}")), "24999");
        assert_eq!(code(ok("statut", "{\"categorieInscription\": \"un\"}")), "24999");
        assert_eq!(code(ok("statut", "[]")), "24999");
        assert_eq!(code(ok("statut", "<html>")), "24999");
        assert_eq!(code(ok("indemnites", "{\"listePaiement\": []}")), "24999");
        let bad_amount = r#"{"statutInscription": true, "listePaiement": [{"datePaiement": "2023-07-03T00:00:00+02:00", "montantPaiement": "12"}]}"#;
        assert_eq!(code(ok("indemnites", bad_amount)), "24999");
        let bad_date = r#"{"categorieInscription": "1", "dateNaissance": "hier"}"#;
        assert_eq!(code(ok("statut", bad_date)), "24999");
    }

    proptest::proptest! {
        #[test]
        fn incomplete_bodies_are_24999(cut in 0usize..1000, pick in 0usize..3) {
            let statut: Value = serde_json::from_str(STATUT).unwrap();
            let map = |resource| move |b: &[u8]| answer(resource, StatusCode::OK, b, "x");
            crate::incomplete::refused(map("statut"), &statut, &["/categorieInscription"], (cut, pick), "24999")?;
            let indemnites = json!({"statutInscription": true, "listePaiement": [{"datePaiement": "2023-07-03T00:00:00+02:00",
                "montantPaiement": 123.4, "allocations": 123.4, "aides": 0.0, "autresPaiements": 0.0}]});
            let required = ["/statutInscription", "/listePaiement/0/datePaiement", "/listePaiement/0/montantPaiement"];
            crate::incomplete::refused(map("indemnites"), &indemnites, &required, (cut, pick), "24999")?;
        }
    }

    #[test]
    fn empty_payment_lists_and_partial_answers_are_not_found() {
        assert_eq!(
            code(ok(
                "indemnites",
                "{\"statutInscription\": false, \"listePaiement\": []}"
            )),
            "24003"
        );
        let partial = answer("statut", StatusCode::PARTIAL_CONTENT, b"{}", "x");
        assert_eq!(code(partial), "24003");
        let no_content = answer("indemnites", StatusCode::NO_CONTENT, b"", "x");
        assert_eq!(code(no_content), "24003");
        // 204 is only "not found" for the payments service.
        assert_eq!(code(answer("statut", StatusCode::NO_CONTENT, b"", "x")), "24999");
    }

    #[test]
    fn backend_timeouts_are_24002_and_other_500s_24999() {
        let timeout = br#"{"codeErreur":"01","messageLog":"Erreur technique : java.util.concurrent.TimeoutException"}"#;
        let error = answer("statut", StatusCode::INTERNAL_SERVER_ERROR, timeout, "x").unwrap_err();
        assert_eq!((error.code.as_str(), error.status()), ("24002", 504));
        let other = answer("statut", StatusCode::INTERNAL_SERVER_ERROR, b"oops", "x");
        assert_eq!(code(other), "24999");
    }
}
