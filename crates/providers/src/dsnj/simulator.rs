//! A simulator of the DSNJ upstream: `POST /service_national` with the static bearer
//! token and a JSON identity pivot. Its people come from `people.json` (derived from
//! the official sandbox cases by `tools/derive_dsnj_people.py`) and
//! `people_synthetic.json` (our own error cases). It never logs identities.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::simulation::{self, Answer};

pub const TOKEN: &str = "demo-token-dsnj";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

/// The identity fields the upstream matches on, in the order of the key.
const PIVOT: [&str; 6] = [
    "family_name",
    "given_name",
    "birthdate",
    "gender",
    "birthplace",
    "birthcountry",
];

#[derive(Deserialize)]
struct Person {
    identite: Value,
    answer: Answer,
}

pub struct Simulator {
    people: HashMap<Vec<String>, Answer>,
}

/// Matching is exact on every pivot field, after removing accents and case.
fn key(pivot: &Value) -> Vec<String> {
    PIVOT
        .iter()
        .map(|field| match pivot.get(*field) {
            Some(Value::String(s)) => simulation::normal(s),
            _ => String::new(),
        })
        .collect()
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        let people = simulation::keyed(&[PEOPLE, SYNTHETIC_PEOPLE], |p: Person| (key(&p.identite), p.answer));
        Arc::new(Simulator { people })
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/service_national", post(service_national))
        .with_state(simulator)
}

fn technical_error(status: StatusCode, message: &str) -> Response {
    let body = json!({"return_code": "ERREUR_TECHNIQUE", "error_msg": message});
    (status, Json(body)).into_response()
}

async fn service_national(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: String) -> Response {
    if simulation::bearer(&headers) != Some(TOKEN) {
        return technical_error(StatusCode::UNAUTHORIZED, "Jeton d'accès absent ou invalide");
    }
    let json_sent = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let request: Option<Value> = serde_json::from_str(&body).ok();
    let pivot = request
        .as_ref()
        .and_then(|r| r.get("identites_pivot"))
        .and_then(Value::as_array)
        .and_then(|items| match items.as_slice() {
            [only] if only.is_object() => Some(only.clone()),
            _ => None,
        });
    let Some(pivot) = pivot.filter(|_| json_sent) else {
        return technical_error(StatusCode::BAD_REQUEST, "Le format du JSON n'est pas correct");
    };
    match sim.people.get(&key(&pivot)).cloned() {
        Some(answer) => answer.respond(&[]).await,
        None => Json(json!({"return_code": "OK", "results": [{"code": "NON_TROUVE", "identite_pivot": pivot}]}))
            .into_response(),
    }
}
