//! A simulator of INPI's RNE API. `POST {LOGIN_PATH}` with one of its two accounts
//! answers `{"token": "<JWT>", "user": …}` (`exp` an hour away by default, a random
//! signature); a wrong account, or one it was told to refuse, gets INPI's 401. With a
//! token it issued: `GET /api/companies/{siren}` the company (404 when unknown),
//! `GET /api/companies/{siren}/attachments` its actes and bilans (404 when unknown),
//! `GET /api/actes/{id}/download` and `/api/bilans/{id}/download` a small PDF for a
//! document it lists (404 otherwise), and, standing for `data.inpi.fr`,
//! `GET {EXPORT_PATH}?format=pdf&ids=["{siren}"]` the extrait PDF of a company it
//! knows. Its data is `rne.json`, written by `tools/derive_inpi_rne.py`, with canned
//! answers (SIRENs `99998…`, document ids `ffff…`) that win over the rest.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use passerelle_providers::simulation::{bearer, Answer};
use rand::RngCore;
use serde::Deserialize;
use serde_json::{json, Value};

pub const LOGIN_PATH: &str = "/api/sso/login";
pub const EXPORT_PATH: &str = "/export/companies";
/// The two accounts, as the settings' primary and fallback.
pub const USERNAME: &str = "passerelle-demo@example.org";
pub const PASSWORD: &str = "demo-password";
pub const FALLBACK_USERNAME: &str = "passerelle-secours@example.org";
pub const FALLBACK_PASSWORD: &str = "secours-password";

const DATA: &str = include_str!("rne.json");

#[derive(Deserialize)]
struct Company {
    siren: String,
    company: Value,
}

#[derive(Deserialize)]
struct Attachments {
    siren: String,
    attachments: Value,
}

#[derive(Deserialize)]
struct Canned {
    id: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Data {
    companies: Vec<Company>,
    attachments: Vec<Attachments>,
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
    /// A login attempt with this account name.
    Login(String),
    /// A data call (path and query) and the account whose token it carried.
    Data { path: String, account: String },
}

pub struct Simulator {
    companies: HashMap<String, Value>,
    attachments: HashMap<String, Value>,
    documents: HashSet<String>,
    answers: HashMap<String, Answer>,
    token_lifetime_secs: u64,
    refused: Mutex<HashSet<String>>,
    /// Token → account name.
    issued: Mutex<HashMap<String, String>>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        Self::with_token_lifetime(3600)
    }

    /// The simulator issuing tokens that expire after `secs`.
    pub fn with_token_lifetime(secs: u64) -> Arc<Simulator> {
        let data: Data = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        let attachments: HashMap<String, Value> =
            data.attachments.into_iter().map(|a| (a.siren, a.attachments)).collect();
        let documents = attachments.values().flat_map(document_ids).collect();
        Arc::new(Simulator {
            companies: data.companies.into_iter().map(|c| (c.siren, c.company)).collect(),
            attachments,
            documents,
            answers: data.answers.into_iter().map(|c| (c.id, c.answer)).collect(),
            token_lifetime_secs: secs,
            refused: Mutex::new(HashSet::new()),
            issued: Mutex::new(HashMap::new()),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// Test hook: refuses (401) the account `username` at login from now on.
    pub fn refuse(&self, username: &str) {
        self.refused.lock().expect("refusals").insert(username.to_string());
    }

    /// Test hook: accepts every known account again.
    pub fn accept_all(&self) {
        self.refused.lock().expect("refusals").clear();
    }

    /// Forgets every token issued, as a server restart would.
    pub fn revoke_tokens(&self) {
        self.issued.lock().expect("tokens").clear();
    }

    /// What was asked so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }

    fn note(&self, seen: Seen) {
        self.seen.lock().expect("call log").push(seen);
    }

    fn knows(&self, username: &str, password: &str) -> bool {
        let known = [(USERNAME, PASSWORD), (FALLBACK_USERNAME, FALLBACK_PASSWORD)].contains(&(username, password));
        known && !self.refused.lock().expect("refusals").contains(username)
    }

    /// A JWT-shaped token: RS256 header, `exp` claim, random signature.
    fn issue(&self, username: &str) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claims = json!({"iat": now, "exp": now + self.token_lifetime_secs, "username": username});
        let mut signature = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut signature);
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"RS256"}"#),
            URL_SAFE_NO_PAD.encode(claims.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        );
        self.issued
            .lock()
            .expect("tokens")
            .insert(token.clone(), username.to_string());
        token
    }

    /// The account behind the request's bearer, noting the call; `None` without a
    /// token it issued.
    fn caller(&self, headers: &HeaderMap, path: String) -> Option<String> {
        let account = bearer(headers).and_then(|t| self.issued.lock().expect("tokens").get(t).cloned())?;
        self.note(Seen::Data {
            path,
            account: account.clone(),
        });
        Some(account)
    }
}

fn document_ids(attachments: &Value) -> Vec<String> {
    ["actes", "bilans"]
        .iter()
        .filter_map(|kind| attachments[kind].as_array())
        .flatten()
        .filter_map(|item| item["id"].as_str().map(str::to_string))
        .collect()
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(LOGIN_PATH, post(login))
        .route("/api/companies/{siren}", get(company))
        .route("/api/companies/{siren}/attachments", get(attachments))
        .route("/api/actes/{id}/download", get(acte))
        .route("/api/bilans/{id}/download", get(bilan))
        .route(EXPORT_PATH, get(export))
        .with_state(simulator)
}

