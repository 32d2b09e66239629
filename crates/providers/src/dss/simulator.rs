//! A simulator of the DSS upstream, speaking its protocol: OAuth2 client credentials
//! (HTTP Basic) on `/token`, then `GET /<prestation>?<identity>` with the bearer.
//! Its people come from `people.json` (derived from the official sandbox cases by
//! `tools/derive_dss_people.py`) and `people_synthetic.json` (our own error cases).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::oauth::ClientAuth;
use crate::simulation::{self, Answer, TokenDesk, TokenForm};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-dss";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

#[derive(Debug, Deserialize)]
struct Person {
    /// A prestation name, or `*` for every prestation.
    prestation: String,
    query: BTreeMap<String, String>,
    answer: Answer,
}

type Key = (String, BTreeMap<String, String>);

pub struct Simulator {
    people: HashMap<Key, Answer>,
    /// Each token remembers its prestation (the scope it was asked for).
    tokens: TokenDesk,
}

/// Matching is exact on every identity field, after removing accents and case, as the
/// official sandbox does: a typo or a missing field finds nobody.
fn normalise(query: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    query
        .iter()
        .filter(|(k, _)| k.as_str() != "anneeDemandee" && k.as_str() != "moisDemande")
        .map(|(k, v)| (k.clone(), simulation::normal(v)))
        .collect()
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        Arc::new(Simulator {
            people: simulation::keyed(&[PEOPLE, SYNTHETIC_PEOPLE], |p: Person| {
                ((p.prestation, normalise(&p.query)), p.answer)
            }),
            tokens: TokenDesk::new("dss", CLIENT_ID, CLIENT_SECRET, ClientAuth::Basic),
        })
    }

    fn find(&self, prestation: &str, query: &BTreeMap<String, String>) -> Option<&Answer> {
        let key = normalise(query);
        self.people
            .get(&(prestation.to_string(), key.clone()))
            .or_else(|| self.people.get(&("*".to_string(), key)))
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/{prestation}", get(prestation))
        .with_state(simulator)
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let scope = form.scope.clone().unwrap_or_default();
    let Some(access_token) = sim.tokens.issue(&headers, Some(&form), &scope) else {
        return simulation::invalid_client("Client authentication failed.");
    };
    simulation::token_answer(&access_token, 3600, None)
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, Json(json!({"errorCode": code, "error": message}))).into_response()
}

async fn prestation(
    State(sim): State<Arc<Simulator>>,
    Path(prestation): Path<String>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Response {
    let scope = sim.tokens.scope(&headers);
    if scope.as_deref() != Some(prestation.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            40101,
            "Jeton d'accès absent, invalide ou d'une autre prestation",
        );
    }
    let traced = headers.get("x-correlation-id").is_some_and(|v| !v.is_empty())
        && headers
            .get("x-apipart-fsfinal")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.len() == 14 && v.bytes().all(|b| b.is_ascii_digit()));
    if !traced {
        return error(
            StatusCode::BAD_REQUEST,
            40001,
            "En-têtes X-Correlation-ID et X-APIPART-FSFINAL obligatoires",
        );
    }
    if !query.contains_key("nomNaissance") && !query.contains_key("nomUsage") {
        return error(StatusCode::BAD_REQUEST, 40002, "Nom de naissance ou nom d'usage absent");
    }
    match sim.find(&prestation, &query).cloned() {
        Some(answer) => {
            answer
                .respond(&[("regime", HeaderName::from_static("x-apisecu-fd"))])
                .await
        }
        None => error(
            StatusCode::NOT_FOUND,
            40404,
            "Aucun dossier allocataire ne correspond à cette identité",
        ),
    }
}
