//! From the GIP-MDS upstream's answer to the contract's `data` and errors.

use passerelle_core::ApiError;
use passerelle_core::{codes, Subcode};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::{json, Value};

use super::GIP_MDS;
use crate::http;

/// `motifRupture` values that mean the contract is still running despite an end date.
const RUNNING_MOTIFS: &[&str] = &["99", "100"];

#[derive(Deserialize)]
struct Answer {
    individu: Individu,
}

#[derive(Deserialize)]
struct Individu {
    entreprise: Vec<Entreprise>,
}

#[derive(Deserialize)]
struct Entreprise {
    #[serde(rename = "raisonSociale", default)]
    raison_sociale: Option<String>,
    etablissement: Vec<Etablissement>,
}

#[derive(Deserialize)]
struct Etablissement {
    #[serde(default)]
    siret: Option<String>,
    contrat: Vec<Contrat>,
}

#[derive(Deserialize)]
struct Contrat {
    /// Required: a contract that cannot be dated cannot be a status.
    #[serde(rename = "dateDebutContrat")]
    debut: String,
    #[serde(rename = "dateFinContrat", default)]
    fin: Option<String>,
    #[serde(rename = "motifRupture", default)]
    motif: Option<String>,
}

/// One contract with its host organisation.
struct Found<'a> {
    siret: Option<&'a str>,
    raison_sociale: Option<&'a str>,
    contrat: &'a Contrat,
}

impl Found<'_> {
    fn is_current(&self) -> bool {
        self.contrat.fin.is_none()
            || self
                .contrat
                .motif
                .as_deref()
                .is_some_and(|m| RUNNING_MOTIFS.contains(&m))
    }
}

pub fn build(status: StatusCode, body: &[u8]) -> Result<Value, ApiError> {
    if let Some(error) = http::soft_status_error(GIP_MDS, status) {
        return Err(error);
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        tracing::error!(provider = GIP_MDS.name, %status, "upstream refused the gateway's token");
        return Err(GIP_MDS.error(Subcode::Authentication));
    }
    let json: Value = serde_json::from_slice(body).map_err(|_| unknown("body is not JSON"))?;
    let error_code = json.pointer("/erreurs/0/code").and_then(Value::as_str);
    match (status.as_u16(), error_code) {
        (200, _) if json.get("individu").is_some() => contracts(json),
        (404, Some("NOT_FOUND_CONTRAT")) => Ok(data(None, None)),
        (404, Some("NOT_FOUND_INDIVIDU")) => Err(not_found()),
        (413, Some("TOO_MANY_INDIVIDU")) => Err(homonyms()),
        _ => Err(unknown("unexpected status or error code")),
    }
}

/// Every contract is read (the real gateway reads only the first one, see
/// docs/providers/gip_mds.md): the latest running one is the current status, the
/// latest ended one the past status.
fn contracts(json: Value) -> Result<Value, ApiError> {
    let answer: Answer = serde_json::from_value(json).map_err(|_| unknown("individu has an unexpected shape"))?;
    let found: Vec<Found> = answer
        .individu
        .entreprise
        .iter()
        .flat_map(|e| {
            e.etablissement.iter().flat_map(move |et| {
                et.contrat.iter().map(move |contrat| Found {
                    siret: et.siret.as_deref(),
                    raison_sociale: e.raison_sociale.as_deref(),
                    contrat,
                })
            })
        })
        .collect();
    if found.len() > 1 {
        tracing::info!(
            provider = GIP_MDS.name,
            contracts = found.len(),
            "several service civique contracts"
        );
    }
    let current = found
        .iter()
        .filter(|f| f.is_current())
        .max_by(|a, b| a.contrat.debut.cmp(&b.contrat.debut));
    let past = found
        .iter()
        .filter(|f| !f.is_current())
        .max_by(|a, b| a.contrat.fin.cmp(&b.contrat.fin));
    Ok(data(current, past))
}

fn data(current: Option<&Found>, past: Option<&Found>) -> Value {
    json!({"statut_actuel": status(current), "statut_passe": status(past)})
}

fn status(found: Option<&Found>) -> Value {
    match found {
        Some(f) => json!({
            "contrat_trouve": true,
            "organisme_accueil": {"siret": f.siret, "raison_sociale": f.raison_sociale},
            "date_debut_contrat": f.contrat.debut,
            "date_fin_contrat": f.contrat.fin,
        }),
        None => json!({
            "contrat_trouve": false,
            "organisme_accueil": {"siret": null, "raison_sociale": null},
            "date_debut_contrat": null,
            "date_fin_contrat": null,
        }),
    }
}

fn not_found() -> ApiError {
    GIP_MDS
        .error(Subcode::NotFound)
        .with_title("Entité non trouvée")
        .with_detail("Le ou les paramètre(s) d'entrée n'existent pas, ne sont pas connus, ou ne comportent aucune information pour cet appel. Veuillez vérifier que votre recherche est couverte par le périmètre de l'API.")
}

