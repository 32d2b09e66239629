//! A simulator of the DSS upstream, speaking its protocol: OAuth2 client credentials
//! (HTTP Basic) on `/token`, then `GET /<prestation>?<identity>` with the bearer.
//! Its people come from `people.json` (derived from the official sandbox cases by
//! `tools/derive_dss_people.py`) and `people_synthetic.json` (our own error cases).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use passerelle_core::translit::fold;
use serde::Deserialize;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-dss";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

/// The upstream's answer for one person and prestation.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    pub status: u16,
    #[serde(default)]
    pub regime: Option<String>,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub raw_body: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Person {
    /// A prestation name, or `*` for every prestation.
    prestation: String,
    query: BTreeMap<String, String>,
    answer: Answer,
}

#[derive(Deserialize)]
struct PeopleFile {
    people: Vec<Person>,
}

type Key = (String, BTreeMap<String, String>);

pub struct Simulator {
    people: HashMap<Key, Answer>,
    tokens: Mutex<HashMap<String, String>>,
}

/// Matching is exact on every identity field, after removing accents and case, as the
/// official sandbox does: a typo or a missing field finds nobody.
fn normalise(query: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    query
        .iter()
        .filter(|(k, _)| k.as_str() != "anneeDemandee" && k.as_str() != "moisDemande")
        .map(|(k, v)| (k.clone(), fold(v.trim()).to_uppercase()))
        .collect()
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        let mut people = HashMap::new();
        for file in [PEOPLE, SYNTHETIC_PEOPLE] {
            let parsed: PeopleFile = serde_json::from_str(file).expect("the simulator's people files are valid JSON");
            for p in parsed.people {
                people.entry((p.prestation, normalise(&p.query))).or_insert(p.answer);
            }
        }
        Arc::new(Simulator {
            people,
            tokens: Mutex::new(HashMap::new()),
        })
    }

    fn find(&self, prestation: &str, query: &BTreeMap<String, String>) -> Option<&Answer> {
        let key = normalise(query);
        self.people
            .get(&(prestation.to_string(), key.clone()))
            .or_else(|| self.people.get(&("*".to_string(), key)))
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/{prestation}", get(prestation))
        .with_state(simulator)
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    scope: Option<String>,
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let known = basic_credentials(&headers).is_some_and(|(id, secret)| id == CLIENT_ID && secret == CLIENT_SECRET);
    if !known || form.grant_type != "client_credentials" {
        let body = json!({"error": "invalid_client", "error_description": "Client authentication failed."});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let access_token = format!("dss-{:032x}", rand::random::<u128>());
    let scope = form.scope.unwrap_or_default();
    sim.tokens
        .lock()
        .expect("token table")
        .insert(access_token.clone(), scope);
    Json(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600})).into_response()
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(json!({"errorCode": code, "error": message}))).into_response()
}

async fn prestation(
    State(sim): State<Arc<Simulator>>,
    Path(prestation): Path<String>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let scope = bearer.and_then(|t| sim.tokens.lock().expect("token table").get(t).cloned());
    if scope.as_deref() != Some(prestation.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            40101,
            "Jeton d'accès absent, invalide ou d'une autre prestation",
        );
    }
    let traced = headers.get("x-correlation-id").is_some_and(|v| !v.is_empty())
        && headers
            .get("x-apipart-fsfinal")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit()));
    if !traced {
        return error(
            StatusCode::BAD_REQUEST,
            40001,
            "En-têtes X-Correlation-ID et X-APIPART-FSFINAL obligatoires",
        );
    }
    if !query.contains_key("nomNaissance") && !query.contains_key("nomUsage") {
        return error(StatusCode::BAD_REQUEST, 40002, "Nom de naissance ou nom d'usage absent");
    }
    match sim.find(&prestation, &query).cloned() {
        Some(answer) => respond(answer).await,
        None => error(
            StatusCode::NOT_FOUND,
            40404,
            "Aucun dossier allocataire ne correspond à cette identité",
        ),
    }
}

async fn respond(answer: Answer) -> Response {
    if answer.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(answer.delay_ms)).await;
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match (answer.raw_body, answer.body) {
        (Some(raw), _) => {
            let content_type = answer.content_type.unwrap_or_else(|| "text/plain".into());
            (status, [(header::CONTENT_TYPE, content_type)], raw).into_response()
        }
        (None, body) => (status, Json(body.unwrap_or(Value::Null))).into_response(),
    };
    if let Some(regime) = answer.regime.and_then(|r| r.parse().ok()) {
        response.headers_mut().insert("X-APISECU-FD", regime);
    }
    response
}
