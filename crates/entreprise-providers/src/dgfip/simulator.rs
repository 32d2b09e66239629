//! A simulator of DGFIP's API manager in front of Adélie: `POST /token` (client
//! credentials, form), then with the bearer, a `userId` query parameter and an
//! `X-Request-ID` header: `GET /adelie/v1/attestationFiscale?siren=…` (the PDF
//! itself), `…/chiffreAffaires?siret=…`, `…/getLiasseFiscale?annee=…&siren=…`,
//! `…/dictionnaire?annee=…` and `…/etatSante`. Its data is `adelie.json` (written by
//! `tools/derive_dgfip.py`: payloads behind the official sandbox cases, the real
//! service's recorded payloads, our own error cases) and the two PDFs of `pdfs/` (the
//! real service's test documents: an attestation and the refusal page). Canned
//! `answers` win over records.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use passerelle_providers::simulation::{self, Answer, TokenForm};
use serde::Deserialize;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-dgfip";

const DATA: &str = include_str!("adelie.json");
const ATTESTATION: &[u8] = include_bytes!("pdfs/basic.pdf");
const REFUSAL: &[u8] = include_bytes!("pdfs/not_delivered.pdf");
const TOKEN_LIFETIME_SECS: u64 = 3600;

#[derive(Deserialize)]
struct Attestation {
    siren: String,
    document: String,
}

#[derive(Deserialize)]
struct ChiffresAffaires {
    siret: String,
    answer: Value,
}

#[derive(Deserialize)]
struct Liasse {
    siren: String,
    annee: String,
    answer: Value,
}

#[derive(Deserialize)]
struct Dictionnaire {
    annee: String,
    answer: Value,
}

#[derive(Deserialize)]
struct Canned {
    call: String,
    id: String,
    answer: Answer,
}

#[derive(Deserialize)]
struct Records {
    attestations: Vec<Attestation>,
    chiffres_affaires: Vec<ChiffresAffaires>,
    liasses: Vec<Liasse>,
    dictionnaires: Vec<Dictionnaire>,
    answers: Vec<Canned>,
}

/// One data call as the simulator received it: which route, for whom, under which id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub call: String,
    pub user_id: String,
    pub request_id: String,
}

pub struct Simulator {
    attestations: HashMap<String, &'static [u8]>,
    chiffres: HashMap<String, Value>,
    liasses: HashMap<String, Value>,
    dictionnaires: HashMap<String, Value>,
    answers: HashMap<(String, String), Answer>,
    tokens: Mutex<HashSet<String>>,
    issued: AtomicUsize,
    seen: Mutex<Vec<Seen>>,
}

