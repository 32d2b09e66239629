//! A simulator of GIP-MDS's RCD API: `POST /token` (client credentials in the form),
//! then with the bearer `GET /rcd-api/1.0.0/effectifs?codeOPSDemandeur=…&dateHeure=…
//! &source=RA;RG&nature=A0n|M0n&siren|siret=…&periode=…[&profondeurHistorique=n]`,
//! answering a JSON array of headcounts. Its data is `effectifs.json` (written by
//! `tools/derive_gip_mds_effectifs.py`: the headcounts behind the official sandbox
//! cases, the ping's unité légale, our own history and failure cases); canned
//! `answers`, keyed by SIREN (an établissement's are its unité légale's), win over data.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Months, NaiveDate, Utc};
use passerelle_providers::simulation::{self, Answer, TokenForm};
use serde::Deserialize;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-gip-mds";

const DATA: &str = include_str!("effectifs.json");
const TOKEN_LIFETIME_SECS: u64 = 3600;
/// In a canned 429 body, replaced by the time one minute from now.
const NEXT_ACCESS: &str = "{nextAccessTime}";

#[derive(Deserialize)]
struct Canned {
    siren: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    effectifs: Vec<Value>,
    answers: Vec<Canned>,
}

/// One data call as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub query: HashMap<String, String>,
    pub content_type: Option<String>,
}

pub struct Simulator {
    effectifs: Vec<Value>,
    answers: HashMap<String, Answer>,
    tokens: Mutex<HashSet<String>>,
    issued: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        Arc::new(Simulator {
            effectifs: data.effectifs,
            answers: data.answers.into_iter().map(|c| (c.siren, c.answer)).collect(),
            tokens: Mutex::new(HashSet::new()),
            issued: AtomicUsize::new(0),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// Forgets every token issued: the next data call with an old one gets a 401.
    pub fn revoke_tokens(&self) {
        self.tokens.lock().expect("token table").clear();
    }

    pub fn tokens_issued(&self) -> usize {
        self.issued.load(Ordering::SeqCst)
    }

    /// The data calls received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("seen calls").clone()
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        simulation::bearer(headers).is_some_and(|t| self.tokens.lock().expect("token table").contains(t))
    }

    /// The headcounts of `id` (under `key`, `siren` or `siret`) of `nature`, for the
    /// periods `from` to `to`.
    fn find(&self, key: &str, id: &str, nature: &str, from: NaiveDate, to: NaiveDate) -> Vec<Value> {
        self.effectifs
            .iter()
            .filter(|e| text(e, key) == Some(id) && text(e, "nature") == Some(nature))
            .filter(|e| {
                text(e, "periode")
                    .and_then(|p| NaiveDate::parse_from_str(p, "%Y%m%d").ok())
                    .is_some_and(|p| from <= p && p <= to)
            })
            .cloned()
            .collect()
    }
}

fn text<'a>(value: &'a Value, key: &str) -> Option<&'a str> {
    value.get(key).and_then(Value::as_str)
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/rcd-api/1.0.0/effectifs", get(effectifs))
        .with_state(simulator)
}

async fn token(State(simulator): State<Arc<Simulator>>, Form(form): Form<TokenForm>) -> Response {
    let known = form.client_id.as_deref() == Some(CLIENT_ID)
        && form.client_secret.as_deref() == Some(CLIENT_SECRET)
        && form.grant_type.as_deref() == Some("client_credentials");
    if !known {
        return simulation::invalid_client("Client authentication failed");
    }
    let token = format!("rcd-{:032x}", rand::random::<u128>());
    simulator.tokens.lock().expect("token table").insert(token.clone());
    simulator.issued.fetch_add(1, Ordering::SeqCst);
    simulation::token_answer(&token, TOKEN_LIFETIME_SECS, Some("am_application_scope default"))
}

/// The API manager's refusal of a bearer it does not know.
fn invalid_credentials() -> Response {
    let body = json!({"code": "900901", "message": "Invalid Credentials", "description": "Invalid Credentials. Make sure you have provided the correct security credentials"});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}

fn bad_request(why: &str) -> Response {
    let body = json!({"code": "KO_PARAMETRE", "message": why});
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// What a data call asks, once its query is checked.
struct Asked {
    key: &'static str,
    id: String,
    nature: String,
    from: NaiveDate,
    to: NaiveDate,
}

fn asked(query: &HashMap<String, String>) -> Result<Asked, &'static str> {
    let get = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    if get("codeOPSDemandeur").is_empty() || get("source") != "RA;RG" {
        return Err("codeOPSDemandeur et source=RA;RG sont obligatoires");
    }
    DateTime::parse_from_rfc3339(get("dateHeure")).map_err(|_| "dateHeure invalide")?;
    let nature = get("nature");
    let to = NaiveDate::parse_from_str(get("periode"), "%Y%m%d").map_err(|_| "periode invalide")?;
    let (key, id, depth) = match nature {
        "A01" | "A02" | "A03" | "A04" if get("periode").ends_with("1231") => ("siren", get("siren"), 0),
        "M01" | "M02" | "M03" | "M04" if get("periode").ends_with("01") => {
            let depth = match query.get("profondeurHistorique") {
                Some(raw) => raw
                    .parse::<u32>()
                    .ok()
                    .filter(|d| *d <= 13)
                    .ok_or("profondeurHistorique invalide")?,
                None => 0,
            };
            ("siret", get("siret"), depth)
        }
        _ => return Err("nature ou periode invalide"),
    };
    let wanted_length = if key == "siren" { 9 } else { 14 };
    if id.len() != wanted_length || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err("identifiant invalide");
    }
    let from = to.checked_sub_months(Months::new(depth)).ok_or("periode invalide")?;
    Ok(Asked {
        key,
        id: id.to_string(),
        nature: nature.to_string(),
        from,
        to,
    })
}

async fn effectifs(
    State(simulator): State<Arc<Simulator>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    simulator.seen.lock().expect("seen calls").push(Seen {
        query: query.clone(),
        content_type: headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    });
    if !simulator.authorized(&headers) {
        return invalid_credentials();
    }
    let asked = match asked(&query) {
        Ok(asked) => asked,
        Err(why) => return bad_request(why),
    };
    if let Some(answer) = simulator.answers.get(&asked.id[..9]).cloned() {
        return canned(answer).respond(&[("location", header::LOCATION)]).await;
    }
    let found = simulator.find(asked.key, &asked.id, &asked.nature, asked.from, asked.to);
    if found.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    Json(Value::Array(found)).into_response()
}

/// A canned answer, its quota time (if any) set to one minute from now.
fn canned(mut answer: Answer) -> Answer {
    if let Some(raw) = answer.raw_body.as_mut() {
        let next = (Utc::now() + chrono::Duration::seconds(60)).format("%Y-%b-%d %H:%M:%S+0000 UTC");
        *raw = raw.replace(NEXT_ACCESS, &next.to_string());
    }
    answer
}
