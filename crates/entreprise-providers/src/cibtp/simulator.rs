//! A simulator of the CIBTP's attestation service. `POST {TOKEN_PATH}` with the JSON
//! `{"client_id", "client_secret"}` issues a bearer token (the recorded answer's
//! shape); `GET {ATTESTATION_PATH}?siret=…` with it answers the recorded attestation
//! (`application/pdf`, an attachment file name) for an establishment it knows, the
//! recorded 422 for the company behind in its contributions, the recorded 404 for any
//! other SIRET, and a bare 401 without a token it issued. Its data is `cibtp.json` and
//! `attestation.pdf`, written by `tools/derive_cibtp.py`, with canned failures under
//! SIRETs of our own that win over the rest.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use passerelle_providers::simulation::{bearer, Answer};
use serde::Deserialize;
use serde_json::{json, Value};

pub const TOKEN_PATH: &str = "/apientreprise/token";
pub const ATTESTATION_PATH: &str = "/apientreprise/attestationmarche";
pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "secret-de-demonstration";

/// The recorded lifetime of a token.
const TOKEN_SECS: u64 = 3599;

const DATA: &str = include_str!("cibtp.json");
const ATTESTATION: &[u8] = include_bytes!("attestation.pdf");

#[derive(Deserialize)]
struct Canned {
    name: String,
    siret: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Unpaid {
    siret: String,
    body: Value,
}

#[derive(Deserialize)]
struct Data {
    known: Vec<String>,
    not_found: Value,
    unpaid: Unpaid,
    failures: Vec<Canned>,
}

#[derive(Deserialize)]
struct Credentials {
    client_id: Option<String>,
    client_secret: Option<String>,
}

#[derive(Deserialize)]
struct Params {
    siret: Option<String>,
}

/// One attestation question as the simulator received it, with a token it issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siret: String,
    pub content_type: Option<String>,
}

pub struct Simulator {
    known: HashSet<String>,
    not_found: Value,
    unpaid: Unpaid,
    failures: HashMap<String, Answer>,
    /// Canned failure name → its SIRET, for the tests.
    names: HashMap<String, String>,
    tokens: Mutex<HashSet<String>>,
    tokens_issued: Mutex<usize>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            known: data.known.into_iter().collect(),
            not_found: data.not_found,
            unpaid: data.unpaid,
            names: data
                .failures
                .iter()
                .map(|c| (c.name.clone(), c.siret.clone()))
                .collect(),
            failures: data.failures.into_iter().map(|c| (c.siret, c.answer)).collect(),
            tokens: Mutex::new(HashSet::new()),
            tokens_issued: Mutex::new(0),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The attestation questions received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }

    /// How many tokens were issued.
    pub fn tokens_issued(&self) -> usize {
        *self.tokens_issued.lock().expect("token count")
    }

    /// Forgets every token issued, as a restarted service would.
    pub fn revoke_tokens(&self) {
        self.tokens.lock().expect("token table").clear();
    }

    /// The SIRET of a canned failure (`conflict`, `slow`, …).
    pub fn siret_of(&self, failure: &str) -> Option<String> {
        self.names.get(failure).cloned()
    }

    /// The SIRET of the company behind in its contributions.
    pub fn unpaid_siret(&self) -> &str {
        &self.unpaid.siret
    }

    /// The document served for the establishments it knows.
    pub fn attestation() -> &'static [u8] {
        ATTESTATION
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(TOKEN_PATH, post(token))
        .route(ATTESTATION_PATH, get(attestation))
        .with_state(simulator)
}

/// The body must be JSON, said so; wrong credentials get a JSON refusal without a token.
async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: Bytes) -> Response {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let known = json
        && serde_json::from_slice::<Credentials>(&body).is_ok_and(|c| {
            c.client_id.as_deref() == Some(CLIENT_ID) && c.client_secret.as_deref() == Some(CLIENT_SECRET)
        });
    if !known {
        let refusal = json!({"type": "Technique", "message": "Identifiants invalides"});
        return (StatusCode::UNAUTHORIZED, Json(refusal)).into_response();
    }
    let access_token = format!("cibtp-{:032x}", rand::random::<u128>());
    sim.tokens.lock().expect("token table").insert(access_token.clone());
    *sim.tokens_issued.lock().expect("token count") += 1;
    let answer = json!({"token_type": "Bearer", "expires_in": TOKEN_SECS,
        "ext_expires_in": TOKEN_SECS, "access_token": access_token});
    (StatusCode::OK, Json(answer)).into_response()
}

async fn attestation(State(sim): State<Arc<Simulator>>, Query(params): Query<Params>, headers: HeaderMap) -> Response {
    let issued = bearer(&headers).is_some_and(|t| sim.tokens.lock().expect("token table").contains(t));
    if !issued {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let siret = params.siret.unwrap_or_default();
    sim.seen.lock().expect("call log").push(Seen {
        siret: siret.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    if let Some(canned) = sim.failures.get(&siret) {
        return canned.clone().respond(&[]).await;
    }
    if sim.known.contains(&siret) {
        let disposition = format!("attachment; filename=ATT_MPUBLIC_{siret}.pdf");
        let headers = [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ];
        return (StatusCode::OK, headers, ATTESTATION).into_response();
    }
    if siret == sim.unpaid.siret {
        return (StatusCode::UNPROCESSABLE_ENTITY, Json(sim.unpaid.body.clone())).into_response();
    }
    (StatusCode::NOT_FOUND, Json(sim.not_found.clone())).into_response()
}
