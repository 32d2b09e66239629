//! FranceConnect v2 as an OpenID Connect provider for citizen login, simulated: the
//! authorization code flow (`client_secret_post`) with an ID token and a userinfo
//! answer signed ES256 by the simulator's key (the one `GET /api/v2/jwks` publishes).
//! It lets a Passerelle page ("Qui a consulté mes données ?") log a citizen in with a
//! standard OIDC client and no FranceConnect account: the login page lists the
//! simulator's people and one click picks one. Redirect URIs must be loopback, so the
//! simulator never sends a browser elsewhere. It logs nothing: answers carry identities.
//!
//! URLs are derived from the request's `Host` and from where the router is nested
//! (`/france_connect` in the sandbox), so one simulator answers on any port.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::simulator::Simulator;
use crate::oidc_simulator::{self as oidc, escape, html, Expiring, Grant, Provider, TokenRequest, LIFETIME};
pub use crate::oidc_simulator::{
    AUTHORIZE_PATH, DISCOVERY_PATH, END_SESSION_PATH, ID_TOKEN_CLAIMS, ISSUER_PATH, TOKEN_PATH, USERINFO_PATH,
};

/// The one login client: the demo's "Qui a consulté mes données ?" page.
pub const LOGIN_CLIENT_ID: &str = "passerelle-demo-citizen-record";
pub const LOGIN_CLIENT_SECRET: &str = "demo-secret-fc-citizen-record";

/// The identity claims userinfo can give; each is also the scope that asks for it.
pub const IDENTITY_CLAIMS: &[&str] = &[
    "given_name",
    "family_name",
    "birthdate",
    "gender",
    "birthplace",
    "birthcountry",
    "preferred_name",
    "email",
];

const FRANCE_CONNECT: Provider = Provider {
    name: "FranceConnect",
    client_id: LOGIN_CLIENT_ID,
    client_secret: LOGIN_CLIENT_SECRET,
};

pub fn routes() -> Router<Arc<Simulator>> {
    Router::new()
        .route(DISCOVERY_PATH, get(discovery))
        .route(AUTHORIZE_PATH, get(authorize).post(choose))
        .route(TOKEN_PATH, post(token))
        .route(USERINFO_PATH, get(userinfo))
        .route(END_SESSION_PATH, get(end_session))
}

/// A citizen one can log in as: a token of the people files and its identity claims.
struct Person {
    token: String,
    claims: Map<String, Value>,
}

impl Person {
    fn claim(&self, name: &str) -> &str {
        self.claims.get(name).and_then(Value::as_str).unwrap_or_default()
    }

    fn name(&self) -> String {
        format!("{} {}", self.claim("given_name"), self.claim("family_name"))
    }
}

/// The login side of the simulator: its people, live codes and access tokens.
pub(super) struct Logins {
    people: Vec<Person>,
    codes: Expiring<Grant>,
    tokens: Expiring<Grant>,
}

impl Logins {
    /// From the simulator's citizens: the active ones with a name, first entry of a
    /// token kept.
    pub(super) fn new(citizens: Vec<(String, Value)>) -> Logins {
        let mut people: Vec<Person> = Vec::new();
        for (token, introspection) in citizens {
            let Some(person) = person(token, &introspection) else {
                continue;
            };
            if people.iter().all(|p| p.token != person.token) {
                people.push(person);
            }
        }
        Logins {
            people,
            codes: Expiring::new(LIFETIME),
            tokens: Expiring::new(LIFETIME),
        }
    }

    fn find(&self, token: &str) -> Option<usize> {
        self.people.iter().position(|p| p.token == token)
    }
}

fn person(token: String, introspection: &Value) -> Option<Person> {
    if introspection["active"] != Value::Bool(true) {
        return None;
    }
    let claims: Map<String, Value> = IDENTITY_CLAIMS
        .iter()
        .filter_map(|name| {
            Some((
                name.to_string(),
                introspection.get(*name).filter(|v| !v.is_null())?.clone(),
            ))
        })
        .collect();
    let person = Person { token, claims };
    let named = !person.claim("given_name").is_empty() && !person.claim("family_name").is_empty();
    named.then_some(person)
}

async fn discovery(uri: OriginalUri, headers: HeaderMap) -> Json<Value> {
    let own = json!({
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "acr_values_supported": ["eidas1"],
    });
    let base = oidc::base_url(&headers, &uri, DISCOVERY_PATH);
    oidc::discovery(&base, own, IDENTITY_CLAIMS, IDENTITY_CLAIMS)
}

/// The authorization request; the login page's form adds the `person` chosen.
type AuthorizeRequest = oidc::AuthorizeRequest<Chosen>;

#[derive(Deserialize, Default)]
#[serde(default)]
struct Chosen {
    person: String,
}

