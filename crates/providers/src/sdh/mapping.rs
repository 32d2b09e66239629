//! From the SDH upstream's athlete record to the contract's `data` and errors.

use chrono::NaiveDate;
use passerelle_core::ApiError;
use passerelle_core::{codes, Subcode};
use reqwest::StatusCode;
use serde_json::{json, Map, Value};

use super::SDH;
use crate::http;

type Object = Map<String, Value>;

fn unknown(why: &str) -> ApiError {
    tracing::warn!(provider = SDH.name, why, "unexpected SDH answer");
    SDH.error(Subcode::Unknown)
}

/// Maps one upstream answer to `data` or to the contract's error.
pub fn answer(status: StatusCode, body: &[u8], today: NaiveDate) -> Result<Value, ApiError> {
    if let Some(error) = http::soft_status_error(SDH, status) {
        return Err(error);
    }
    match status.as_u16() {
        404 => Err(SDH.error(Subcode::NotFound).with_title("Entité non trouvée")),
        // The upstream refused the identifier: the published sandbox answers 00366.
        400 => Err(ApiError::gateway(codes::CIVILITY_MALFORMED)
            .with_detail("Un ou plusieurs paramètres ne sont pas correctement formatés")),
        401 | 403 => {
            tracing::error!(provider = SDH.name, %status, "upstream refused the gateway's token");
            Err(SDH.error(Subcode::Authentication))
        }
        200 => {
            let json: Value = serde_json::from_slice(body).map_err(|_| unknown("body is not JSON"))?;
            build(&json, today)
        }
        _ => Err(unknown("unexpected status")),
    }
}

/// A string as given; absent or null is null.
fn text(o: &Object, key: &str) -> Result<Value, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(s @ Value::String(_)) => Ok(s.clone()),
        Some(_) => Err(unknown("expected a string")),
    }
}

/// A code the upstream sends as a number, published as a string.
fn code(o: &Object, key: &str) -> Result<Value, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Value::Null),
        Some(Value::Number(n)) => Ok(Value::String(n.to_string())),
        Some(s @ Value::String(_)) => Ok(s.clone()),
        Some(_) => Err(unknown("expected a code")),
    }
}

fn day_of(o: &Object, key: &str) -> Result<Option<NaiveDate>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => s
            .get(..10)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .map(Some)
            .ok_or_else(|| unknown("date is not a date")),
        Some(_) => Err(unknown("date is not a string")),
    }
}

fn day(o: &Object, key: &str) -> Result<Value, ApiError> {
    Ok(day_of(o, key)?
        .map(|d| Value::String(d.format("%Y-%m-%d").to_string()))
        .unwrap_or(Value::Null))
}

fn objects<'a>(o: &'a Object, key: &str) -> Result<Vec<&'a Object>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_object().ok_or_else(|| unknown("list item is not an object")))
            .collect(),
        Some(_) => Err(unknown("expected a list")),
    }
}

fn haut_niveau(fiche: &Object) -> bool {
    fiche.get("hautNiveau").and_then(Value::as_bool) == Some(true)
}

/// A period `[start, end]` read from two date fields; an open end runs forever.
fn period(o: &Object, start: &str, end: &str) -> Result<Option<(NaiveDate, NaiveDate)>, ApiError> {
    let Some(start) = day_of(o, start)? else {
        return Ok(None);
    };
    Ok(Some((start, day_of(o, end)?.unwrap_or(NaiveDate::MAX))))
}

fn overlaps(a: (NaiveDate, NaiveDate), b: (NaiveDate, NaiveDate)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

pub fn build(body: &Value, today: NaiveDate) -> Result<Value, ApiError> {
    let body = body.as_object().ok_or_else(|| unknown("body is not an object"))?;
    let fiches = objects(body, "fichesHN")?;
    let sportifs = objects(body, "fichesSportif")?;
    let active = sportifs
        .iter()
        .copied()
        .find(|s| s.get("active").and_then(Value::as_bool) == Some(true));
    let mut current = None;
    for (i, fiche) in fiches.iter().enumerate() {
        let covers_today =
            period(fiche, "debutDroits", "finDroits")?.is_some_and(|(start, end)| start <= today && today <= end);
        if covers_today && current.is_none() {
            current = Some(i);
        }
    }
    let informations_statut = match current {
        Some(i) => statut(fiches[i], active)?,
        None => Value::Null,
    };
    let precedents = fiches
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != current)
        .map(|(_, fiche)| previous(fiche, &sportifs, active))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "identite": {
            "nom_naissance": text(body, "nom")?,
            "nom_usage": text(body, "nomUsage")?,
            "prenoms": text(body, "prenom")?,
            "date_naissance": day(body, "dateNaissance")?,
            "sexe": text(body, "genre")?,
        },
        "est_sportif_de_haut_niveau": current.is_some_and(|i| haut_niveau(fiches[i])),
        "a_ete_sportif_de_haut_niveau": fiches.iter().any(|f| haut_niveau(f)),
        "informations_statut": informations_statut,
        "informations_statuts_precedents": precedents,
    }))
}

/// A past (or future) status. Its establishment and region come from the athlete's
/// fiche of the same period when the upstream has one (the real gateway always takes
/// the current one, which mislabels past statuses), else from the active fiche.
fn previous(fiche: &Object, sportifs: &[&Object], active: Option<&Object>) -> Result<Value, ApiError> {
    let mut same_period = None;
    if let Some(rights) = period(fiche, "debutDroits", "finDroits")? {
        for s in sportifs {
            if period(s, "debut", "fin")?.is_some_and(|p| overlaps(p, rights)) {
                same_period = Some(*s);
                break;
            }
        }
    }
    let mut value = statut(fiche, same_period.or(active))?;
    if let Value::Object(o) = &mut value {
        o.insert("fiche".into(), fiche.get("fiche").cloned().unwrap_or(Value::Null));
    }
    Ok(value)
}

