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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::FormRejection;
use axum::extract::{OriginalUri, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::jose;
use super::simulator::{Simulator, JWKS_PATH};
use crate::simulation;

/// The one login client: the demo's "Qui a consulté mes données ?" page.
pub const LOGIN_CLIENT_ID: &str = "passerelle-demo-citizen-record";
pub const LOGIN_CLIENT_SECRET: &str = "demo-secret-fc-citizen-record";

/// The issuer is the base URL followed by this path.
pub const ISSUER_PATH: &str = "/api/v2";
pub const DISCOVERY_PATH: &str = "/api/v2/.well-known/openid-configuration";
pub const AUTHORIZE_PATH: &str = "/api/v2/authorize";
pub const TOKEN_PATH: &str = "/api/v2/token";
pub const USERINFO_PATH: &str = "/api/v2/userinfo";
pub const END_SESSION_PATH: &str = "/api/v2/session/end";

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

/// The claims of the ID token.
pub const ID_TOKEN_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nonce",
    "acr",
    "amr",
    "auth_time",
    "at_hash",
];

/// Lifetime of codes, access tokens and ID tokens, as FranceConnect's.
const LIFETIME: Duration = Duration::from_secs(60);

/// Cap on live codes (and on live access tokens): past it the oldest goes first.
const MAX_LIVE: usize = 10_000;

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

/// What a code, then its access token, stands for.
#[derive(Clone)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: String,
    scope: String,
    person: usize,
    auth_time: i64,
}

/// Values under random keys, each living `ttl`; expired ones go at each insert.
struct Expiring<T> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, T)>>,
}