async fn authorize(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    Query(request): Query<AuthorizeRequest>,
) -> Response {
    if let Err(answer) = FRANCE_CONNECT.checked(&request, None) {
        return answer;
    }
    html(StatusCode::OK, login_page(uri.path(), &request, &sim.logins().people))
}

async fn choose(State(sim): State<Arc<Simulator>>, Form(request): Form<AuthorizeRequest>) -> Response {
    let redirect = match FRANCE_CONNECT.checked(&request, None) {
        Ok(url) => url,
        Err(answer) => return answer,
    };
    let logins = sim.logins();
    let Some(person) = logins.find(&request.own.person) else {
        return FRANCE_CONNECT.error_page("Cette personne est inconnue du simulateur.");
    };
    let grant = Grant::new(person, &request, |s| IDENTITY_CLAIMS.contains(&s));
    let code = logins.codes.insert(grant);
    oidc::back_to(redirect, &[("code", &code), ("state", &request.state)])
}

async fn token(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    let Ok(Form(request)) = form else {
        return oidc::not_a_form();
    };
    let logins = sim.logins();
    let grant = match redeem(logins, &request) {
        Ok(grant) => grant,
        Err(refusal) => return refusal,
    };
    let issuer = oidc::issuer(&headers, &uri, TOKEN_PATH);
    let access_token = logins.tokens.insert(grant.clone());
    let subject = FRANCE_CONNECT.subject(&logins.people[grant.account].token);
    let claims = FRANCE_CONNECT.id_token_claims(&issuer, &subject, &grant, &access_token);
    oidc::token_answer(sim.signing_key(), &access_token, &claims, &grant.scope)
}

/// The grant behind the request's code, the client first (`client_secret_post`).
fn redeem(logins: &Logins, request: &TokenRequest) -> Result<Grant, Response> {
    if !FRANCE_CONNECT.is_client(&request.client_id, &request.client_secret) {
        let description = "client authentication failed (client_secret_post)";
        return Err(oidc::token_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            description,
        ));
    }
    let grant = oidc::spend_code(&logins.codes, request)?;
    if grant.redirect_uri != request.redirect_uri {
        return Err(oidc::invalid_grant("unknown, used or expired code"));
    }
    Ok(grant)
}

async fn userinfo(State(sim): State<Arc<Simulator>>, uri: OriginalUri, headers: HeaderMap) -> Response {
    let logins = sim.logins();
    let grant = match oidc::bearer_of(&logins.tokens, &headers) {
        Ok(grant) => grant,
        Err(refusal) => return refusal,
    };
    let person = &logins.people[grant.account];
    let issuer = oidc::issuer(&headers, &uri, USERINFO_PATH);
    let mut claims = FRANCE_CONNECT.userinfo_claims(&issuer, &FRANCE_CONNECT.subject(&person.token));
    // A claim is given when its scope was granted, as FranceConnect does.
    for name in grant.scope.split_whitespace() {
        if let Some(value) = person.claims.get(name) {
            claims[name] = value.clone();
        }
    }
    oidc::signed_userinfo(sim.signing_key(), &claims)
}

async fn end_session(Query(request): Query<oidc::EndSession>) -> Response {
    FRANCE_CONNECT.end_session(&request)
}

/// The page listing the people, one form each posting the request back to `action`.
fn login_page(action: &str, request: &AuthorizeRequest, people: &[Person]) -> String {
    let hidden: String = request
        .carried()
        .iter()
        .map(|(name, value)| oidc::hidden(name, value))
        .collect();
    let items: String = people
        .iter()
        .enumerate()
        .map(|(i, person)| person_item(i, person, action, &hidden))
        .collect();
    let body = format!(
        "<p>Simulateur : aucun mot de passe n’est demandé. Choisissez la personne \
         au nom de laquelle vous vous connectez.</p>\n<ul>\n{items}</ul>"
    );
    FRANCE_CONNECT.page("Se connecter avec FranceConnect", &body)
}

fn person_item(i: usize, person: &Person, action: &str, hidden: &str) -> String {
    let token = escape(&person.token);
    let name = escape(&person.name());
    let birthdate = escape(person.claim("birthdate"));
    format!(
        "<li>\n<form method=\"post\" action=\"{action}\">\n{hidden}\
         <p id=\"personne-{i}\">{name}, date de naissance {birthdate} (jeton de test {token})</p>\n\
         <button type=\"submit\" name=\"person\" value=\"{token}\" data-person=\"{token}\" \
         aria-describedby=\"personne-{i}\">Se connecter en tant que {name}</button>\n\
         </form>\n</li>\n",
        action = escape(action),
    )
}

#[cfg(test)]
#[path = "login_tests.rs"]
mod tests;
