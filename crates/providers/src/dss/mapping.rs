//! From the DSS upstream's answers to the contract's `data` and errors.

use chrono::{Datelike, NaiveDate};
use passerelle_core::{codes, Subcode};
use passerelle_core::{ApiError, ProviderInfo};
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::CNAV;
use crate::{http, Extras};

const REGIME_CNAF: &str = "00810011";
const REGIME_MSA: &str = "00171001";
const REGIME_RNCPS: &str = "99430000";

/// Maps a non-200 upstream answer to the contract's error.
pub fn upstream_error(status: StatusCode, regime: Option<&str>, body: &[u8]) -> ApiError {
    if let Some(error) = http::soft_status_error(CNAV, status) {
        return error;
    }
    let upstream: Option<Value> = serde_json::from_slice(body).ok();
    let error_code = upstream
        .as_ref()
        .and_then(|b| b.get("errorCode"))
        .and_then(Value::as_i64);
    let message = upstream
        .as_ref()
        .and_then(|b| b.get("error"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    match status.as_u16() {
        404 if upstream.is_none() => CNAV.error(Subcode::Unknown),
        404 => not_found(error_code, regime),
        400 => ApiError::gateway(codes::CIVILITY_MALFORMED)
            .with_meta(
                "provider_error_code",
                error_code.map(Value::from).unwrap_or(Value::Null),
            )
            .with_meta("provider_error_message", message),
        401 | 403 => CNAV.error(Subcode::Authentication),
        429 => CNAV.error(Subcode::TooManyRequests),
        500 => CNAV.error(Subcode::Internal),
        _ => CNAV.error(Subcode::Unknown),
    }
}

fn not_found(error_code: Option<i64>, regime: Option<&str>) -> ApiError {
    let absent = |name: &'static str, prefix: &'static str, body: &str| {
        ProviderInfo { name, prefix }
            .error(Subcode::NotFound)
            .with_title(format!("Dossier allocataire absent {name}"))
            .with_detail(format!("Le dossier allocataire n'a pas été trouvé auprès de {body}."))
    };
    match (error_code, regime) {
        (Some(40409), _) => ApiError::gateway(codes::ALLOCATAIRE_UNIDENTIFIED),
        (Some(40406 | 40412), _) => ProviderInfo {
            name: "CNAF & MSA",
            prefix: "35",
        }
        .error(Subcode::NotFound)
        .with_title("Allocataire non référencé")
        .with_detail("L'allocataire n'est pas référencé auprès des caisses éligibles"),
        (_, Some(REGIME_CNAF)) => absent("CNAF", "23", "la CNAF"),
        (_, Some(REGIME_MSA)) => absent("MSA", "10", "la MSA"),
        (_, Some(REGIME_RNCPS)) => absent("RNCPS", "40", "du RNCPS"),
        _ => absent("CNAV", "37", "la CNAV"),
    }
}

/// Builds `data` for `resource` from a 200 body. Anything unexpected is `37999`.
pub fn build(
    resource: &str,
    body: &Value,
    regime: Option<&str>,
    extras: &Extras,
    today: NaiveDate,
) -> Result<Value, ApiError> {
    let body = body
        .as_object()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| CNAV.error(Subcode::Unknown))?;
    let data = match resource {
        "revenu_solidarite_active" => with_majoration(body, "FA3102", "FA3101"),
        "prime_activite" => with_majoration(body, "FA3106", "FA3105"),
        "allocation_soutien_familial" | "allocation_adulte_handicape" => {
            beneficiary(body).map(|(est, date)| json!({"est_beneficiaire": est, "date_debut_droit": date}))
        }
        "complementaire_sante_solidaire" => complementaire_sante_solidaire(body),
        "allocation_enfant_handicape" => allocation_enfant_handicape(body),
        "quotient_familial" => quotient_familial(body, regime, extras, today),
        "participation_familiale_eaje" => participation_familiale_eaje(body),
        _ => None,
    };
    data.ok_or_else(|| {
        tracing::warn!(resource, "DSS answer does not have the expected shape");
        CNAV.error(Subcode::Unknown)
    })
}

fn indicateur(body: &Map<String, Value>) -> Option<&str> {
    body.get("indicateur")?.as_str()
}

/// `dateIndicateur` as `YYYY-MM-DD` (the upstream also uses `DD/MM/YYYY`).
fn date(value: Option<&Value>) -> Value {
    let Some(raw) = value.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty()) else {
        return Value::Null;
    };
    let parsed = NaiveDate::parse_from_str(raw, "%Y-%m-%d").or_else(|_| NaiveDate::parse_from_str(raw, "%d/%m/%Y"));
    match parsed {
        Ok(d) => Value::String(d.format("%Y-%m-%d").to_string()),
        Err(_) => Value::String(raw.to_string()),
    }
}

