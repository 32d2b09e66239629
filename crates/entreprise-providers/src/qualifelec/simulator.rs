//! A simulator of Qualifelec's API. `POST {LOGIN_PATH}` with the JSON account answers
//! `{"token": "<JWT>"}` (RS256 header, `exp` an hour away by default; the signature is
//! random bytes, nobody checks it); a wrong account gets the recorded 401. `GET
//! {CERTIFICATES_PATH}/{siret}` with a token it issued answers the establishment's
//! certificates as a JSON list (200), the recorded `Siret inconnu` (404) for one it
//! does not know, a 401 without a valid token. Its data is `certificats.json`, written
//! by `tools/derive_qualifelec.py`, with raw answers for failures (SIRETs of ours
//! starting `99999`) that win over the rest.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use passerelle_providers::simulation::{bearer, Answer};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};

pub const LOGIN_PATH: &str = "/api/login_check";
pub const CERTIFICATES_PATH: &str = "/api/certificates";
pub const USERNAME: &str = "passerelle-demo";
pub const PASSWORD: &str = "demo-password";

const DATA: &str = include_str!("certificats.json");

#[derive(Deserialize)]
struct Known {
    siret: String,
    certificates: Value,
}

#[derive(Deserialize)]
struct Canned {
    id: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    establishments: Vec<Known>,
    not_found: Value,
    unauthorized: Value,
    answers: Vec<Canned>,
}

#[derive(Deserialize)]
struct Account {
    username: Option<String>,
    password: Option<String>,
}

/// What the simulator has been asked, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen {
    Login,
    Certificates {
        siret: String,
        content_type: Option<String>,
    },
}

pub struct Simulator {
    establishments: HashMap<String, Value>,
    not_found: Value,
    unauthorized: Value,
    answers: HashMap<String, Answer>,
    token_lifetime_secs: u64,
    issued: Mutex<HashSet<String>>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        Self::with_token_lifetime(3600)
    }

    /// The simulator issuing tokens that expire after `secs`.
    pub fn with_token_lifetime(secs: u64) -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            establishments: data
                .establishments
                .into_iter()
                .map(|k| (k.siret, k.certificates))
                .collect(),
            not_found: data.not_found,
            unauthorized: data.unauthorized,
            answers: data.answers.into_iter().map(|c| (c.id, c.answer)).collect(),
            token_lifetime_secs: secs,
            issued: Mutex::new(HashSet::new()),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// What was asked so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }

    /// Forgets every token issued, as a server restart would.
    pub fn revoke_tokens(&self) {
        self.issued.lock().expect("tokens").clear();
    }

    fn note(&self, seen: Seen) {
        self.seen.lock().expect("call log").push(seen);
    }

    /// A JWT-shaped token: RS256 header, `exp` claim, random signature.
    fn issue(&self) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claims = json!({"iat": now, "exp": now + self.token_lifetime_secs, "username": USERNAME});
        let mut signature = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut signature);
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        );
        self.issued.lock().expect("tokens").insert(token.clone());
        token
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(LOGIN_PATH, post(login))
        .route(&format!("{CERTIFICATES_PATH}/{{siret}}"), get(lookup))
        .with_state(simulator)
}

async fn login(State(sim): State<Arc<Simulator>>, body: axum::body::Bytes) -> Response {
    sim.note(Seen::Login);
    let account: Option<Account> = serde_json::from_slice(&body).ok();
    let known =
        account.is_some_and(|a| a.username.as_deref() == Some(USERNAME) && a.password.as_deref() == Some(PASSWORD));
    if !known {
        return json_answer(StatusCode::UNAUTHORIZED, &sim.unauthorized);
    }
    json_answer(StatusCode::OK, &json!({"token": sim.issue()}))
}

async fn lookup(State(sim): State<Arc<Simulator>>, Path(siret): Path<String>, headers: HeaderMap) -> Response {
    let valid = bearer(&headers).is_some_and(|t| sim.issued.lock().expect("tokens").contains(t));
    if !valid {
        return json_answer(StatusCode::UNAUTHORIZED, &sim.unauthorized);
    }
    sim.note(Seen::Certificates {
        siret: siret.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    if let Some(canned) = sim.answers.get(&siret) {
        return canned.clone().respond(&[]).await;
    }
    match sim.establishments.get(&siret) {
        Some(certificates) => json_answer(StatusCode::OK, certificates),
        None => json_answer(StatusCode::NOT_FOUND, &sim.not_found),
    }
}

fn json_answer(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}
