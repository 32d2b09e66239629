//! A simulator of the CNETP's attestation service:
//! `GET {PATH}?id={client number}&jeton={token}&siren={siren}`. A company it knows gets
//! the recorded attestation (`application/pdf`, the recorded `Content-Disposition`);
//! any other SIREN the recorded 404, whose content type claims a PDF while its body is
//! Latin-1 text; wrong credentials a bare 401. Its data is `cnetp.json` and
//! `attestation.pdf`, written by `tools/derive_cnetp.py`, with canned failures under
//! SIRENs of our own that win over the rest.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use passerelle_providers::simulation::Answer;
use serde::Deserialize;

/// The service's path under the simulator's base.
pub const PATH: &str = "/webservice/doc/attestations/entreprises";
pub const CLIENT_NUMBER: &str = "passerelle-demo";
pub const TOKEN: &str = "jeton-de-demonstration";

const DATA: &str = include_str!("cnetp.json");
const ATTESTATION: &[u8] = include_bytes!("attestation.pdf");

#[derive(Deserialize)]
struct Canned {
    name: String,
    siren: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    known: Vec<String>,
    not_found: String,
    failures: Vec<Canned>,
}

#[derive(Deserialize)]
struct Params {
    id: Option<String>,
    jeton: Option<String>,
    siren: Option<String>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siren: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    known: HashSet<String>,
    not_found: Vec<u8>,
    failures: HashMap<String, Answer>,
    /// Canned failure name → its SIREN, for the tests.
    names: HashMap<String, String>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            known: data.known.into_iter().collect(),
            not_found: latin1(&data.not_found),
            names: data
                .failures
                .iter()
                .map(|c| (c.name.clone(), c.siren.clone()))
                .collect(),
            failures: data.failures.into_iter().map(|c| (c.siren, c.answer)).collect(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The questions received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }

    /// The SIREN of a canned failure (`server_error`, `slow`, …).
    pub fn siren_of(&self, failure: &str) -> Option<String> {
        self.names.get(failure).cloned()
    }

    /// The document served for the companies it knows.
    pub fn attestation() -> &'static [u8] {
        ATTESTATION
    }
}

/// The service writes its French text in Latin-1.
fn latin1(text: &str) -> Vec<u8> {
    text.chars().map(|c| u8::try_from(c).unwrap_or(b'?')).collect()
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new().route(PATH, get(attestation)).with_state(simulator)
}

async fn attestation(State(sim): State<Arc<Simulator>>, Query(params): Query<Params>, headers: HeaderMap) -> Response {
    if params.id.as_deref() != Some(CLIENT_NUMBER) || params.jeton.as_deref() != Some(TOKEN) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let siren = params.siren.unwrap_or_default();
    sim.seen.lock().expect("call log").push(Seen {
        siren: siren.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    if let Some(canned) = sim.failures.get(&siren) {
        return canned.clone().respond(&[]).await;
    }
    if sim.known.contains(&siren) {
        let disposition = "form-data; name=\"attestation.pdf\"; filename=\"attestation.pdf\"";
        let headers = [
            (header::CONTENT_TYPE, "application/pdf"),
            (header::CONTENT_DISPOSITION, disposition),
        ];
        return (StatusCode::OK, headers, ATTESTATION).into_response();
    }
    let content_type = [(header::CONTENT_TYPE, "application/pdf;charset=ISO-8859-1")];
    (StatusCode::NOT_FOUND, content_type, sim.not_found.clone()).into_response()
}