fn statut(fiche: &Object, sportif: Option<&Object>) -> Result<Value, ApiError> {
    let empty = Object::new();
    let sportif = sportif.unwrap_or(&empty);
    Ok(json!({
        "periode": {
            "date_debut_statut": day(fiche, "debutDroits")?,
            "date_fin_statut": day(fiche, "finDroits")?,
        },
        "federation": {
            "code_federation": code(fiche, "federation")?,
            "nom_federation": text(fiche, "nomFederation")?,
            "nom_court_federation": text(fiche, "nomCourtFederation")?,
        },
        "etablissement": {
            "code_etablissement": code(sportif, "etablissement")?,
            "nom_etablissement": text(sportif, "nomEtablissement")?,
        },
        "region": {
            "code_region": code(sportif, "region")?,
            "nom_region": text(sportif, "nomRegion")?,
        },
        "categorie": {
            "code_categorie": code(fiche, "categorie")?,
            "nom_categorie": text(fiche, "libCategorie")?,
            "valeur": code(fiche, "valeur")?,
        },
        "sportif_de_haut_niveau": fiche.get("hautNiveau").and_then(Value::as_bool),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    fn hn(fiche: u32, start: &str, end: &str, haut_niveau: bool) -> Value {
        json!({"fiche": fiche, "debutDroits": format!("{start}T00:00:00"), "finDroits": format!("{end}T00:00:00"),
               "federation": 68, "nomFederation": "Fédération Française de Vol Libre", "nomCourtFederation": "VOL LIBRE",
               "categorie": 4, "libCategorie": "Elite", "hautNiveau": haut_niveau, "valeur": 128})
    }

    fn sportif(etablissement: u32, region: u32, start: &str, end: &str, active: bool) -> Value {
        json!({"active": active, "etablissement": etablissement, "nomEtablissement": format!("E{etablissement}"),
               "region": region, "nomRegion": format!("R{region}"), "debut": format!("{start}T00:00:00"), "fin": format!("{end}T00:00:00")})
    }

    fn record(fiches: Vec<Value>, sportifs: Vec<Value>) -> Value {
        json!({"nom": "DUPONT", "prenom": "Thomas", "nomUsage": "DUPONT", "dateNaissance": "1990-06-15T00:00:00",
               "genre": "M", "fichesHN": fiches, "fichesSportif": sportifs})
    }

    #[test]
    fn the_current_fiche_is_the_one_covering_today() {
        let body = record(
            vec![
                hn(1, "2025-01-01", "2025-12-31", true),
                hn(2, "2026-01-01", "2026-12-31", false),
            ],
            vec![
                sportif(980, 76, "2026-01-01", "2026-12-31", true),
                sportif(10, 11, "2025-01-01", "2025-12-31", false),
            ],
        );
        let data = build(&body, today()).unwrap();
        assert_eq!(data["est_sportif_de_haut_niveau"], false);
        assert_eq!(data["a_ete_sportif_de_haut_niveau"], true);
        assert_eq!(
            data["informations_statut"]["periode"]["date_debut_statut"],
            "2026-01-01"
        );
        assert_eq!(data["informations_statut"]["federation"]["code_federation"], "68");
        assert_eq!(
            data["informations_statut"]["etablissement"]["code_etablissement"],
            "980"
        );
        assert_eq!(data["identite"]["date_naissance"], "1990-06-15");
        let previous = &data["informations_statuts_precedents"];
        assert_eq!(previous.as_array().unwrap().len(), 1);
        assert_eq!(previous[0]["fiche"], 1);
        // The past status keeps the establishment of its own period.
        assert_eq!(previous[0]["region"], json!({"code_region": "11", "nom_region": "R11"}));
    }

    #[test]
    fn no_current_fiche_means_no_current_status() {
        let body = record(vec![hn(1, "2020-01-01", "2021-12-31", true)], vec![]);
        let data = build(&body, today()).unwrap();
        assert_eq!(data["est_sportif_de_haut_niveau"], false);
        assert_eq!(data["a_ete_sportif_de_haut_niveau"], true);
        assert_eq!(data["informations_statut"], Value::Null);
        assert_eq!(
            data["informations_statuts_precedents"][0]["etablissement"]["code_etablissement"],
            Value::Null
        );
    }

    #[test]
    fn odd_records_are_41999_never_a_panic() {
        let code = |body: &str| answer(StatusCode::OK, body.as_bytes(), today()).unwrap_err().code;
        assert_eq!(code("not json"), "41999");
        assert_eq!(code("[]"), "41999");
        assert_eq!(code(r#"{"fichesHN": {}}"#), "41999");
        assert_eq!(code(r#"{"fichesHN": [1]}"#), "41999");
        assert_eq!(code(r#"{"fichesHN": [{"debutDroits": "hier"}]}"#), "41999");
        assert_eq!(code(r#"{"nom": 12}"#), "41999");
    }

    #[test]
    fn statuses_map_to_the_contract() {
        let code = |status: u16| {
            answer(StatusCode::from_u16(status).unwrap(), b"", today())
                .unwrap_err()
                .code
        };
        assert_eq!(code(404), "41003");
        assert_eq!(code(400), "00366");
        assert_eq!(code(401), "41006");
        assert_eq!(code(503), "41001");
        assert_eq!(code(504), "41002");
        assert_eq!(code(500), "41999");
    }
}
