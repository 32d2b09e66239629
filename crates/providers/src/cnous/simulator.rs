//! A simulator of the CNOUS upstream, speaking its protocol: an OAuth2 token on
//! `POST /token` (HTTP Basic, empty body), then `GET /ine/<ine>[?campaignYear=]` (one
//! student), `POST /civility` with a JSON search (an array of students) or
//! `GET /france_connect` with a JSON body (FranceConnect's identity pivot), all with the
//! bearer. Its students come from `people.json` (derived from the official sandbox cases
//! by `tools/derive_cnous_people.py`) and `people_synthetic.json` (our own failure cases).
//! It logs nothing: requests carry identities.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::oauth::ClientAuth;
use crate::simulation::{self, normal, Answer, TokenDesk};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-cnous";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

/// The fields of the civility search that must match, as the upstream's search does.
const SEARCH_FIELDS: &[&str] = &["lastName", "firstNames", "birthDate", "birthPlace", "civility"];

/// The fields of the FranceConnect search that must match.
const FC_FIELDS: &[&str] = &["given_name", "family_name", "birthdate", "gender", "birthplace"];

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Person {
    ine: Option<String>,
    civility: Option<BTreeMap<String, String>>,
    france_connect: Option<BTreeMap<String, String>>,
    campaign_year: Option<u16>,
    student: Option<Value>,
    answer: Option<Answer>,
}

/// What the upstream holds for one search: a student record, or a canned answer.
#[derive(Debug, Clone)]
enum Found {
    Student(Value),
    Answer(Answer),
}

type CivilityKey = (BTreeMap<String, String>, Option<u16>);

pub struct Simulator {
    by_ine: HashMap<(String, Option<u16>), Found>,
    by_civility: HashMap<CivilityKey, Found>,
    by_france_connect: HashMap<CivilityKey, Found>,
    tokens: TokenDesk,
}

/// The search fields present in `search`, without accents nor case.
fn civility_key(search: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    search_key(search, SEARCH_FIELDS)
}

fn search_key(search: &BTreeMap<String, String>, fields: &[&str]) -> BTreeMap<String, String> {
    search
        .iter()
        .filter(|(k, v)| fields.contains(&k.as_str()) && !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), normal(v)))
        .collect()
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        let mut simulator = Simulator {
            by_ine: HashMap::new(),
            by_civility: HashMap::new(),
            by_france_connect: HashMap::new(),
            tokens: TokenDesk::new("cnous", CLIENT_ID, CLIENT_SECRET, ClientAuth::Basic),
        };
        simulation::people(&[PEOPLE, SYNTHETIC_PEOPLE])
            .into_iter()
            .for_each(|p| simulator.add(p));
        Arc::new(simulator)
    }

    fn add(&mut self, person: Person) {
        let found = match (person.student, person.answer) {
            (_, Some(answer)) => Found::Answer(answer),
            (Some(student), None) => Found::Student(student),
            (None, None) => return,
        };
        if let Some(ine) = &person.ine {
            self.by_ine
                .entry((normal(ine), person.campaign_year))
                .or_insert_with(|| found.clone());
        }
        if let Some(search) = &person.france_connect {
            self.by_france_connect
                .entry((search_key(search, FC_FIELDS), person.campaign_year))
                .or_insert_with(|| found.clone());
        }
        if let Some(search) = &person.civility {
            self.by_civility
                .entry((civility_key(search), person.campaign_year))
                .or_insert(found);
        }
    }

    fn authorised(&self, headers: &HeaderMap) -> bool {
        self.tokens.scope(headers).is_some()
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/ine/{ine}", get(by_ine))
        .route("/civility", post(by_civility))
        .route("/france_connect", get(by_france_connect))
        .with_state(simulator)
}