impl<T: Clone> Expiring<T> {
    fn new(ttl: Duration) -> Self {
        Expiring {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Stores `value` under a new random key, returned.
    fn insert(&self, value: T) -> String {
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("login table");
        entries.retain(|_, (expires, _)| *expires > now);
        if entries.len() >= MAX_LIVE {
            let oldest = entries
                .iter()
                .min_by_key(|(_, (expires, _))| *expires)
                .map(|(k, _)| k.clone());
            if let Some(key) = oldest {
                entries.remove(&key);
            }
        }
        let key = random_token();
        entries.insert(key.clone(), (now + self.ttl, value));
        key
    }

    /// The value if still alive, left in place.
    fn get(&self, key: &str) -> Option<T> {
        let entries = self.entries.lock().expect("login table");
        let (expires, value) = entries.get(key)?;
        (*expires > Instant::now()).then(|| value.clone())
    }

    /// The value if still alive, removed: a second take finds nothing.
    fn take(&self, key: &str) -> Option<T> {
        let (expires, value) = self.entries.lock().expect("login table").remove(key)?;
        (expires > Instant::now()).then_some(value)
    }
}

/// 256 random bits, base64url (43 characters).
fn random_token() -> String {
    jose::b64(&rand::random::<[u8; 32]>())
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

/// `http://{Host}` followed by the path the router is nested under, found by taking
/// `route` off the request's original path.
fn base_url(headers: &HeaderMap, uri: &OriginalUri, route: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_host(h))
        .unwrap_or("127.0.0.1");
    let prefix = uri.path().strip_suffix(route).unwrap_or_default();
    format!("http://{host}{prefix}")
}

/// A host and port, nothing that could bend the URLs built from it.
fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

async fn discovery(uri: OriginalUri, headers: HeaderMap) -> Json<Value> {
    let base = base_url(&headers, &uri, DISCOVERY_PATH);
    let scopes: Vec<&str> = std::iter::once("openid")
        .chain(IDENTITY_CLAIMS.iter().copied())
        .collect();
    let claims: Vec<&str> = ID_TOKEN_CLAIMS.iter().chain(IDENTITY_CLAIMS).copied().collect();
    Json(json!({
        "issuer": format!("{base}{ISSUER_PATH}"),
        "authorization_endpoint": format!("{base}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{base}{TOKEN_PATH}"),
        "userinfo_endpoint": format!("{base}{USERINFO_PATH}"),
        "jwks_uri": format!("{base}{JWKS_PATH}"),
        "end_session_endpoint": format!("{base}{END_SESSION_PATH}"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
        "userinfo_signing_alg_values_supported": ["ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "acr_values_supported": ["eidas1"],
        "scopes_supported": scopes,
        "claims_supported": claims,
    }))
}

/// The authorization request, as a query (GET) or as the login page's form (POST,
/// with the `person` chosen).
#[derive(Deserialize, Default)]
#[serde(default)]
struct AuthorizeRequest {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    scope: String,
    state: String,
    nonce: String,
    acr_values: String,
    person: String,
}

impl AuthorizeRequest {
    /// The fields the login page carries over to its POST.
    fn carried(&self) -> [(&'static str, &str); 7] {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("acr_values", &self.acr_values),
        ]
    }
}

/// A loopback `http` URL with a port (a local client), else `None`.
fn loopback_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw).ok()?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost"));
    let plain = url.username().is_empty() && url.password().is_none() && url.fragment().is_none();
    (url.scheme() == "http" && loopback && url.port().is_some() && plain).then_some(url)
}

/// The client's redirect URI once the client is known and the URI acceptable; else
/// the page the browser stays on (OIDC forbids redirecting to an unchecked URI).
fn trusted_redirect(request: &AuthorizeRequest) -> Result<Url, Response> {
    if request.client_id != LOGIN_CLIENT_ID {
        return Err(error_page("Le client (client_id) est inconnu du simulateur."));
    }
    loopback_url(&request.redirect_uri).ok_or_else(|| {
        error_page(
            "L’adresse de retour (redirect_uri) doit être http://127.0.0.1:<port>/… ou http://localhost:<port>/….",
        )
    })
}

/// What is wrong with the request besides its client, as an OAuth error and its text.
fn request_error(request: &AuthorizeRequest) -> Option<(&'static str, &'static str)> {
    if request.response_type != "code" {
        return Some(("unsupported_response_type", "response_type must be code"));
    }
    if !request.scope.split_whitespace().any(|s| s == "openid") {
        return Some(("invalid_scope", "scope must contain openid"));
    }
    if request.state.is_empty() || request.nonce.is_empty() {
        return Some(("invalid_request", "state and nonce are required"));
    }
    None
}

/// 302 to `url` with `params` added to its query (empty values left out).
fn back_to(mut url: Url, params: &[(&str, &str)]) -> Response {
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

fn refuse_to(url: Url, (error, description): (&str, &str), state: &str) -> Response {
    back_to(
        url,
        &[("error", error), ("error_description", description), ("state", state)],
    )
}

async fn authorize(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    Query(request): Query<AuthorizeRequest>,
) -> Response {
    let redirect = match trusted_redirect(&request) {
        Ok(url) => url,
        Err(page) => return page,
    };
    if let Some(error) = request_error(&request) {
        return refuse_to(redirect, error, &request.state);
    }
    html(StatusCode::OK, login_page(uri.path(), &request, &sim.logins().people))
}

async fn choose(State(sim): State<Arc<Simulator>>, Form(request): Form<AuthorizeRequest>) -> Response {
    let redirect = match trusted_redirect(&request) {
        Ok(url) => url,
        Err(page) => return page,
    };
    if let Some(error) = request_error(&request) {
        return refuse_to(redirect, error, &request.state);
    }
    let logins = sim.logins();
    let Some(person) = logins.find(&request.person) else {
        return error_page("Cette personne est inconnue du simulateur.");
    };
    let code = logins.codes.insert(Grant {
        client_id: request.client_id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        nonce: request.nonce.clone(),
        scope: granted_scope(&request.scope),
        person,
        auth_time: chrono::Utc::now().timestamp(),
    });
    back_to(redirect, &[("code", &code), ("state", &request.state)])
}

/// The scopes asked that the simulator knows, in the order asked.
fn granted_scope(asked: &str) -> String {
    let known = |s: &&str| *s == "openid" || IDENTITY_CLAIMS.contains(s);
    asked.split_whitespace().filter(known).collect::<Vec<_>>().join(" ")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenRequest {
    grant_type: String,
    code: String,
    redirect_uri: String,
    client_id: String,
    client_secret: String,
}

/// An RFC 6749 error answer of the token endpoint.
fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    no_store((status, Json(body)).into_response())
}

fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

async fn token(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    headers: HeaderMap,
    form: Result<Form<TokenRequest>, FormRejection>,
) -> Response {
    let Ok(Form(request)) = form else {
        return token_error(StatusCode::BAD_REQUEST, "invalid_request", "a form body is expected");
    };
    let grant = match redeem(sim.logins(), &request) {
        Ok(grant) => grant,
        Err(refusal) => return refusal,
    };
    let issuer = format!("{}{ISSUER_PATH}", base_url(&headers, &uri, TOKEN_PATH));
    let access_token = sim.logins().tokens.insert(grant.clone());
    let claims = id_token_claims(&issuer, &grant, &sim.logins().people[grant.person], &access_token);
    let Ok(id_token) = sim.signing_key().sign(&claims) else {
        return token_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "signing failed");
    };
    no_store(
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": LIFETIME.as_secs(),
            "id_token": id_token,
            "scope": grant.scope,
        }))
        .into_response(),
    )
}

