//! A simulator of the MESRI student status upstream: `GET /etudiant?INE=` and
//! `POST /etudiant` with a JSON identity, each with its own `X-API-Key`, and
//! `X-Caller: DINUM - <id>` on every call. Its people come from `people.json`
//! (derived from the official sandbox cases by `tools/derive_mesri_people.py`) and
//! `people_synthetic.json` (our own failure cases). It logs nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::simulation::{self, Answer};

pub const API_KEY_INE: &str = "demo-mesri-ine";
pub const API_KEY_CIVILITY: &str = "demo-mesri-civility";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

/// The fields of the civility body that identify a person.
const CIVILITY_FIELDS: &[&str] = &["nomFamille", "prenom1", "dateNaissance", "sexe"];

/// One person, found either by INE or by the civility body.
#[derive(Debug, Deserialize)]
struct Person {
    #[serde(default)]
    ine: Option<String>,
    #[serde(default)]
    civility: Option<BTreeMap<String, String>>,
    answer: Answer,
}

pub struct Simulator {
    by_ine: HashMap<String, Answer>,
    by_civility: HashMap<BTreeMap<String, String>, Answer>,
}

/// Exact matching after removing accents, case and outer spaces: a missing or
/// different birthplace finds nobody, as in the official sandbox.
fn normalise(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    fields.iter().map(|(k, v)| (k.clone(), simulation::normal(v))).collect()
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        let mut simulator = Simulator {
            by_ine: HashMap::new(),
            by_civility: HashMap::new(),
        };
        for p in simulation::people::<Person>(&[PEOPLE, SYNTHETIC_PEOPLE]) {
            if let Some(ine) = p.ine {
                simulator.by_ine.entry(ine.to_uppercase()).or_insert(p.answer);
            } else if let Some(civility) = p.civility {
                simulator.by_civility.entry(normalise(&civility)).or_insert(p.answer);
            }
        }
        Arc::new(simulator)
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/etudiant", get(by_ine).post(by_civility))
        .with_state(simulator)
}

fn error(status: StatusCode, message: &str, method: &str, parameter: &str) -> Response {
    let body = json!({
        "message": message,
        "uid": format!("{:013x}_0000", rand::random::<u64>() >> 12),
        "details": {"method": method, "endpoint": "etudiant", "parameter": parameter},
    });
    (status, Json(body)).into_response()
}

/// The API key of the mode, and `X-Caller: DINUM - <id>`, as the real service demands.
fn check_headers(headers: &HeaderMap, key: &str, method: &str) -> Option<Response> {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if value("x-api-key") != Some(key) {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "clé d'API absente ou invalide",
            method,
            "X-API-Key",
        ));
    }
    let caller = value("x-caller").and_then(|v| v.strip_prefix("DINUM - "));
    if caller.is_none_or(|id| id.trim().is_empty()) {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "en-tête X-Caller absent ou invalide",
            method,
            "X-Caller",
        ));
    }
    None
}

async fn by_ine(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    if let Some(refused) = check_headers(&headers, API_KEY_INE, "GET") {
        return refused;
    }
    let ine = query.get("INE").map(|i| i.trim().to_uppercase());
    let Some(ine) = ine.filter(|i| super::is_ine(i)) else {
        return error(
            StatusCode::BAD_REQUEST,
            "la valeur du paramètre n'est pas valide",
            "GET",
            "le format de l'INE n'est valide",
        );
    };
    match sim.by_ine.get(&ine).cloned() {
        Some(answer) => answer.respond(&[("location", header::LOCATION)]).await,
        None => error(StatusCode::NOT_FOUND, "inscription introuvable", "GET", &ine),
    }
}

async fn by_civility(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Some(refused) = check_headers(&headers, API_KEY_CIVILITY, "POST") {
        return refused;
    }
    // Like the real service, the body is read as JSON whatever its Content-Type.
    let fields: Option<BTreeMap<String, String>> = serde_json::from_slice(&body).ok();
    let Some(fields) = fields.filter(|f| {
        CIVILITY_FIELDS
            .iter()
            .all(|k| f.get(*k).is_some_and(|v| !v.trim().is_empty()))
    }) else {
        return error(
            StatusCode::BAD_REQUEST,
            "la valeur du paramètre n'est pas valide",
            "POST",
            "nomFamille, prenom1, dateNaissance et sexe sont obligatoires",
        );
    };
    match sim.by_civility.get(&normalise(&fields)).cloned() {
        Some(answer) => answer.respond(&[("location", header::LOCATION)]).await,
        None => error(StatusCode::NOT_FOUND, "étudiant introuvable", "POST", ""),
    }
}
