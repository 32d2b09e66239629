//! A simulator of FNTP's card service: `GET /rip/sgmap/{siren}/cartepro?token=…`. A
//! company it knows gets its card (`application/pdf`, 200); any other the recorded
//! 404 with an empty `text/plain` body; a missing or wrong token a 401 of ours. Its
//! data is `cartes.json` and the card `carte.pdf` (FNTP's recorded one), written by
//! `tools/derive_fntp.py`, with raw answers for failures (SIRENs of ours starting
//! `99999`) that win over the rest.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use passerelle_providers::simulation::Answer;
use serde::Deserialize;

/// The gateway's token the simulator accepts.
pub const TOKEN: &str = "passerelle-demo-fntp";

const DATA: &str = include_str!("cartes.json");
const CARD: &[u8] = include_bytes!("carte.pdf");

#[derive(Deserialize)]
struct Canned {
    id: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    cards: Vec<String>,
    answers: Vec<Canned>,
}

#[derive(Deserialize)]
struct Params {
    token: Option<String>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siren: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    cards: HashSet<String>,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            cards: data.cards.into_iter().collect(),
            answers: data.answers.into_iter().map(|c| (c.id, c.answer)).collect(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The questions received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }

    /// The card the simulator serves.
    pub fn card() -> &'static [u8] {
        CARD
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/rip/sgmap/{siren}/cartepro", get(lookup))
        .with_state(simulator)
}

async fn lookup(
    State(sim): State<Arc<Simulator>>,
    Path(siren): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    if params.token.as_deref() != Some(TOKEN) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::CONTENT_TYPE, "text/plain")],
            "Unauthorized",
        )
            .into_response();
    }
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
    if sim.cards.contains(&siren) {
        (StatusCode::OK, [(header::CONTENT_TYPE, "application/pdf")], CARD).into_response()
    } else {
        (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain")], "").into_response()
    }
}