async fn login(State(sim): State<Arc<Simulator>>, body: axum::body::Bytes) -> Response {
    let account: Option<Account> = serde_json::from_slice(&body).ok();
    let (username, password) = account
        .map(|a| (a.username.unwrap_or_default(), a.password.unwrap_or_default()))
        .unwrap_or_default();
    sim.note(Seen::Login(username.clone()));
    if !sim.knows(&username, &password) {
        return json_answer(
            StatusCode::UNAUTHORIZED,
            &json!({"code": 401, "message": "Invalid credentials."}),
        );
    }
    let user = json!({"roles": ["ROLE_NIVEAU_1_COMPANIES_METADATA", "ROLE_NIVEAU_1_ACTES_PDF", "ROLE_NIVEAU_1_BILANS_PDF", "ROLE_API"], "email": username, "active": true});
    json_answer(StatusCode::OK, &json!({"token": sim.issue(&username), "user": user}))
}

fn unauthorized() -> Response {
    json_answer(
        StatusCode::UNAUTHORIZED,
        &json!({"code": 401, "message": "JWT Token not found"}),
    )
}

fn not_found() -> Response {
    json_answer(
        StatusCode::NOT_FOUND,
        &json!({"code": "404", "errorCode": "404", "message": "Impossible de trouver la ressource demandée", "type": "notFound"}),
    )
}

async fn canned(sim: &Simulator, id: &str) -> Option<Response> {
    let answer = sim.answers.get(id)?.clone();
    Some(
        answer
            .respond(&[("location", HeaderName::from_static("location"))])
            .await,
    )
}

async fn company(State(sim): State<Arc<Simulator>>, Path(siren): Path<String>, headers: HeaderMap) -> Response {
    if sim.caller(&headers, format!("/api/companies/{siren}")).is_none() {
        return unauthorized();
    }
    if let Some(answer) = canned(&sim, &siren).await {
        return answer;
    }
    match sim.companies.get(&siren) {
        Some(company) => json_answer(StatusCode::OK, company),
        None => not_found(),
    }
}

async fn attachments(State(sim): State<Arc<Simulator>>, Path(siren): Path<String>, headers: HeaderMap) -> Response {
    if sim
        .caller(&headers, format!("/api/companies/{siren}/attachments"))
        .is_none()
    {
        return unauthorized();
    }
    if let Some(answer) = canned(&sim, &siren).await {
        return answer;
    }
    match sim.attachments.get(&siren) {
        Some(attachments) => json_answer(StatusCode::OK, attachments),
        None => not_found(),
    }
}

async fn acte(state: State<Arc<Simulator>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    document(state, "actes", id, headers).await
}

async fn bilan(state: State<Arc<Simulator>>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    document(state, "bilans", id, headers).await
}

async fn document(State(sim): State<Arc<Simulator>>, kind: &str, id: String, headers: HeaderMap) -> Response {
    if sim.caller(&headers, format!("/api/{kind}/{id}/download")).is_none() {
        return unauthorized();
    }
    if let Some(answer) = canned(&sim, &id).await {
        return answer;
    }
    if !sim.documents.contains(&id) {
        return not_found();
    }
    pdf_answer(&format!("INPI {kind} {id}"))
}

#[derive(Deserialize)]
struct Export {
    format: Option<String>,
    ids: Option<String>,
}

/// data.inpi.fr's export: `ids` is a JSON list of one SIREN.
async fn export(State(sim): State<Arc<Simulator>>, Query(export): Query<Export>, headers: HeaderMap) -> Response {
    let ids = export.ids.clone().unwrap_or_default();
    if sim.caller(&headers, format!("{EXPORT_PATH}?ids={ids}")).is_none() {
        return unauthorized();
    }
    let siren = serde_json::from_str::<Vec<String>>(&ids)
        .ok()
        .and_then(|ids| ids.into_iter().next());
    let Some(siren) = siren.filter(|_| export.format.as_deref() == Some("pdf")) else {
        return (StatusCode::BAD_REQUEST, "format=pdf&ids=[\"<siren>\"] attendus").into_response();
    };
    if let Some(answer) = canned(&sim, &siren).await {
        return answer;
    }
    if !sim.companies.contains_key(&siren) {
        return not_found();
    }
    pdf_answer(&format!("Extrait RNE {siren}"))
}

fn json_answer(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn pdf_answer(text: &str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/pdf")],
        tiny_pdf(text),
    )
        .into_response()
}

/// A one-page PDF showing `text` (ASCII, no parentheses), with a correct cross-reference
/// table, so that PDF readers open it.
pub fn tiny_pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut pdf = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, object) in objects.iter().enumerate() {
        offsets.push(pdf.len());
        pdf.extend(format!("{} 0 obj\n{object}\nendobj\n", i + 1).bytes());
    }
    let xref = pdf.len();
    pdf.extend(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).bytes());
    for offset in offsets {
        pdf.extend(format!("{offset:010} 00000 n \n").bytes());
    }
    pdf.extend(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .bytes(),
    );
    pdf
}