/// 422 `00391`: the identity matches several people.
fn homonyms() -> ApiError {
    ApiError::gateway(codes::SEVERAL_PEOPLE).with_detail("Les paramètres d'identité correspondent à plusieurs personnes. Nous ne pouvons pas fournir les informations de service civique pour cet individu.")
}

fn unknown(why: &'static str) -> ApiError {
    tracing::warn!(provider = GIP_MDS.name, why, "unexpected upstream answer");
    GIP_MDS.error(Subcode::Unknown)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> Value {
        build(StatusCode::OK, body.as_bytes()).unwrap()
    }

    fn code(status: u16, body: &str) -> String {
        build(StatusCode::from_u16(status).unwrap(), body.as_bytes())
            .unwrap_err()
            .code
    }

    fn individu(contrats: &str) -> String {
        format!(
            r#"{{"individu":{{"entreprise":[{{"raisonSociale":"DINUM","etablissement":[{{"siret":"13002526500013","contrat":[{contrats}]}}]}}]}},"retour":{{"codeRetour":"OK"}}}}"#
        )
    }

    #[test]
    fn running_contract_is_current() {
        let data = ok(&individu(r#"{"dateDebutContrat":"2025-12-01","dateFinContrat":null}"#));
        assert_eq!(
            data["statut_actuel"],
            json!({"contrat_trouve": true, "organisme_accueil": {"siret": "13002526500013", "raison_sociale": "DINUM"}, "date_debut_contrat": "2025-12-01", "date_fin_contrat": null})
        );
        assert_eq!(data["statut_passe"]["contrat_trouve"], false);
        assert_eq!(data["statut_passe"]["organisme_accueil"]["siret"], Value::Null);
    }

    #[test]
    fn motif_99_or_100_keeps_a_contract_current() {
        for motif in ["99", "100"] {
            let data = ok(&individu(&format!(
                r#"{{"dateDebutContrat":"2024-01-15","dateFinContrat":"2024-06-15","motifRupture":"{motif}"}}"#
            )));
            assert_eq!(data["statut_actuel"]["date_fin_contrat"], "2024-06-15");
            assert_eq!(data["statut_passe"]["contrat_trouve"], false);
        }
        let data = ok(&individu(
            r#"{"dateDebutContrat":"2023-01-15","dateFinContrat":"2023-07-14","motifRupture":"01"}"#,
        ));
        assert_eq!(data["statut_actuel"]["contrat_trouve"], false);
        assert_eq!(data["statut_passe"]["date_debut_contrat"], "2023-01-15");
    }

    #[test]
    fn every_contract_is_read() {
        let data = ok(&individu(
            r#"{"dateDebutContrat":"2019-01-01","dateFinContrat":"2019-06-30"},
               {"dateDebutContrat":"2024-01-15","dateFinContrat":null},
               {"dateDebutContrat":"2020-01-15","dateFinContrat":"2020-07-14"}"#,
        ));
        assert_eq!(data["statut_actuel"]["date_debut_contrat"], "2024-01-15");
        assert_eq!(data["statut_passe"]["date_fin_contrat"], "2020-07-14");
    }

    proptest::proptest! {
        #[test]
        fn incomplete_bodies_are_31999(cut in 0usize..500, pick in 0usize..5) {
            let valid: Value = serde_json::from_str(&individu(r#"{"dateDebutContrat":"2025-12-01","dateFinContrat":null}"#)).unwrap();
            let etablissement = "/individu/entreprise/0/etablissement";
            let required = [
                "/individu".to_string(),
                "/individu/entreprise".into(),
                etablissement.into(),
                format!("{etablissement}/0/contrat"),
                format!("{etablissement}/0/contrat/0/dateDebutContrat"),
            ];
            let required: Vec<&str> = required.iter().map(String::as_str).collect();
            crate::incomplete::refused(|b| build(StatusCode::OK, b), &valid, &required, (cut, pick), "31999")?;
        }
    }

    #[test]
    fn errors() {
        let erreur = |c: &str| format!(r#"{{"erreurs":[{{"code":"{c}","message":"m"}}]}}"#);
        assert_eq!(
            build(StatusCode::NOT_FOUND, erreur("NOT_FOUND_CONTRAT").as_bytes()).unwrap(),
            data(None, None)
        );
        assert_eq!(code(404, &erreur("NOT_FOUND_INDIVIDU")), "31003");
        assert_eq!(code(413, &erreur("TOO_MANY_INDIVIDU")), "00391");
        assert_eq!(
            build(StatusCode::PAYLOAD_TOO_LARGE, erreur("TOO_MANY_INDIVIDU").as_bytes())
                .unwrap_err()
                .status(),
            422
        );
        assert_eq!(code(404, &erreur("AUTRE")), "31999");
        assert_eq!(code(500, &erreur("ERREUR_INTERNE")), "31999");
        assert_eq!(code(200, r#"{"retour":{"codeRetour":"OK"}}"#), "31999");
        assert_eq!(code(200, r#"{"individu":{"entreprise":"x"}}"#), "31999");
        assert_eq!(code(200, "<html/>"), "31999");
        assert_eq!(code(503, "{}"), "31001");
        assert_eq!(code(401, "{}"), "31006");
    }
}
