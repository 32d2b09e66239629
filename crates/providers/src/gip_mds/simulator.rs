//! A simulator of the GIP-MDS upstream: OAuth2 client credentials in the form on
//! `POST /token`, then `GET /contrats-generique?nom=…&prenom=…&dateNaissance=DDMMYYYY
//! &listeCodeNature=89&comparaisonCertifiee=1` with the bearer. Its people come from
//! `people.json` (derived from the official sandbox cases by
//! `tools/derive_gip_mds_people.py`) and `people_synthetic.json` (our own error
//! cases). It never logs identities.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::oauth::ClientAuth;
use crate::simulation::{self, normal, Answer, TokenDesk, TokenForm};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-gip-mds";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

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

type Key = (String, String, String);

pub struct Simulator {
    people: HashMap<Key, Answer>,
    tokens: TokenDesk,
}

/// Matching is exact on each field, after removing accents and case.
fn key(nom: &str, prenom: &str, date: &str) -> Key {
    (normal(nom), normal(prenom), date.trim().to_string())
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        let entry = |p: Person| {
            let id = &p.identite;
            (key(&id.nom, &id.prenom, &id.date_naissance), p.answer)
        };
        Arc::new(Simulator {
            people: simulation::keyed(&[PEOPLE, SYNTHETIC_PEOPLE], entry),
            tokens: TokenDesk::new("gip-mds", CLIENT_ID, CLIENT_SECRET, ClientAuth::Form),
        })
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/contrats-generique", get(contrats))
        .with_state(simulator)
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let Some(access_token) = sim.tokens.issue(&headers, Some(&form), "contrats") else {
        return simulation::invalid_client("Invalid client credentials");
    };
    simulation::token_answer(&access_token, 3600, Some("contrats"))
}

fn erreur(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"erreurs": [{"code": code, "message": message}]}))).into_response()
}

async fn contrats(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if sim.tokens.scope(&headers).is_none() {
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
        Some(answer) => answer.respond(&[]).await,
        None => erreur(
            StatusCode::NOT_FOUND,
            "NOT_FOUND_INDIVIDU",
            "Aucun individu ne répond aux critères saisis.",
        ),
    }
}
