//! A simulator of CARIF-OREF's Quiforme service: `GET /organisme/{siret}` with the
//! `token-connexion` header. It answers the organisation's record (200) for a SIRET it
//! knows and, as Quiforme does, a 200 whose every member is null for any other; a
//! missing or wrong token gets a 401 `{"detail": …}` of ours. Its data is
//! `quiforme.json`, written by `tools/derive_carif_oref.py`, with raw answers for
//! failures (under SIRETs of our own) that win over the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub const TOKEN: &str = "passerelle-demo-quiforme";

const DATA: &str = include_str!("quiforme.json");

#[derive(Deserialize)]
struct Canned {
    siret: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    organismes: Vec<Map<String, Value>>,
    no_data: Value,
    answers: Vec<Canned>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siret: String,
    pub accept: Option<String>,
}

pub struct Simulator {
    organismes: HashMap<String, Map<String, Value>>,
    no_data: Value,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        let organismes = data
            .organismes
            .into_iter()
            .filter_map(|r| Some((r.get("siret_actif")?.as_str()?.to_string(), r)))
            .collect();
        Arc::new(Simulator {
            organismes,
            no_data: data.no_data,
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
        .route("/organisme/{siret}", get(lookup))
        .with_state(simulator)
}

async fn lookup(State(sim): State<Arc<Simulator>>, Path(siret): Path<String>, headers: HeaderMap) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    if header("token-connexion").as_deref() != Some(TOKEN) {
        let refusal = json!({"detail": "Token de connexion invalide"});
        return (StatusCode::UNAUTHORIZED, Json(refusal)).into_response();
    }
    sim.seen.lock().expect("call log").push(Seen {
        siret: siret.clone(),
        accept: header("accept"),
    });
    if let Some(canned) = sim.answers.get(&siret) {
        let location = [("location", HeaderName::from_static("location"))];
        return canned.clone().respond(&location).await;
    }
    match sim.organismes.get(&siret) {
        Some(record) => Json(record).into_response(),
        None => Json(sim.no_data.clone()).into_response(),
    }
}
