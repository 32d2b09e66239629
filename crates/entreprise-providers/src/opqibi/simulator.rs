//! A simulator of OPQIBI's certificate service: `GET {PATH}/{siren}`, no credential. A
//! company it knows gets its certificate as JSON (200); any other gets the recorded
//! 404, a short French text sent as HTML. Its data is `certificats.json`, written by
//! `tools/derive_opqibi.py`, with raw answers for failures (SIRENs of ours starting
//! `99999`) that win over the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::Value;

/// The service's path under the simulator's base.
pub const PATH: &str = "/certificats";

const DATA: &str = include_str!("certificats.json");

#[derive(Deserialize)]
struct Known {
    siren: String,
    certificate: Value,
}

#[derive(Deserialize)]
struct Canned {
    id: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    certificates: Vec<Known>,
    not_found: String,
    answers: Vec<Canned>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siren: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    certificates: HashMap<String, Value>,
    not_found: String,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            certificates: data
                .certificates
                .into_iter()
                .map(|k| (k.siren, k.certificate))
                .collect(),
            not_found: data.not_found,
            answers: data.answers.into_iter().map(|c| (c.id, c.answer)).collect(),
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
        .route(&format!("{PATH}/{{siren}}"), get(lookup))
        .with_state(simulator)
}

async fn lookup(State(sim): State<Arc<Simulator>>, Path(siren): Path<String>, headers: HeaderMap) -> Response {
    sim.seen.lock().expect("call log").push(Seen {
        siren: siren.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    if let Some(canned) = sim.answers.get(&siren) {
        return canned.clone().respond(&[]).await;
    }
    match sim.certificates.get(&siren) {
        Some(certificate) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            certificate.to_string(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            sim.not_found.clone(),
        )
            .into_response(),
    }
}
