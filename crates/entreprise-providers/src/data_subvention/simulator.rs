//! A simulator of DataSubvention: `POST /auth/login` (JSON email and password) answers
//! the recorded user with a fresh JWT valid one hour (`user.jwt.token`,
//! `user.jwt.expirateDate`); `GET /association/{id}/grants` with that token in
//! `x-access-token` answers `{"subventions": […]}`, a 404 `{message, code}` for an
//! identifier it does not know, a 401 without a token it issued. Its data is
//! `data_subvention.json`, written by `tools/derive_data_subvention.py`, with raw
//! answers for failures (under RNA numbers of our own) that win over the rest.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{SecondsFormat, Utc};
use passerelle_providers::simulation::Answer;
use serde::Deserialize;
use serde_json::{json, Value};

pub const EMAIL: &str = "passerelle-demo@datasubvention.example";
pub const PASSWORD: &str = "passerelle-demo-password";

const DATA: &str = include_str!("data_subvention.json");

#[derive(Deserialize)]
struct Grants {
    id: String,
    body: Value,
}

#[derive(Deserialize)]
struct Canned {
    id: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    login: Value,
    not_found: Value,
    grants: Vec<Grants>,
    answers: Vec<Canned>,
}

#[derive(Deserialize)]
struct Login {
    email: String,
    password: String,
}

pub struct Simulator {
    login: Value,
    not_found: Value,
    grants: HashMap<String, Value>,
    answers: HashMap<String, Answer>,
    issued: Mutex<HashSet<String>>,
    logins: Mutex<usize>,
    seen: Mutex<Vec<String>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            login: data.login,
            not_found: data.not_found,
            grants: data.grants.into_iter().map(|g| (g.id, g.body)).collect(),
            answers: data.answers.into_iter().map(|c| (c.id, c.answer)).collect(),
            issued: Mutex::new(HashSet::new()),
            logins: Mutex::new(0),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// How many logins succeeded so far.
    pub fn logins(&self) -> usize {
        *self.logins.lock().expect("login count")
    }

    /// The identifiers asked for with a valid token, in order.
    pub fn seen(&self) -> Vec<String> {
        self.seen.lock().expect("call log").clone()
    }

    /// Forgets every token issued, as when DataSubvention's own sessions end.
    pub fn revoke_tokens(&self) {
        self.issued.lock().expect("tokens").clear();
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/auth/login", post(login))
        .route("/association/{id}/grants", get(grants))
        .with_state(simulator)
}

fn refusal(message: &str) -> Response {
    let body = json!({"message": message, "code": 401});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

async fn login(State(sim): State<Arc<Simulator>>, Json(form): Json<Login>) -> Response {
    if form.email != EMAIL || form.password != PASSWORD {
        return refusal("Email or password incorrect");
    }
    let mut count = sim.logins.lock().expect("login count");
    *count += 1;
    let token = format!("ds-{}-{}", *count, rand::random::<u64>());
    sim.issued.lock().expect("tokens").insert(token.clone());
    let expiry = (Utc::now() + chrono::Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut answer = sim.login.clone();
    answer["user"]["email"] = json!(EMAIL);
    answer["user"]["jwt"] = json!({"expirateDate": expiry, "token": token});
    Json(answer).into_response()
}

async fn grants(State(sim): State<Arc<Simulator>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let token = headers.get("x-access-token").and_then(|v| v.to_str().ok());
    if !token.is_some_and(|t| sim.issued.lock().expect("tokens").contains(t)) {
        return refusal("Unauthorized");
    }
    sim.seen.lock().expect("call log").push(id.clone());
    if let Some(canned) = sim.answers.get(&id) {
        let location = [("location", HeaderName::from_static("location"))];
        return canned.clone().respond(&location).await;
    }
    match sim.grants.get(&id) {
        Some(body) => Json(body).into_response(),
        None => {
            let mut body = sim.not_found.clone();
            body["message"] = json!(format!("Association {id} not found"));
            body["code"] = json!(404);
            (StatusCode::NOT_FOUND, Json(body)).into_response()
        }
    }
}
