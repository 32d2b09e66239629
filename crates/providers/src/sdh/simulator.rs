//! A simulator of the SDH upstream: OAuth2 client credentials in the form on
//! `/token`, then `GET /statut_sportif/<identifiant>` with the bearer. Its athletes
//! come from `people.json` (derived from the official sandbox cases by
//! `tools/derive_sdh_people.py`) and `people_synthetic.json` (our own cases). An
//! unknown athlete is a 404 with an empty body, as the real upstream answers. It logs
//! nothing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-sdh";
/// The identifier the real gateway's ping asks for: nobody has it.
pub const PING_IDENTIFIANT: &str = "735319";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

/// The upstream's answer for one athlete.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    pub status: u16,
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
    identifiant: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct PeopleFile {
    people: Vec<Person>,
}

pub struct Simulator {
    people: HashMap<String, Answer>,
    tokens: Mutex<HashSet<String>>,
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        let mut people = HashMap::new();
        for file in [PEOPLE, SYNTHETIC_PEOPLE] {
            let parsed: PeopleFile = serde_json::from_str(file).expect("the simulator's people files are valid JSON");
            for p in parsed.people {
                people.entry(p.identifiant).or_insert(p.answer);
            }
        }
        Arc::new(Simulator {
            people,
            tokens: Mutex::new(HashSet::new()),
        })
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/statut_sportif/{identifiant}", get(athlete))
        .with_state(simulator)
}

#[derive(Deserialize)]
struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
}

async fn token(State(sim): State<Arc<Simulator>>, Form(form): Form<TokenForm>) -> Response {
    let known = form.client_id.as_deref() == Some(CLIENT_ID)
        && form.client_secret.as_deref() == Some(CLIENT_SECRET)
        && form.grant_type.as_deref() == Some("client_credentials");
    if !known {
        let body = json!({"error": "invalid_client", "error_description": "Invalid client credentials"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let access_token = format!("sdh-{:032x}", rand::random::<u128>());
    sim.tokens.lock().expect("token table").insert(access_token.clone());
    Json(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600})).into_response()
}

async fn athlete(State(sim): State<Arc<Simulator>>, Path(identifiant): Path<String>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let known = bearer.is_some_and(|t| sim.tokens.lock().expect("token table").contains(t));
    if !known {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match sim.people.get(&identifiant).cloned() {
        Some(answer) => respond(answer).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn respond(answer: Answer) -> Response {
    if answer.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(answer.delay_ms)).await;
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match (answer.raw_body, answer.body) {
        (Some(raw), _) => {
            let content_type = answer.content_type.unwrap_or_else(|| "text/plain".into());
            (status, [(header::CONTENT_TYPE, content_type)], raw).into_response()
        }
        (None, Some(body)) => (status, Json(body)).into_response(),
        (None, None) => status.into_response(),
    }
}
