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
        404 => Err(not_found()),
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

fn not_found() -> ApiError {
    SDH.error(Subcode::NotFound).with_title("Entité non trouvée")
}

/// A string the answer cannot do without.
fn required_text(o: &Object, key: &str) -> Result<Value, ApiError> {
    match o.get(key) {
        Some(s @ Value::String(_)) => Ok(s.clone()),
        _ => Err(unknown("a required string is missing")),
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

fn required_day(o: &Object, key: &str) -> Result<Value, ApiError> {
    match day(o, key)? {
        Value::Null => Err(unknown("a required date is missing")),
        d => Ok(d),
    }
}

/// The objects of a list; absent or null is empty unless the list is `required`.
fn objects<'a>(o: &'a Object, key: &str, required: bool) -> Result<Vec<&'a Object>, ApiError> {
    match o.get(key) {
        None | Some(Value::Null) if !required => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| i.as_object().ok_or_else(|| unknown("list item is not an object")))
            .collect(),
        _ => Err(unknown("expected a list")),
    }
}

/// Whether a status is a high-level one: what the answer is about, so never guessed.
fn haut_niveau(fiche: &Object) -> Result<bool, ApiError> {
    fiche
        .get("hautNiveau")
        .and_then(Value::as_bool)
        .ok_or_else(|| unknown("a fiche has no hautNiveau"))
}

/// A period `[start, end]` read from two date fields; an open end runs forever.
fn period(o: &Object, start: &str, end: &str) -> Result<Option<(NaiveDate, NaiveDate)>, ApiError> {
    let Some(start) = day_of(o, start)? else {
        return Ok(None);
    };
    Ok(Some((start, day_of(o, end)?.unwrap_or(NaiveDate::MAX))))
}

/// The rights of a high-level fiche: a status without a start cannot be placed in time.
fn rights(fiche: &Object) -> Result<(NaiveDate, NaiveDate), ApiError> {
    period(fiche, "debutDroits", "finDroits")?.ok_or_else(|| unknown("a fiche has no debutDroits"))
}

fn overlaps(a: (NaiveDate, NaiveDate), b: (NaiveDate, NaiveDate)) -> bool {
    a.0 <= b.1 && b.0 <= a.1
}

/// The athlete's answer. `informations_statut` is the status covering today; without
/// one it is the latest (its period shows it is not current, `est_sportif_de_haut_niveau`
/// stays false), since the published schema requires an object there. An athlete with
/// no status at all has nothing the schema can carry: 404 `41003`.
pub fn build(body: &Value, today: NaiveDate) -> Result<Value, ApiError> {
    let body = body.as_object().ok_or_else(|| unknown("body is not an object"))?;
    let identite = json!({
        "nom_naissance": required_text(body, "nom")?,
        "nom_usage": text(body, "nomUsage")?,
        "prenoms": required_text(body, "prenom")?,
        "date_naissance": required_day(body, "dateNaissance")?,
        "sexe": required_text(body, "genre")?,
    });
    let fiches = objects(body, "fichesHN", true)?;
    let sportifs = objects(body, "fichesSportif", false)?;
    let active = sportifs
        .iter()
        .copied()
        .find(|s| s.get("active").and_then(Value::as_bool) == Some(true));
    let periods = fiches.iter().map(|f| rights(f)).collect::<Result<Vec<_>, _>>()?;
    let levels = fiches.iter().map(|f| haut_niveau(f)).collect::<Result<Vec<_>, _>>()?;
    let current = periods.iter().position(|&(start, end)| start <= today && today <= end);
    let informations_statut = match current {
        Some(i) => statut(fiches[i], active)?,
        None => {
            let latest = latest(&periods).ok_or_else(not_found)?;
            statut(fiches[latest], of_its_period(periods[latest], &sportifs)?.or(active))?
        }
    };
    let shown = current.or_else(|| latest(&periods));
    let precedents = fiches
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != shown)
        .map(|(i, fiche)| previous(fiche, periods[i], &sportifs, active))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(json!({
        "identite": identite,
        "est_sportif_de_haut_niveau": current.is_some_and(|i| levels[i]),
        "a_ete_sportif_de_haut_niveau": levels.contains(&true),
        "informations_statut": informations_statut,
        "informations_statuts_precedents": precedents,
    }))
}

/// The index of the status that starts last (the first of equals).
fn latest(periods: &[(NaiveDate, NaiveDate)]) -> Option<usize> {
    (0..periods.len()).reduce(|best, i| if periods[i].0 > periods[best].0 { i } else { best })
}

