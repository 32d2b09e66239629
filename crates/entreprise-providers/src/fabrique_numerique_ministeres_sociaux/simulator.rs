//! A simulator of the Fabrique numérique's siret2idcc service: `GET {PATH}/{siret}`,
//! no credential. It answers, as the real one, a JSON array holding one
//! `{"siret", "conventions"}` object, with `conventions: []` for a SIRET it does not
//! know (200 either way); a path segment that is not 14 digits gets a 400 of ours.
//! Its data is `conventions.json`, written by
//! `tools/derive_fabrique_numerique_ministeres_sociaux.py`, with raw answers for
//! failures (SIRETs `99900…`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::{json, Value};

/// The service's path under the simulator's base.
pub const PATH: &str = "/api/v2";

const DATA: &str = include_str!("conventions.json");

#[derive(Deserialize)]
struct Canned {
    siret: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Establishment {
    siret: String,
    conventions: Vec<Value>,
}

#[derive(Deserialize)]
struct Data {
    etablissements: Vec<Establishment>,
    answers: Vec<Canned>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siret: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    conventions: HashMap<String, Vec<Value>>,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            conventions: data
                .etablissements
                .into_iter()
                .map(|e| (e.siret, e.conventions))
                .collect(),
            answers: data.answers.into_iter().map(|c| (c.siret, c.answer)).collect(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The questions received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(&format!("{PATH}/{{siret}}"), get(lookup))
        .with_state(simulator)
}

async fn lookup(State(sim): State<Arc<Simulator>>, Path(siret): Path<String>, headers: HeaderMap) -> Response {
    if siret.len() != 14 || !siret.bytes().all(|b| b.is_ascii_digit()) {
        return (StatusCode::BAD_REQUEST, "Invalid SIRET").into_response();
    }
    sim.seen.lock().expect("call log").push(Seen {
        siret: siret.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    if let Some(canned) = sim.answers.get(&siret) {
        let location = [("location", HeaderName::from_static("location"))];
        return canned.clone().respond(&location).await;
    }
    let conventions = sim.conventions.get(&siret).cloned().unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        json!([{"conventions": conventions, "siret": siret}]).to_string(),
    )
        .into_response()
}
