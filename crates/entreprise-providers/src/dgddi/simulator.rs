//! A simulator of the customs' EORI service: `GET {PATH}/{identifier}?idClient=…`,
//! the identifier a SIRET (read as `FR` + SIRET) or an EORI number. It answers
//! `{"EORI": {…}}` (200) for a number it knows, the recorded `erreur` bodies
//! otherwise: `FONC001` (404) for an unknown number, `TECH002` (400) for one that is
//! no EORI (two letters, then up to 15 letters or digits); a missing or wrong client
//! id gets a 401 of ours. Its data is `douanes.json`, written by
//! `tools/derive_dgddi.py`, with raw answers for failures (`ZZ…`) that win over the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// The service's path under the simulator's base.
pub const PATH: &str = "/eori";
pub const CLIENT_ID: &str = "passerelle-demo";

const DATA: &str = include_str!("douanes.json");

#[derive(Deserialize)]
struct Canned {
    id: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    eori: Vec<Map<String, Value>>,
    not_found: Value,
    bad_format: Value,
    answers: Vec<Canned>,
}

#[derive(Deserialize)]
struct Params {
    #[serde(rename = "idClient")]
    id_client: Option<String>,
}

/// One question as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub identifier: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    records: HashMap<String, Map<String, Value>>,
    not_found: Value,
    bad_format: Value,
    answers: HashMap<String, Answer>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        let records = data
            .eori
            .into_iter()
            .filter_map(|r| Some((r.get("identifiant")?.as_str()?.to_string(), r)))
            .collect();
        Arc::new(Simulator {
            records,
            not_found: data.not_found,
            bad_format: data.bad_format,
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
        .route(&format!("{PATH}/{{identifier}}"), get(lookup))
        .with_state(simulator)
}

async fn lookup(
    State(sim): State<Arc<Simulator>>,
    Path(identifier): Path<String>,
    Query(params): Query<Params>,
    headers: HeaderMap,
) -> Response {
    if params.id_client.as_deref() != Some(CLIENT_ID) {
        return json_answer(
            StatusCode::UNAUTHORIZED,
            json!({"erreur": {"status": "401",
            "message": "Unauthorized", "code": "TECH001", "libelle": "Client non autorisé"}}),
        );
    }
    sim.seen.lock().expect("call log").push(Seen {
        identifier: identifier.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    let number = eori_of(&identifier);
    if !is_eori(&number) {
        return json_answer(StatusCode::BAD_REQUEST, sim.bad_format.clone());
    }
    if let Some(canned) = sim.answers.get(&number) {
        let location = [("location", HeaderName::from_static("location"))];
        return canned.clone().respond(&location).await;
    }
    match sim.records.get(&number) {
        Some(record) => json_answer(StatusCode::OK, json!({ "EORI": record })),
        None => {
            let mut body = sim.not_found.clone();
            body["erreur"]["libelle"] = json!(format!("EORI {number} inconnu"));
            json_answer(StatusCode::NOT_FOUND, body)
        }
    }
}

/// A SIRET is the French EORI `FR` + SIRET.
fn eori_of(identifier: &str) -> String {
    if identifier.len() == 14 && identifier.bytes().all(|b| b.is_ascii_digit()) {
        format!("FR{identifier}")
    } else {
        identifier.to_string()
    }
}

/// Two capital letters, then 1 to 15 letters or digits.
fn is_eori(number: &str) -> bool {
    let bytes = number.as_bytes();
    bytes.len() >= 3
        && bytes.len() <= 17
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..].iter().all(u8::is_ascii_alphanumeric)
}

/// A JSON answer with the service's content type.
fn json_answer(status: StatusCode, body: Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=UTF-8")],
        body.to_string(),
    )
        .into_response()
}