/// The athlete's fiche (establishment, region) of the same period as `rights`.
fn of_its_period<'a>(rights: (NaiveDate, NaiveDate), sportifs: &[&'a Object]) -> Result<Option<&'a Object>, ApiError> {
    for s in sportifs {
        if period(s, "debut", "fin")?.is_some_and(|p| overlaps(p, rights)) {
            return Ok(Some(*s));
        }
    }
    Ok(None)
}

/// A past (or future) status. Its establishment and region come from the athlete's
/// fiche of the same period when the upstream has one (the real gateway always takes
/// the current one, which mislabels past statuses), else from the active fiche.
fn previous(
    fiche: &Object,
    rights: (NaiveDate, NaiveDate),
    sportifs: &[&Object],
    active: Option<&Object>,
) -> Result<Value, ApiError> {
    let mut value = statut(fiche, of_its_period(rights, sportifs)?.or(active))?;
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
        "sportif_de_haut_niveau": haut_niveau(fiche)?,
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
    fn without_a_current_fiche_the_latest_status_is_shown() {
        let body = record(
            vec![
                hn(1, "2018-01-01", "2019-12-31", true),
                hn(2, "2020-01-01", "2021-12-31", false),
            ],
            vec![sportif(10, 11, "2020-01-01", "2021-12-31", false)],
        );
        let data = build(&body, today()).unwrap();
        assert_eq!(data["est_sportif_de_haut_niveau"], false);
        assert_eq!(data["a_ete_sportif_de_haut_niveau"], true);
        let statut = &data["informations_statut"];
        assert_eq!(statut["periode"]["date_fin_statut"], "2021-12-31");
        assert_eq!(statut["sportif_de_haut_niveau"], false);
        assert_eq!(statut["region"], json!({"code_region": "11", "nom_region": "R11"}));
        let previous = data["informations_statuts_precedents"].as_array().unwrap();
        assert_eq!(previous.len(), 1);
        assert_eq!(previous[0]["fiche"], 1);
    }

    #[test]
    fn an_athlete_without_any_status_is_41003() {
        let error = build(&record(vec![], vec![]), today()).unwrap_err();
        assert_eq!((error.code.as_str(), error.status()), ("41003", 404));
    }

    #[test]
    fn odd_records_are_41999_never_a_panic() {
        let code = |body: &str| answer(StatusCode::OK, body.as_bytes(), today()).unwrap_err().code;
        assert_eq!(code("not json"), "41999");
        assert_eq!(code("[]"), "41999");
        assert_eq!(code("{}"), "41999");
        let valid = record(vec![hn(1, "2020-01-01", "2021-12-31", true)], vec![]);
        let with = |key: &str, value: Value| {
            let mut body = valid.clone();
            body[key] = value;
            code(&body.to_string())
        };
        assert_eq!(with("fichesHN", json!({})), "41999");
        assert_eq!(with("fichesHN", json!(null)), "41999");
        assert_eq!(with("fichesHN", json!([1])), "41999");
        assert_eq!(
            with("fichesHN", json!([{"debutDroits": "hier", "hautNiveau": true}])),
            "41999"
        );
        assert_eq!(
            with("fichesHN", json!([{"finDroits": "2021-12-31", "hautNiveau": true}])),
            "41999"
        );
        assert_eq!(with("fichesHN", json!([{"debutDroits": "2020-01-01"}])), "41999");
        assert_eq!(with("nom", json!(12)), "41999");
        assert_eq!(with("genre", json!(null)), "41999");
        assert_eq!(with("dateNaissance", json!(null)), "41999");
    }

    proptest::proptest! {
        #[test]
        fn incomplete_bodies_are_41999(cut in 0usize..2000, pick in 0usize..7) {
            let valid = record(
                vec![hn(1, "2026-01-01", "2026-12-31", true), hn(2, "2020-01-01", "2021-12-31", true)],
                vec![sportif(980, 76, "2026-01-01", "2026-12-31", true)],
            );
            let required = ["/nom", "/prenom", "/dateNaissance", "/genre", "/fichesHN",
                            "/fichesHN/1/debutDroits", "/fichesHN/1/hautNiveau"];
            crate::incomplete::refused(|b| answer(StatusCode::OK, b, today()), &valid, &required, (cut, pick), "41999")?;
        }
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
