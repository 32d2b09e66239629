//! A simulator of the CMA France register: `GET /v2/entreprises/{siren}?format=json`,
//! no credential. A SIREN it knows gets its flat JSON record (200); any other gets the
//! register's IIS "not found" page (404, HTML), as recorded; a call without
//! `format=json` gets a 400 of ours. Its data is `rnm.json`, written by
//! `tools/derive_rnm.py`, with raw answers for failures (SIRENs `99900…`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::{Map, Value};

const DATA: &str = include_str!("rnm.json");

#[derive(Deserialize)]
struct Canned {
    siren: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    entreprises: Vec<Map<String, Value>>,
    not_found_page: String,
    answers: Vec<Canned>,
}

#[derive(Deserialize)]
struct Params {
    format: Option<String>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siren: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    records: HashMap<String, Map<String, Value>>,
    not_found_page: String,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        let records = data
            .entreprises
            .into_iter()
            .filter_map(|r| Some((r.get("ent_id_siren")?.as_str()?.to_string(), r)))
            .collect();
        Arc::new(Simulator {
            records,
            not_found_page: data.not_found_page,
            answers: data.answers.into_iter().map(|c| (c.siren, c.answer)).collect(),
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
        .route("/v2/entreprises/{siren}", get(lookup))
        .with_state(simulator)
}

async fn lookup(
    State(sim): State<Arc<Simulator>>,
    Path(siren): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    if params.format.as_deref() != Some("json") {
        return (StatusCode::BAD_REQUEST, "format=json attendu").into_response();
    }
    sim.seen.lock().expect("call log").push(Seen {
        siren: siren.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    if let Some(canned) = sim.answers.get(&siren) {
        let location = [("location", HeaderName::from_static("location"))];
        return canned.clone().respond(&location).await;
    }
    match sim.records.get(&siren) {
        Some(record) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            Value::Object(record.clone()).to_string(),
        )
            .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/html")],
            sim.not_found_page.clone(),
        )
            .into_response(),
    }
}
