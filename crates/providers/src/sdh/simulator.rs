//! A simulator of the SDH upstream: OAuth2 client credentials in the form on
//! `/token`, then `GET /statut_sportif/<identifiant>` with the bearer. Its athletes
//! come from `people.json` (derived from the official sandbox cases by
//! `tools/derive_sdh_people.py`) and `people_synthetic.json` (our own cases). An
//! unknown athlete is a 404 with an empty body, as the real upstream answers. It logs
//! nothing.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use crate::oauth::ClientAuth;
use crate::simulation::{self, Answer, TokenDesk, TokenForm};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-sdh";
/// The identifier the real gateway's ping asks for: nobody has it.
pub const PING_IDENTIFIANT: &str = "735319";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

#[derive(Debug, Deserialize)]
struct Person {
    identifiant: String,
    answer: Answer,
}

pub struct Simulator {
    people: HashMap<String, Answer>,
    tokens: TokenDesk,
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        Arc::new(Simulator {
            people: simulation::keyed(&[PEOPLE, SYNTHETIC_PEOPLE], |p: Person| (p.identifiant, p.answer)),
            tokens: TokenDesk::new("sdh", CLIENT_ID, CLIENT_SECRET, ClientAuth::Form),
        })
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/statut_sportif/{identifiant}", get(athlete))
        .with_state(simulator)
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let Some(access_token) = sim.tokens.issue(&headers, Some(&form), "") else {
        return simulation::invalid_client("Invalid client credentials");
    };
    simulation::token_answer(&access_token, 3600, None)
}

async fn athlete(State(sim): State<Arc<Simulator>>, Path(identifiant): Path<String>, headers: HeaderMap) -> Response {
    if sim.tokens.scope(&headers).is_none() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    match sim.people.get(&identifiant).cloned() {
        Some(answer) => answer.respond(&[]).await,
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