/// (is beneficiary, start of the right); the date is null for non-beneficiaries.
fn beneficiary(body: &Map<String, Value>) -> Option<(bool, Value)> {
    let est = indicateur(body)? != "NON_BENEFICIAIRE";
    let date = if est {
        date(body.get("dateIndicateur"))
    } else {
        Value::Null
    };
    Some((est, date))
}

/// The code of the open prestation (`etat.cd == 10`) among `codes` with the earliest
/// opening date.
fn open_prestation<'a>(body: &'a Map<String, Value>, codes: &[&str]) -> Option<&'a str> {
    body.get("listePrestation")?
        .as_array()?
        .iter()
        .filter(|p| p.pointer("/etat/cd").and_then(Value::as_i64) == Some(10))
        .filter_map(|p| {
            let cd = p.get("cd")?.as_str()?;
            codes
                .contains(&cd)
                .then(|| (p.get("dtOuvertureDroit").and_then(Value::as_str).unwrap_or(""), cd))
        })
        .min()
        .map(|(_, cd)| cd)
}

/// RSA and prime d'activité. A beneficiary with no open prestation of the expected
/// codes gets `avec_majoration: null` (the real gateway answers 500 there).
fn with_majoration(body: &Map<String, Value>, majore: &str, simple: &str) -> Option<Value> {
    let (est, date) = beneficiary(body)?;
    let majoration = if est {
        open_prestation(body, &[majore, simple])
            .map(|cd| Value::Bool(cd == majore))
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    Some(json!({"est_beneficiaire": est, "avec_majoration": majoration, "date_debut_droit": date}))
}

fn complementaire_sante_solidaire(body: &Map<String, Value>) -> Option<Value> {
    let indicateur = indicateur(body)?;
    let est = indicateur != "NON_BENEFICIAIRE_CSS";
    Some(json!({
        "est_beneficiaire": est,
        "avec_participation": indicateur == "BENEFICIAIRE_AVEC_PARTICIPATION_FINANCIERE",
        "date_debut_droit": if est { date(body.get("dateIndicateur")) } else { Value::Null },
    }))
}

fn allocation_enfant_handicape(body: &Map<String, Value>) -> Option<Value> {
    let status = indicateur(body)?.to_lowercase();
    let date = if status == "non_beneficiaire" {
        Value::Null
    } else {
        date(body.get("dateIndicateur"))
    };
    Some(json!({"status": status, "date_debut_droit": date}))
}

/// Blank strings become null, as the contract's QF payloads show.
fn text(value: Option<&Value>) -> Value {
    match value {
        Some(Value::String(s)) if s.trim().is_empty() => Value::Null,
        Some(v @ Value::String(_)) => v.clone(),
        Some(v @ Value::Number(_)) => Value::String(v.to_string()),
        _ => Value::Null,
    }
}

fn person(p: &Value, with_birthplace: bool) -> Value {
    let birth = match text(p.get("dateNaissance")) {
        Value::Null => Value::String("0000-00-00".into()),
        v => v,
    };
    let mut out = json!({
        "nom_naissance": text(p.get("nomNaissance")),
        "nom_usage": text(p.get("nomUsage")),
        "prenoms": text(p.get("listePrenoms")),
        "date_naissance": birth,
        "sexe": text(p.get("genre")),
    });
    if with_birthplace {
        out["code_cog_insee_commune_naissance"] = text(p.get("cogNaissance"));
    }
    out
}

fn persons(body: &Map<String, Value>, key: &str, with_birthplace: bool) -> Option<Value> {
    match body.get(key) {
        None | Some(Value::Null) => Some(json!([])),
        Some(Value::Array(items)) => Some(Value::Array(items.iter().map(|p| person(p, with_birthplace)).collect())),
        Some(_) => None,
    }
}

fn adresse(body: &Map<String, Value>) -> Value {
    let Some(a) = body.get("adresse").filter(|a| a.is_object()) else {
        return Value::Null;
    };
    json!({
        "destinataire": text(a.get("identite")),
        "complement_information": text(a.get("complementInformation")),
        "complement_information_geographique": text(a.get("complementInformationGeo")),
        "numero_libelle_voie": text(a.get("numeroLibelleVoie")),
        "lieu_dit": text(a.get("lieuDit")),
        "code_postal_ville": text(a.get("codePostalVille")),
        "pays": text(a.get("pays")),
    })
}

fn requested(extras: &Extras, key: &str) -> Option<i64> {
    extras.get(key)?.parse().ok()
}

fn quotient_familial(
    body: &Map<String, Value>,
    regime: Option<&str>,
    extras: &Extras,
    today: NaiveDate,
) -> Option<Value> {
    let fournisseur = match regime? {
        REGIME_CNAF => "CNAF",
        REGIME_MSA => "MSA",
        REGIME_RNCPS => "RNCPS",
        _ => return None,
    };
    // The MSA may omit the calculation period: it is then the current month.
    let calcul = |key: &str, now: i64| {
        body.get(key)
            .and_then(Value::as_i64)
            .or((fournisseur == "MSA").then_some(now))
    };
    Some(json!({
        "allocataires": persons(body, "allocataires", false)?,
        "enfants": persons(body, "enfants", false)?,
        "adresse": adresse(body),
        "quotient_familial": {
            "fournisseur": fournisseur,
            // The answer's point: a missing quotient is no answer.
            "valeur": body.get("quotientFamilial").filter(|q| q.is_number())?.clone(),
            "annee": requested(extras, "annee")?,
            "mois": requested(extras, "mois")?,
            "annee_calcul": calcul("annee", i64::from(today.year())),
            "mois_calcul": calcul("mois", i64::from(today.month())),
        },
    }))
}

fn participation_familiale_eaje(body: &Map<String, Value>) -> Option<Value> {
    // What the participation is computed from: without them there is nothing to give.
    let number = |key: &str| body.get(key).filter(|v| v.is_number()).cloned();
    let (enfants_a_charge, ressources) = (number("nombreEnfantACharge")?, number("montantRessources")?);
    let annee_calcul = body
        .get("annee")
        .and_then(|a| a.as_i64().or_else(|| a.as_str()?.parse().ok()));
    Some(json!({
        "allocataires": persons(body, "allocataires", true)?,
        "enfants": persons(body, "enfants", true)?,
        "adresse": adresse(body),
        "parametres_calcul_participation_familiale": {
            "nombre_enfants_a_charge": enfants_a_charge,
            "nombre_enfants_beneficiaire_aeeh": body.get("nombreBeneficiaireAEH").cloned().unwrap_or(Value::Null),
            "base_ressources_annuelles": {
                "valeur": ressources,
                "annee_calcul": annee_calcul,
            },
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn rsa_majoration_uses_earliest_open_prestation() {
        let body = json!({"indicateur": "BENEFICIAIRE", "dateIndicateur": "2024-04-01", "listePrestation": [
            {"cd": "FA3101", "dtOuvertureDroit": "2024-05-01", "etat": {"cd": 10}},
            {"cd": "FA3102", "dtOuvertureDroit": "2024-04-01", "etat": {"cd": 10}},
            {"cd": "FA3102", "dtOuvertureDroit": "2020-01-01", "etat": {"cd": 20}}
        ]});
        let data = build("revenu_solidarite_active", &body, None, &Extras::new(), today()).unwrap();
        assert_eq!(
            data,
            json!({"est_beneficiaire": true, "avec_majoration": true, "date_debut_droit": "2024-04-01"})
        );
    }

    #[test]
    fn beneficiary_without_open_prestation_is_not_a_crash() {
        let body = json!({"indicateur": "BENEFICIAIRE", "dateIndicateur": "01/04/2024", "listePrestation": []});
        let data = build("prime_activite", &body, None, &Extras::new(), today()).unwrap();
        assert_eq!(data["avec_majoration"], Value::Null);
        assert_eq!(data["date_debut_droit"], "2024-04-01");
    }

    proptest::proptest! {
        #[test]
        fn incomplete_bodies_are_37999(cut in 0usize..1000, pick in 0usize..2) {
            let extras = Extras::from([("annee".into(), "2021".into()), ("mois".into(), "3".into())]);
            let map = |resource: &'static str| {
                let extras = extras.clone();
                move |b: &[u8]| {
                    let json: Value = serde_json::from_slice(b).map_err(|_| CNAV.error(Subcode::Unknown))?;
                    build(resource, &json, Some(REGIME_CNAF), &extras, today())
                }
            };
            let person = json!({"nomNaissance": "CHAMPION", "listePrenoms": "JEAN", "dateNaissance": "1980-06-12", "genre": "M"});
            let qf = json!({"allocataires": [person], "enfants": [], "quotientFamilial": 464, "annee": 2021, "mois": 3});
            crate::incomplete::refused(map("quotient_familial"), &qf, &["/quotientFamilial"], (cut, pick), "37999")?;
            let eaje = json!({"allocataires": [person], "enfants": [], "annee": 2021, "nombreEnfantACharge": 2, "montantRessources": 1500});
            let required = ["/nombreEnfantACharge", "/montantRessources"];
            crate::incomplete::refused(map("participation_familiale_eaje"), &eaje, &required, (cut, pick), "37999")?;
            let prestation = json!({"indicateur": "NON_BENEFICIAIRE", "dateIndicateur": null});
            for resource in ["revenu_solidarite_active", "prime_activite", "allocation_soutien_familial",
                             "allocation_adulte_handicape", "allocation_enfant_handicape"] {
                crate::incomplete::refused(map(resource), &prestation, &["/indicateur"], (cut, pick), "37999")?;
            }
            let css = json!({"indicateur": "NON_BENEFICIAIRE_CSS"});
            crate::incomplete::refused(map("complementaire_sante_solidaire"), &css, &["/indicateur"], (cut, pick), "37999")?;
        }
    }

    #[test]
    fn qf_without_regime_header_is_an_unknown_error() {
        let body = json!({"quotientFamilial": 1});
        let err = build("quotient_familial", &body, None, &Extras::new(), today()).unwrap_err();
        assert_eq!(err.code, "37999");
    }

    #[test]
    fn not_found_follows_regime_and_error_code() {
        let body = |code: i64| serde_json::to_vec(&json!({"errorCode": code, "error": "x"})).unwrap();
        let code = |regime, b: &[u8]| upstream_error(StatusCode::NOT_FOUND, regime, b).code;
        assert_eq!(code(None, &body(40409)), "00355");
        assert_eq!(code(None, &body(40406)), "35003");
        assert_eq!(code(Some(REGIME_CNAF), &body(40404)), "23003");
        assert_eq!(code(Some(REGIME_MSA), &body(40404)), "10003");
        assert_eq!(code(Some(REGIME_RNCPS), &body(40404)), "40003");
        assert_eq!(code(None, &body(40404)), "37003");
        assert_eq!(code(None, b"<html>"), "37999");
    }

    #[test]
    fn statuses_map_to_contract_codes() {
        let code = |s: u16| upstream_error(StatusCode::from_u16(s).unwrap(), None, b"{}");
        assert_eq!(code(400).code, "00366");
        assert_eq!(code(429).code, "37008");
        assert_eq!(code(500).code, "37000");
        assert_eq!((code(503).code, code(503).status()), ("37001".into(), 502));
        assert_eq!((code(504).code, code(504).status()), ("37002".into(), 504));
        assert_eq!(code(302).code, "37000");
        assert_eq!(code(418).code, "37999");
    }
}