/// The grant behind the request's code, checked in RFC 6749's order: client, grant
/// type, parameters, then the code itself (spent even when the rest does not match).
fn redeem(logins: &Logins, request: &TokenRequest) -> Result<Grant, Response> {
    if request.client_id != LOGIN_CLIENT_ID || request.client_secret != LOGIN_CLIENT_SECRET {
        let description = "client authentication failed (client_secret_post)";
        return Err(token_error(StatusCode::UNAUTHORIZED, "invalid_client", description));
    }
    if request.grant_type.is_empty() || request.code.is_empty() || request.redirect_uri.is_empty() {
        let description = "grant_type, code and redirect_uri are required";
        return Err(token_error(StatusCode::BAD_REQUEST, "invalid_request", description));
    }
    if request.grant_type != "authorization_code" {
        let description = "only authorization_code is supported";
        return Err(token_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        ));
    }
    let invalid_grant = || {
        token_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown, used or expired code",
        )
    };
    let grant = logins.codes.take(&request.code).ok_or_else(invalid_grant)?;
    if grant.client_id != request.client_id || grant.redirect_uri != request.redirect_uri {
        return Err(invalid_grant());
    }
    Ok(grant)
}

/// Pairwise like FranceConnect's: stable for a person and a client, different across
/// clients. The client id has a fixed length here, so the concatenation is unambiguous.
fn subject(person: &Person, client_id: &str) -> String {
    hex::encode(Sha256::digest(format!("{}{client_id}", person.token)))
}

fn lifetime_secs() -> i64 {
    i64::try_from(LIFETIME.as_secs()).unwrap_or(60)
}

fn id_token_claims(issuer: &str, grant: &Grant, person: &Person, access_token: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": issuer,
        "sub": subject(person, &grant.client_id),
        "aud": grant.client_id,
        "exp": now + lifetime_secs(),
        "iat": now,
        "nonce": grant.nonce,
        "acr": "eidas1",
        "amr": ["pwd"],
        "auth_time": grant.auth_time,
        // OIDC Core 3.1.3.6: the left half of the access token's SHA-256.
        "at_hash": jose::b64(&Sha256::digest(access_token.as_bytes())[..16]),
    })
}

async fn userinfo(State(sim): State<Arc<Simulator>>, uri: OriginalUri, headers: HeaderMap) -> Response {
    let Some(bearer) = simulation::bearer(&headers) else {
        return unauthorized("Bearer");
    };
    let Some(grant) = sim.logins().tokens.get(bearer) else {
        return unauthorized("Bearer error=\"invalid_token\"");
    };
    let person = &sim.logins().people[grant.person];
    let now = chrono::Utc::now().timestamp();
    // `iat` and `exp` too, so that a client can check the JWT as it checks an ID token.
    let mut claims = json!({
        "iss": format!("{}{ISSUER_PATH}", base_url(&headers, &uri, USERINFO_PATH)),
        "aud": grant.client_id,
        "sub": subject(person, &grant.client_id),
        "iat": now,
        "exp": now + lifetime_secs(),
    });
    // A claim is given when its scope was granted, as FranceConnect does.
    for name in grant.scope.split_whitespace() {
        if let Some(value) = person.claims.get(name) {
            claims[name] = value.clone();
        }
    }
    match sim.signing_key().sign(&claims) {
        Ok(jws) => no_store(([(header::CONTENT_TYPE, "application/jwt")], jws).into_response()),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// RFC 6750: 401 with the challenge (no error code when no token came at all).
fn unauthorized(challenge: &'static str) -> Response {
    let challenge = HeaderValue::from_static(challenge);
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response()
}

/// `id_token_hint` is accepted and ignored: the simulator keeps no session to end.
#[derive(Deserialize, Default)]
#[serde(default)]
struct EndSession {
    state: String,
    post_logout_redirect_uri: String,
}

async fn end_session(Query(request): Query<EndSession>) -> Response {
    if request.post_logout_redirect_uri.is_empty() {
        let body = page(
            "Déconnexion",
            "<p>Vous êtes déconnecté(e) du simulateur FranceConnect.</p>",
        );
        return html(StatusCode::OK, body);
    }
    match loopback_url(&request.post_logout_redirect_uri) {
        Some(url) => back_to(url, &[("state", &request.state)]),
        None => error_page(
            "L’adresse de retour (post_logout_redirect_uri) doit être locale (127.0.0.1 ou localhost, avec un port).",
        ),
    }
}

/// Text made safe for HTML content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body` (already HTML); `title` is escaped.
fn page(title: &str, body: &str) -> String {
    let title = escape(title);
    format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} – FranceConnect (simulateur)</title>\n</head>\n<body>\n<main>\n\
         <h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )
}

/// An HTML answer: not cached (it carries the request's state and nonce), not framed,
/// and loading nothing.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = no_store((status, Html(body)).into_response());
    let csp = HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    response
}

fn error_page(message: &str) -> Response {
    let body = format!("<p>{}</p>", escape(message));
    html(StatusCode::BAD_REQUEST, page("Erreur de connexion", &body))
}

/// The page listing the people, one form each posting the request back to `action`.
fn login_page(action: &str, request: &AuthorizeRequest, people: &[Person]) -> String {
    let hidden: String = request
        .carried()
        .iter()
        .map(|(name, value)| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n", escape(value)))
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
    page("Se connecter avec FranceConnect", &body)
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
