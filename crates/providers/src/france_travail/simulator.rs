//! A simulator of France Travail's partner APIs: OAuth2 client credentials in the
//! form on `/token`, then `POST /statut` (the raw login as body) and
//! `GET /indemnites?loginMnemotechnique=…`, each with the bearer and the
//! `X-pe-consommateur: DINUM - <caller's token id>` header. Its people come from `people.json` (derived from the
//! official sandbox cases by `tools/derive_france_travail_people.py`) and
//! `people_synthetic.json` (our own failure cases). It logs nothing.

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
use crate::simulation::{self, Answer, TokenDesk, TokenForm};

pub const CLIENT_ID: &str = "passerelle-demo";
pub const CLIENT_SECRET: &str = "demo-secret-france-travail";
/// The login the provider's ping asks for: nobody has it.
pub const PING_LOGIN: &str = "passerelle.ping";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

const STATUT_SCOPE: &str = "api_statutaugmentev1";
const INDEMNITES_SCOPE: &str = "api_liste-paiementsv1";

#[derive(Debug, Deserialize)]
struct Person {
    /// `statut`, `indemnites`, or `*` for both.
    service: String,
    login: String,
    answer: Answer,
}

pub struct Simulator {
    people: HashMap<(String, String), Answer>,
    /// Each token remembers its space-separated scopes.
    tokens: TokenDesk,
}

/// Logins are matched without regard to case or surrounding blanks.
fn normalise(login: &str) -> String {
    login.trim().to_lowercase()
}

impl Simulator {
    pub fn with_default_people() -> Arc<Simulator> {
        Arc::new(Simulator {
            people: simulation::keyed(&[PEOPLE, SYNTHETIC_PEOPLE], |p: Person| {
                ((p.service, normalise(&p.login)), p.answer)
            }),
            tokens: TokenDesk::new("ft", CLIENT_ID, CLIENT_SECRET, ClientAuth::Form),
        })
    }

    fn find(&self, service: &str, login: &str) -> Option<Answer> {
        let login = normalise(login);
        self.people
            .get(&(service.to_string(), login.clone()))
            .or_else(|| self.people.get(&("*".to_string(), login)))
            .cloned()
    }

    /// Whether the request carries a token of ours holding `scope`.
    fn authorised(&self, headers: &HeaderMap, scope: &str) -> bool {
        self.tokens
            .scope(headers)
            .is_some_and(|scopes| scopes.split_whitespace().any(|s| s == scope))
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route("/token", post(token))
        .route("/statut", post(statut))
        .route("/indemnites", get(indemnites))
        .with_state(simulator)
}

async fn token(State(sim): State<Arc<Simulator>>, headers: HeaderMap, Form(form): Form<TokenForm>) -> Response {
    let scope = form.scope.clone().unwrap_or_default();
    let Some(access_token) = sim.tokens.issue(&headers, Some(&form), &scope) else {
        return simulation::invalid_client("Invalid authentication method for accessing this endpoint.");
    };
    simulation::token_answer(&access_token, 1499, Some(&scope))
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"codeErreur": code, "messageLog": message}))).into_response()
}

/// `8-4-4-4-12` hexadecimal digits: the caller's token id.
fn is_uuid(value: &str) -> bool {
    let groups: Vec<&str> = value.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Checks shared by both services; `None` when the call may go on.
fn refused(sim: &Simulator, headers: &HeaderMap, scope: &str) -> Option<Response> {
    if !sim.authorised(headers, scope) {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            "401",
            "Jeton absent, invalide ou sans le scope requis",
        ));
    }
    let consumer = headers
        .get("x-pe-consommateur")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("DINUM - "))
        .is_some_and(is_uuid);
    if !consumer {
        return Some(error(
            StatusCode::BAD_REQUEST,
            "400",
            "En-tête X-pe-consommateur absent ou mal formé",
        ));
    }
    None
}

async fn statut(State(sim): State<Arc<Simulator>>, headers: HeaderMap, body: String) -> Response {
    if let Some(response) = refused(&sim, &headers, STATUT_SCOPE) {
        return response;
    }
    if body.trim().is_empty() {
        return error(StatusCode::BAD_REQUEST, "400", "Identifiant absent");
    }
    match sim.find("statut", &body) {
        Some(answer) => answer.respond(&[]).await,
        None => error(StatusCode::NOT_FOUND, "404", "Individu inconnu de nos services"),
    }
}

#[derive(Deserialize)]
struct IndemnitesQuery {
    #[serde(rename = "loginMnemotechnique")]
    login: Option<String>,
}

async fn indemnites(
    State(sim): State<Arc<Simulator>>,
    headers: HeaderMap,
    Query(query): Query<IndemnitesQuery>,
) -> Response {
    if let Some(response) = refused(&sim, &headers, INDEMNITES_SCOPE) {
        return response;
    }
    let Some(login) = query.login.filter(|l| !l.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "400", "loginMnemotechnique absent");
    };
    match sim.find("indemnites", &login) {
        Some(answer) => answer.respond(&[]).await,
        // The payments service knows no such person as registered.
        None => Json(json!({"statutInscription": false, "listePaiement": []})).into_response(),
    }
}
