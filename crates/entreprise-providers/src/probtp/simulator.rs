//! A simulator of PRO BTP's two services: `POST {PREFIX}/{ATTESTATION}` and
//! `POST {PREFIX}/{STATUT}`, each with the JSON body `{"corps": "<siret>"}`. It answers a
//! known SIRET with its recorded body, an unknown one with PRO BTP's `code 8`, and a
//! body that is not the expected JSON with a 400. Its data is `probtp.json`, written by
//! `tools/derive_probtp.py`, with raw answers for failures (under SIRETs of our own)
//! that both services give alike. The client certificate is checked by the TLS layer
//! in front of it (in tests); the demo serves it over plain HTTP.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::{json, Value};

/// The services' folder under PRO BTP's domain.
pub const PREFIX: &str = "/ws_ext/rest/certauth/mpsservices";
pub const ATTESTATION: &str = "getAttestationCotisation";
pub const STATUT: &str = "getStatutCotisation";

const DATA: &str = include_str!("probtp.json");

#[derive(Deserialize)]
struct Recorded {
    siret: String,
    body: Value,
}

#[derive(Deserialize)]
struct Canned {
    siret: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    services: HashMap<String, Vec<Recorded>>,
    failures: Vec<Canned>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// `getAttestationCotisation` or `getStatutCotisation`.
    pub service: String,
    pub body: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    /// Per service, per SIRET, the recorded body.
    services: HashMap<String, HashMap<String, Value>>,
    failures: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        let services = data
            .services
            .into_iter()
            .map(|(service, records)| (service, records.into_iter().map(|r| (r.siret, r.body)).collect()))
            .collect();
        Arc::new(Simulator {
            services,
            failures: data.failures.into_iter().map(|c| (c.siret, c.answer)).collect(),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The questions received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }

    async fn answer(&self, service: &str, headers: &HeaderMap, body: String) -> Response {
        self.seen.lock().expect("call log").push(Seen {
            service: service.to_string(),
            body: body.clone(),
            content_type: headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        });
        let Some(siret) = corps(&body) else {
            return (StatusCode::BAD_REQUEST, "Bad Request").into_response();
        };
        if let Some(canned) = self.failures.get(&siret) {
            return canned.clone().respond(&[]).await;
        }
        match self.services.get(service).and_then(|known| known.get(&siret)) {
            Some(recorded) => Json(recorded.clone()).into_response(),
            None => Json(json!({"entete": {"code": "8", "message": format!("SIRET {siret} inconnu de nos services")}}))
                .into_response(),
        }
    }
}

/// The SIRET of a `{"corps": "<siret>"}` body.
fn corps(body: &str) -> Option<String> {
    let value: Value = serde_json::from_str(body).ok()?;
    value.get("corps")?.as_str().map(str::to_string)
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(&format!("{PREFIX}/{ATTESTATION}"), post(attestation))
        .route(&format!("{PREFIX}/{STATUT}"), post(statut))
        .with_state(simulator)
}

async fn attestation(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: String) -> Response {
    sim.answer(ATTESTATION, &headers, body).await
}

async fn statut(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: String) -> Response {
    sim.answer(STATUT, &headers, body).await
}
