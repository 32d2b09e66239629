//! A simulator of MSA's conformity service: `GET {PATH}/{siret}`, no credential. It
//! answers `{"TopRMPResponse": {"identifiantDebiteur", "topRegMarchePublic"}}` (200)
//! for every SIRET, with the letter `S` for one it does not know, as MSA does. Its
//! data is `msa.json`, written by `tools/derive_msa.py`, with raw answers for failures
//! (under SIRETs of our own) that win over the letters.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::json;

/// The service's path under the simulator's base.
pub const PATH: &str = "/conformites_cotisations";

const DATA: &str = include_str!("msa.json");

#[derive(Deserialize)]
struct Letter {
    siret: String,
    #[serde(rename = "topRegMarchePublic")]
    letter: String,
}

#[derive(Deserialize)]
struct Canned {
    siret: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    letters: Vec<Letter>,
    answers: Vec<Canned>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siret: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    letters: HashMap<String, String>,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            letters: data.letters.into_iter().map(|l| (l.siret, l.letter)).collect(),
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
    sim.seen.lock().expect("call log").push(Seen {
        siret: siret.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    if let Some(canned) = sim.answers.get(&siret) {
        return canned.clone().respond(&[]).await;
    }
    let letter = sim.letters.get(&siret).map_or("S", String::as_str);
    Json(json!({"TopRMPResponse": {"identifiantDebiteur": siret, "topRegMarchePublic": letter}})).into_response()
}