/// The real endpoint takes an empty body; any form body is ignored.
async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap) -> Response {
    let Some(access_token) = sim.tokens.issue(&headers, None, "") else {
        return error(StatusCode::UNAUTHORIZED, "Identifiants client invalides");
    };
    simulation::token_answer(&access_token, 3600, None)
}

fn error(status: StatusCode, description: &str) -> Response {
    (
        status,
        Json(json!({"description": description, "code": status.as_u16()})),
    )
        .into_response()
}

fn not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Étudiant(e) non trouvé(e)")
}

fn bad_request() -> Response {
    error(StatusCode::BAD_REQUEST, "Mauvais paramètres")
}

/// `campaignYear` as the upstream reads it: absent, or a year.
fn campaign_year(raw: Option<&str>) -> Result<Option<u16>, ()> {
    raw.map(|v| v.trim().parse::<u16>().map_err(|_| ())).transpose()
}

async fn by_ine(
    State(sim): State<Arc<Simulator>>,
    Path(ine): Path<String>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !sim.authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Jeton d'accès absent ou invalide");
    }
    let Ok(year) = campaign_year(query.get("campaignYear").map(String::as_str)) else {
        return bad_request();
    };
    match sim.by_ine.get(&(normal(&ine), year)).cloned() {
        Some(Found::Student(student)) => Json(student).into_response(),
        Some(Found::Answer(answer)) => answer.respond(&[("location", header::LOCATION)]).await,
        None => not_found(),
    }
}

/// The body is JSON whatever its content type: the real gateway sends no JSON type.
async fn by_civility(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: Bytes) -> Response {
    if !sim.authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Jeton d'accès absent ou invalide");
    }
    let Ok(Value::Object(search)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request();
    };
    let text = |key: &str| search.get(key).and_then(Value::as_str).map(str::to_string);
    let mandatory = ["lastName", "firstNames", "birthDate"];
    if mandatory.iter().any(|k| text(k).is_none_or(|v| v.trim().is_empty())) {
        return bad_request();
    }
    let year = match search.get("campaignYear") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_u64().and_then(|y| u16::try_from(y).ok()) {
            Some(y) => Some(y),
            None => return bad_request(),
        },
    };
    let fields: BTreeMap<String, String> = SEARCH_FIELDS
        .iter()
        .filter_map(|k| text(k).map(|v| (k.to_string(), v)))
        .collect();
    match sim.by_civility.get(&(civility_key(&fields), year)).cloned() {
        Some(Found::Student(student)) => Json(json!([student])).into_response(),
        Some(Found::Answer(answer)) => answer.respond(&[("location", header::LOCATION)]).await,
        None => not_found(),
    }
}

/// A GET whose JSON body is FranceConnect's identity pivot (`birthplace` empty for people
/// born abroad).
async fn by_france_connect(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: Bytes) -> Response {
    if !sim.authorised(&headers) {
        return error(StatusCode::UNAUTHORIZED, "Jeton d'accès absent ou invalide");
    }
    let Ok(Value::Object(search)) = serde_json::from_slice::<Value>(&body) else {
        return bad_request();
    };
    let text = |key: &str| search.get(key).and_then(Value::as_str).map(str::to_string);
    if ["given_name", "family_name", "birthdate", "gender"]
        .iter()
        .any(|k| text(k).is_none_or(|v| v.trim().is_empty()))
    {
        return bad_request();
    }
    let year = search
        .get("campaignYear")
        .and_then(Value::as_u64)
        .and_then(|y| u16::try_from(y).ok());
    let fields: BTreeMap<String, String> = FC_FIELDS
        .iter()
        .filter_map(|k| text(k).map(|v| (k.to_string(), v)))
        .collect();
    match sim
        .by_france_connect
        .get(&(search_key(&fields, FC_FIELDS), year))
        .cloned()
    {
        Some(Found::Student(student)) => Json(json!([student])).into_response(),
        Some(Found::Answer(answer)) => answer.respond(&[("location", header::LOCATION)]).await,
        None => not_found(),
    }
}
