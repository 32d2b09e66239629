//! A simulator of the GIP-MDS upstream: OAuth2 client credentials in the form on
//! `POST /token`, then `GET /contrats-generique?nom=…&prenom=…&dateNaissance=DDMMYYYY
//! &listeCodeNature=89&comparaisonCertifiee=1` with the bearer. Its people come from
//! `people.json` (derived from the official sandbox cases by
//! `tools/derive_gip_mds_people.py`) and `people_synthetic.json` (our own error
//! cases). It never logs identities.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use passerelle_core::translit::fold;
use serde::Deserialize;
use serde_json::{json, Value};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-gip-mds";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

/// The upstream's answer for one person.
#[derive(Debug, Clone, Deserialize)]
pub struct Answer {
    pub status: u16,
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub body: Option<Value>,
    #[serde(default)]
    pub raw_body: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
}

/// Who is searched: `nom`, `prenom`, `dateNaissance` as the upstream receives them.
#[derive(Debug, Deserialize)]
struct Identite {
    nom: String,
    prenom: String,
    #[serde(rename = "dateNaissance")]
    date_naissance: String,
}

#[derive(Deserialize)]
struct Person {
    identite: Identite,
    answer: Answer,
}

#[derive(Deserialize)]
struct PeopleFile {
    people: Vec<Person>,
}

type Key = (String, String, String);

pub struct Simulator {
    people: HashMap<Key, Answer>,
    tokens: Mutex<HashSet<String>>,
}

/// Matching is exact on each field, after removing accents and case.
fn key(nom: &str, prenom: &str, date: &str) -> Key {
    let norm = |s: &str| fold(s.trim()).to_uppercase();
    (norm(nom), norm(prenom), date.trim().to_string())
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        let mut people = HashMap::new();
        for file in [PEOPLE, SYNTHETIC_PEOPLE] {
            let parsed: PeopleFile = serde_json::from_str(file).expect("the simulator's people files are valid JSON");
            for p in parsed.people {
                let id = &p.identite;
                people
                    .entry(key(&id.nom, &id.prenom, &id.date_naissance))
                    .or_insert(p.answer);
            }
        }
        Arc::new(Simulator {
            people,
            tokens: Mutex::new(HashSet::new()),
        })
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/contrats-generique", get(contrats))
        .with_state(simulator)
}

#[derive(Deserialize)]
struct TokenForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    grant_type: Option<String>,
}

async fn token(State(sim): State<Arc<Simulator>>, Form(form): Form<TokenForm>) -> Response {
    let known = form.client_id.as_deref() == Some(CLIENT_ID)
        && form.client_secret.as_deref() == Some(CLIENT_SECRET)
        && form.grant_type.as_deref() == Some("client_credentials");
    if !known {
        let body = json!({"error": "invalid_client", "error_description": "Invalid client credentials"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let access_token = format!("gip-mds-{:032x}", rand::random::<u128>());
    sim.tokens.lock().expect("token table").insert(access_token.clone());
    Json(json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 3600, "scope": "contrats"}))
        .into_response()
}

fn erreur(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"erreurs": [{"code": code, "message": message}]}))).into_response()
}

async fn contrats(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let known = bearer.is_some_and(|t| sim.tokens.lock().expect("token table").contains(t));
    if !known {
        return erreur(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "Jeton d'accès absent ou invalide.",
        );
    }
    let param = |k: &str| query.get(k).map(String::as_str).unwrap_or_default();
    let date = param("dateNaissance");
    let well_formed = !param("nom").is_empty()
        && !param("prenom").is_empty()
        && date.len() == 8
        && date.bytes().all(|b| b.is_ascii_digit())
        && param("listeCodeNature") == "89"
        && param("comparaisonCertifiee") == "1";
    if !well_formed {
        return erreur(
            StatusCode::BAD_REQUEST,
            "PARAMETRE_INVALIDE",
            "Les paramètres de recherche sont invalides.",
        );
    }
    match sim.people.get(&key(param("nom"), param("prenom"), date)).cloned() {
        Some(answer) => respond(answer).await,
        None => erreur(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_INDIVIDU",
            "Aucun individu ne répond aux critères saisis.",
        ),
    }
}

async fn respond(answer: Answer) -> Response {
    if answer.delay_ms > 0 {
        tokio::time::sleep(Duration::from_millis(answer.delay_ms)).await;
    }
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match (answer.raw_body, answer.body) {
        (Some(raw), _) => {
            let content_type = answer.content_type.unwrap_or_else(|| "text/plain".into());
            (status, [(header::CONTENT_TYPE, content_type)], raw).into_response()
        }
        (None, body) => (status, Json(body.unwrap_or(Value::Null))).into_response(),
    }
}
