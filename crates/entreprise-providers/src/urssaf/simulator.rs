//! A simulator of URSSAF's attestation service: `POST /api/oauth/v1/token` (client
//! credentials in the form, scope `attn.api_entreprise`), then with the bearer
//! `POST /attn/entreprise/v1/demandes/api_entreprise` and a JSON body
//! `{typeAttestation: "AVG_UR", siren, idClient, beneficiaire}`. It answers the PDF in
//! base64 as plain text under a JSON content type, as URSSAF does, or URSSAF's JSON
//! error array (any unknown SIREN gets the recorded `FUNC517`). Its data is
//! `attestations.json` and the documents of `pdfs/` (written by `tools/derive_urssaf.py`);
//! canned `answers` (failure cases) win over documents.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Form, Json, Router};
use base64::Engine;
use passerelle_providers::oauth::ClientAuth;
use passerelle_providers::simulation::{self, Answer, TokenDesk, TokenForm};
use serde::Deserialize;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-urssaf";

const DATA: &str = include_str!("attestations.json");
const SCOPE: &str = "attn.api_entreprise";
const TOKEN_LIFETIME_SECS: u64 = 3600;
/// URSSAF's content type, for its PDFs too.
const JSON_UTF8: &str = "application/json;charset=UTF-8";

/// The documents the data file may name.
fn pdf(name: &str) -> Option<&'static [u8]> {
    Some(match name {
        "basic.pdf" => include_bytes!("pdfs/basic.pdf"),
        "hospital_bug_on_period.pdf" => include_bytes!("pdfs/hospital_bug_on_period.pdf"),
        "valid_multiple_extra_pages.pdf" => include_bytes!("pdfs/valid_multiple_extra_pages.pdf"),
        "micro_entrepreneur.pdf" => include_bytes!("pdfs/micro_entrepreneur.pdf"),
        "unreadable.pdf" => include_bytes!("pdfs/unreadable.pdf"),
        "sandbox_000000001.pdf" => include_bytes!("pdfs/sandbox_000000001.pdf"),
        _ => return None,
    })
}

#[derive(Deserialize)]
struct Document {
    siren: String,
    pdf: String,
}

#[derive(Deserialize)]
struct Canned {
    siren: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Records {
    documents: Vec<Document>,
    answers: Vec<Canned>,
}

/// One attestation request as the simulator received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub siren: String,
    pub id_client: String,
    pub beneficiaire: String,
}

pub struct Simulator {
    /// The base64 text of each company's attestation.
    documents: HashMap<String, String>,
    answers: HashMap<String, Answer>,
    tokens: TokenDesk,
    /// The tokens still honoured (all issued ones, until [`Simulator::revoke_tokens`]).
    live: Mutex<HashSet<String>>,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let records: Records = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        let encode = |name: &str| {
            let bytes = pdf(name).unwrap_or_else(|| panic!("the data file names an unknown PDF {name}"));
            base64::engine::general_purpose::STANDARD.encode(bytes)
        };
        Arc::new(Simulator {
            documents: records
                .documents
                .into_iter()
                .map(|d| (d.siren, encode(&d.pdf)))
                .collect(),
            answers: records.answers.into_iter().map(|c| (c.siren, c.answer)).collect(),
            tokens: TokenDesk::new("urssaf", CLIENT_ID, CLIENT_SECRET, ClientAuth::Form),
            live: Mutex::new(HashSet::new()),
            seen: Mutex::new(Vec::new()),
        })
    }

    /// How many issued tokens are still honoured.
    pub fn live_tokens(&self) -> usize {
        self.live.lock().expect("token table").len()
    }

    /// Forgets every token issued: the next request with an old one gets a 401.
    pub fn revoke_tokens(&self) {
        self.live.lock().expect("token table").clear();
    }

    /// The attestation requests received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/api/oauth/v1/token", post(token))
        .route("/attn/entreprise/v1/demandes/api_entreprise", post(demande))
        .with_state(simulator)
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    if form.scope.as_deref() != Some(SCOPE) {
        let body = json!({"error": "invalid_scope", "error_description": "scope attn.api_entreprise attendu"});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    let Some(access_token) = sim.tokens.issue(&headers, Some(&form), SCOPE) else {
        return simulation::invalid_client("Client authentication failed");
    };
    sim.live.lock().expect("token table").insert(access_token.clone());
    simulation::token_answer(&access_token, TOKEN_LIFETIME_SECS, None)
}

/// URSSAF's error array, under its content type.
fn errors(status: StatusCode, code: &str, message: &str, description: &str) -> Response {
    let body = json!([{"code": code, "message": message, "description": description}]);
    (status, [(header::CONTENT_TYPE, JSON_UTF8)], body.to_string()).into_response()
}

/// The request's fields, if it is the one API Entreprise sends.
fn demand(body: &Value) -> Option<Seen> {
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let digits = |value: &str, len: usize| value.len() == len && value.bytes().all(|b| b.is_ascii_digit());
    let siren = text("siren").filter(|s| digits(s, 9))?;
    let beneficiaire = text("beneficiaire").filter(|s| digits(s, 14))?;
    let id_client = text("idClient").filter(|s| !s.is_empty())?;
    (text("typeAttestation") == Some("AVG_UR")).then(|| Seen {
        siren: siren.into(),
        id_client: id_client.into(),
        beneficiaire: beneficiaire.into(),
    })
}

async fn demande(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: String) -> Response {
    let live = simulation::bearer(&headers).is_some_and(|t| sim.live.lock().expect("token table").contains(t));
    if !live || sim.tokens.scope(&headers).as_deref() != Some(SCOPE) {
        let body = json!({"error": "invalid_token", "error_description": "jeton absent, inconnu ou expiré"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let Some(seen) = serde_json::from_str(&body).ok().as_ref().and_then(demand) else {
        return errors(
            StatusCode::BAD_REQUEST,
            "SIMU400",
            "Requête invalide",
            "typeAttestation AVG_UR, siren, idClient et beneficiaire (SIRET) sont attendus",
        );
    };
    sim.seen.lock().expect("call log").push(seen.clone());
    if let Some(answer) = sim.answers.get(&seen.siren) {
        return answer.clone().respond(&[]).await;
    }
    match sim.documents.get(&seen.siren) {
        Some(encoded) => ([(header::CONTENT_TYPE, JSON_UTF8)], encoded.clone()).into_response(),
        None => errors(
            StatusCode::BAD_REQUEST,
            "FUNC517",
            "Le Siren est inconnu",
            "Le siren est inconnu du SI Attestations, radié ou hors périmètre",
        ),
    }
}
