//! A simulator of Qualibat's certificate API: `POST /token` with HTTP basic
//! credentials and no body answers `{access_token, token_type: "bearer", expires_in:
//! 1800.0}`; `GET /certificat/{siret}` with the bearer answers the certificate PDF
//! (`application/pdf`, as an attachment), or, for a company it does not certify,
//! Qualibat's JSON `{"status_code":404,...}` under a 200. Its data is
//! `certificats.json` and the documents of `pdfs/` (written by
//! `tools/derive_qualibat.py`); canned `answers` (failure cases) win over documents.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use passerelle_providers::oauth::ClientAuth;
use passerelle_providers::simulation::{self, Answer, TokenDesk};
use serde::Deserialize;
use serde_json::json;

pub const USERNAME: &str = "passerelle-demo";
pub const PASSWORD: &str = "demo-secret-qualibat";

const DATA: &str = include_str!("certificats.json");
const TOKEN_LIFETIME_SECS: f64 = 1800.0;

/// The documents the data file may name.
fn pdf(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "exemple-qualibat.pdf" => include_bytes!("pdfs/exemple-qualibat.pdf"),
        "one_page.pdf" => include_bytes!("pdfs/one_page.pdf"),
        "two_pages_rge.pdf" => include_bytes!("pdfs/two_pages_rge.pdf"),
        "amiante.pdf" => include_bytes!("pdfs/amiante.pdf"),
        _ => return None,
    })
}

#[derive(Deserialize)]
struct Document {
    siret: String,
    pdf: String,
}

#[derive(Deserialize)]
struct Canned {
    siret: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Records {
    documents: Vec<Document>,
    answers: Vec<Canned>,
}

pub struct Simulator {
    documents: HashMap<String, &'static [u8]>,
    answers: HashMap<String, Answer>,
    tokens: TokenDesk,
    /// The tokens still honoured (all issued ones, until [`Simulator::revoke_tokens`]).
    live: Mutex<HashSet<String>>,
    /// How many tokens were asked for, granted or not.
    token_calls: Mutex<usize>,
    /// The SIRETs asked for with a valid token, in order.
    seen: Mutex<Vec<String>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let records: Records = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        let document = |d: Document| {
            let bytes = pdf(&d.pdf).unwrap_or_else(|| panic!("the data file names an unknown PDF {}", d.pdf));
            (d.siret, bytes)
        };
        Arc::new(Simulator {
            documents: records.documents.into_iter().map(document).collect(),
            answers: records.answers.into_iter().map(|c| (c.siret, c.answer)).collect(),
            tokens: TokenDesk::new("qualibat", USERNAME, PASSWORD, ClientAuth::Basic),
            live: Mutex::new(HashSet::new()),
            token_calls: Mutex::new(0),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// How many token requests arrived.
    pub fn token_calls(&self) -> usize {
        *self.token_calls.lock().expect("token counter")
    }

    /// Forgets every token issued: the next request with an old one gets a 401.
    pub fn revoke_tokens(&self) {
        self.live.lock().expect("token table").clear();
    }

    /// The SIRETs asked for so far, in order.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("call log").clone()
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/certificat/{siret}", get(certificat))
        .with_state(simulator)
}

/// FastAPI's refusal, the framework Qualibat's API runs on.
fn unauthorized(detail: &str) -> Response {
    (StatusCode::UNAUTHORIZED, Json(json!({"detail": detail}))).into_response()
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: String) -> Response {
    *sim.token_calls.lock().expect("token counter") += 1;
    if !body.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"detail": "no body expected"})),
        )
            .into_response();
    }
    let Some(access_token) = sim.tokens.issue(&headers, None, "") else {
        return unauthorized("Incorrect username or password");
    };
    sim.live.lock().expect("token table").insert(access_token.clone());
    Json(json!({"access_token": access_token, "token_type": "bearer", "expires_in": TOKEN_LIFETIME_SECS}))
        .into_response()
}

async fn certificat(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Path(siret): Path<String>) -> Response {
    let live = simulation::bearer(&headers).is_some_and(|t| sim.live.lock().expect("token table").contains(t));
    if !live {
        return unauthorized("Could not validate credentials");
    }
    sim.seen.lock().expect("call log").push(siret.clone());
    if let Some(answer) = sim.answers.get(&siret) {
        return answer.clone().respond(&[]).await;
    }
    match sim.documents.get(&siret) {
        Some(bytes) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"certificat-{siret}.pdf\""),
                ),
            ],
            bytes.to_vec(),
        )
            .into_response(),
        None => Json(json!({"status_code": 404, "error": "Not Found", "message": "Entreprise non certifiée"}))
            .into_response(),
    }
}
