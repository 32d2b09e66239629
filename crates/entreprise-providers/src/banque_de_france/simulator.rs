//! A simulator of the Banque de France's bilans service: `GET /{siren}`, no credential
//! but the client certificate (checked by the TLS layer in front of it, in tests; the
//! demo serves it over plain HTTP). A company it knows gets its recorded body, with its
//! bilans in thousands of euros; any other gets the service's "no data" body (HTTP
//! 200, `code-retour` 204, `bilans: null`). Its data is `bilans.json`, written by
//! `tools/derive_banque_de_france.py`, with raw answers for failures (SIRENs of ours
//! starting `99999`) that win over the rest. The dictionaries of the bilan years are
//! the DGFIP simulator's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::{json, Value};

const DATA: &str = include_str!("bilans.json");

#[derive(Deserialize)]
struct Known {
    siren: String,
    answer: Value,
}

#[derive(Deserialize)]
struct Canned {
    id: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    companies: Vec<Known>,
    answers: Vec<Canned>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siren: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    companies: HashMap<String, Value>,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            companies: data.companies.into_iter().map(|k| (k.siren, k.answer)).collect(),
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
    Router::new().route("/{siren}", get(bilans)).with_state(simulator)
}

async fn bilans(State(sim): State<Arc<Simulator>>, Path(siren): Path<String>, headers: HeaderMap) -> Response {
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
    match sim.companies.get(&siren) {
        Some(answer) => Json(answer.clone()).into_response(),
        None => Json(no_data(&siren)).into_response(),
    }
}

/// The service's answer for a company it has no bilans of (its recorded shape).
fn no_data(siren: &str) -> Value {
    json!({
        "siren": siren,
        "denominationSociale": null,
        "code-retour": 204,
        "message": "Pas de donnees",
        "date": "17 mai 2018 13:08:11",
        "monnaie": "kEuros",
        "bilans": null,
    })
}