impl Simulator {
    pub fn with_default_data() -> Arc<Simulator> {
        let records: Records = serde_json::from_str(DATA).expect("the simulator's data file is valid");
        let document = |name: &str| if name == "not_delivered" { REFUSAL } else { ATTESTATION };
        Arc::new(Simulator {
            attestations: records
                .attestations
                .into_iter()
                .map(|a| (a.siren, document(&a.document)))
                .collect(),
            chiffres: records
                .chiffres_affaires
                .into_iter()
                .map(|c| (c.siret, c.answer))
                .collect(),
            liasses: records
                .liasses
                .into_iter()
                .map(|l| (format!("{}/{}", l.siren, l.annee), l.answer))
                .collect(),
            dictionnaires: records.dictionnaires.into_iter().map(|d| (d.annee, d.answer)).collect(),
            answers: records
                .answers
                .into_iter()
                .map(|c| ((c.call, c.id), c.answer))
                .collect(),
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

    /// The data calls received so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("call log").clone()
    }

    fn canned(&self, call: &str, id: &str) -> Option<Answer> {
        self.answers.get(&(call.to_string(), id.to_string())).cloned()
    }

    /// The API manager's checks of every data call: a known token, then the caller's
    /// uid and the request id DGFIP wants for its own traces. `Some` is its refusal.
    fn refusal(&self, call: &str, headers: &HeaderMap, query: &HashMap<String, String>) -> Option<Response> {
        let known = simulation::bearer(headers).is_some_and(|t| self.tokens.lock().expect("token table").contains(t));
        if !known {
            return Some(fault(StatusCode::UNAUTHORIZED, "Invalid Credentials"));
        }
        let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok());
        let (Some(user_id), Some(request_id)) = (query.get("userId"), request_id) else {
            return Some(fault(
                StatusCode::BAD_REQUEST,
                "userId et X-Request-ID sont obligatoires",
            ));
        };
        self.seen.lock().expect("call log").push(Seen {
            call: call.to_string(),
            user_id: user_id.clone(),
            request_id: request_id.to_string(),
        });
        None
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/adelie/v1/attestationFiscale", get(attestation))
        .route("/adelie/v1/chiffreAffaires", get(chiffres_affaires))
        .route("/adelie/v1/getLiasseFiscale", get(liasse))
        .route("/adelie/v1/dictionnaire", get(dictionnaire))
        .route("/adelie/v1/etatSante", get(etat_sante))
        .with_state(simulator)
}

async fn token(State(sim): State<Arc<Simulator>>, Form(form): Form<TokenForm>) -> Response {
    let known = form.grant_type.as_deref() == Some("client_credentials")
        && form.client_id.as_deref() == Some(CLIENT_ID)
        && form.client_secret.as_deref() == Some(CLIENT_SECRET);
    if !known {
        return simulation::invalid_client("Client authentication failed");
    }
    let access_token = format!("dgfip-{:032x}", rand::random::<u128>());
    sim.tokens.lock().expect("token table").insert(access_token.clone());
    sim.issued.fetch_add(1, Ordering::SeqCst);
    simulation::token_answer(&access_token, TOKEN_LIFETIME_SECS, None)
}

/// The API manager's refusals, in its JSON.
fn fault(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"fault": {"code": status.as_u16(), "message": message}})),
    )
        .into_response()
}

fn not_found() -> Response {
    StatusCode::NOT_FOUND.into_response()
}

type Params = Query<HashMap<String, String>>;

fn param<'a>(query: &'a HashMap<String, String>, key: &str) -> &'a str {
    query.get(key).map(String::as_str).unwrap_or_default()
}

async fn attestation(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Query(query): Params) -> Response {
    if let Some(refused) = sim.refusal("attestationFiscale", &headers, &query) {
        return refused;
    }
    let siren = param(&query, "siren");
    if param(&query, "groupeIS") != "NON" || param(&query, "groupeTVA") != "NON" {
        return fault(StatusCode::BAD_REQUEST, "groupeIS et groupeTVA sont obligatoires");
    }
    if let Some(answer) = sim.canned("attestationFiscale", siren) {
        return answer.respond(&[]).await;
    }
    match sim.attestations.get(siren) {
        Some(pdf) => ([(header::CONTENT_TYPE, "application/pdf")], *pdf).into_response(),
        None => not_found(),
    }
}

async fn chiffres_affaires(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Query(query): Params) -> Response {
    if let Some(refused) = sim.refusal("chiffreAffaires", &headers, &query) {
        return refused;
    }
    let siret = param(&query, "siret");
    if let Some(answer) = sim.canned("chiffreAffaires", siret) {
        return answer.respond(&[]).await;
    }
    match sim.chiffres.get(siret) {
        Some(body) => Json(body.clone()).into_response(),
        None => not_found(),
    }
}

async fn liasse(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Query(query): Params) -> Response {
    if let Some(refused) = sim.refusal("getLiasseFiscale", &headers, &query) {
        return refused;
    }
    let key = format!("{}/{}", param(&query, "siren"), param(&query, "annee"));
    if let Some(answer) = sim.canned("getLiasseFiscale", &key) {
        return answer.respond(&[]).await;
    }
    match sim.liasses.get(&key) {
        Some(body) => Json(body.clone()).into_response(),
        None => not_found(),
    }
}

async fn dictionnaire(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Query(query): Params) -> Response {
    if let Some(refused) = sim.refusal("dictionnaire", &headers, &query) {
        return refused;
    }
    match sim.dictionnaires.get(param(&query, "annee")) {
        Some(body) => Json(body.clone()).into_response(),
        None => not_found(),
    }
}

async fn etat_sante(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Query(query): Params) -> Response {
    sim.refusal("etatSante", &headers, &query)
        .unwrap_or_else(|| Json(json!({"etat": "OK"})).into_response())
}
