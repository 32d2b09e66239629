//! The ProConnect simulator's routes: discovery, the login page (plain HTML, no
//! JavaScript), the second-factor page, token, userinfo (a signed JWT), JWKS and logout.
//! Redirect URIs must be loopback with a port (the registration of the one client), so
//! the simulator never sends a browser elsewhere. It logs nothing: answers carry
//! identities.
//!
//! URLs are derived from the request's `Host` and from where the router is nested
//! (`/pro_connect` among the simulators), so one simulator answers on any port.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{OriginalUri, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{
    agents, Agent, ACR_2FA, ACR_EIDAS1, AUTHORIZE_PATH, DEMO_OTP, DISCOVERY_PATH, END_SESSION_PATH, IDP_ID,
    ISSUER_PATH, JWKS_PATH, LOGIN_CLIENT_ID, LOGIN_CLIENT_SECRET, SECOND_FACTOR_PATH, TOKEN_PATH, USERINFO_PATH,
};
use crate::france_connect::jose::{self, SigningKey};
use crate::simulation;

/// Lifetime of codes, access tokens and ID tokens.
const LIFETIME: Duration = Duration::from_secs(60);

/// Time an agent has to type the one-time code.
const SECOND_FACTOR_LIFETIME: Duration = Duration::from_secs(600);

/// Cap on live entries of each table: past it the oldest goes first.
const MAX_LIVE: usize = 10_000;

/// The scopes a client may ask and the userinfo claim each gives, as ProConnect's.
const SCOPE_CLAIMS: &[(&str, &str)] = &[
    ("email", "email"),
    ("given_name", "given_name"),
    ("usual_name", "usual_name"),
    ("uid", "uid"),
    ("siret", "siret"),
    ("phone", "phone_number"),
    ("organizational_unit", "organizational_unit"),
    ("idp_id", "idp_id"),
];

const ID_TOKEN_CLAIMS: &[&str] = &[
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

/// What a code, then its access token, stands for.
#[derive(Clone)]
struct Grant {
    redirect_uri: String,
    nonce: String,
    scope: String,
    agent: usize,
    auth_time: i64,
    /// Whether the agent gave a second factor.
    mfa: bool,
    /// The PKCE S256 challenge, empty when the client sent none.
    code_challenge: String,
}

/// A login waiting for its one-time code.
#[derive(Clone)]
struct Pending {
    grant: Grant,
    state: String,
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
        let key = jose::b64(&rand::random::<[u8; 32]>());
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

/// The simulator: its agents, its signing key, live codes, access tokens and logins
/// waiting for a second factor.
pub struct Simulator {
    agents: Vec<Agent>,
    signing: SigningKey,
    codes: Expiring<Grant>,
    tokens: Expiring<Grant>,
    second_factors: Expiring<Pending>,
}

impl Simulator {
    pub fn with_default_agents() -> Arc<Simulator> {
        Simulator::new(agents())
    }

    pub fn new(agents: Vec<Agent>) -> Arc<Simulator> {
        Arc::new(Simulator {
            agents,
            // A new key at each start, under a new kid: a client that kept the previous
            // one fetches the JWKS again instead of failing.
            signing: SigningKey::generate(&format!("pc-simulateur-{:016x}", rand::random::<u64>()))
                .expect("P-256 key generation works"),
            codes: Expiring::new(LIFETIME),
            tokens: Expiring::new(LIFETIME),
            second_factors: Expiring::new(SECOND_FACTOR_LIFETIME),
        })
    }

    fn find(&self, email: &str) -> Option<usize> {
        self.agents.iter().position(|a| a.email == email)
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(DISCOVERY_PATH, get(discovery))
        .route(AUTHORIZE_PATH, get(authorize).post(choose))
        .route(SECOND_FACTOR_PATH, post(second_factor))
        .route(TOKEN_PATH, post(token))
        .route(USERINFO_PATH, get(userinfo))
        .route(JWKS_PATH, get(jwks))
        .route(END_SESSION_PATH, get(end_session))
        .with_state(simulator)
}

/// `http://{Host}` followed by the path the router is nested under, found by taking
/// `route` off the request's original path.
fn base_url(headers: &HeaderMap, uri: &OriginalUri, route: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_host(h))
        .unwrap_or("127.0.0.1");
    format!("http://{host}{}", prefix(uri, route))
}

/// The path the router is nested under.
fn prefix<'a>(uri: &'a OriginalUri, route: &str) -> &'a str {
    uri.path().strip_suffix(route).unwrap_or_default()
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
        .chain(SCOPE_CLAIMS.iter().map(|(s, _)| *s))
        .collect();
    let claims: Vec<&str> = ID_TOKEN_CLAIMS
        .iter()
        .copied()
        .chain(SCOPE_CLAIMS.iter().map(|(_, c)| *c))
        .collect();
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
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "code_challenge_methods_supported": ["S256"],
        "acr_values_supported": [ACR_EIDAS1, ACR_2FA],
        "claims_parameter_supported": true,
        "scopes_supported": scopes,
        "claims_supported": claims,
    }))
}

async fn jwks(State(sim): State<Arc<Simulator>>) -> Json<Value> {
    Json(json!({"keys": [sim.signing.jwk()]}))
}

/// The authorization request, as a query (GET) or as the login page's form (POST, with
/// the `agent` chosen).
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
    claims: String,
    code_challenge: String,
    code_challenge_method: String,
    agent: String,
}

impl AuthorizeRequest {
    /// The fields the login page carries over to its POST.
    fn carried(&self) -> [(&'static str, &str); 10] {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("scope", &self.scope),
            ("state", &self.state),
            ("nonce", &self.nonce),
            ("acr_values", &self.acr_values),
            ("claims", &self.claims),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
        ]
    }

    /// Whether the client asks for the second-factor level, by `acr_values` or by a
    /// `claims` request on the ID token's `acr`.
    fn asks_second_factor(&self) -> bool {
        self.acr_values.split_whitespace().any(|acr| acr == ACR_2FA)
            || serde_json::from_str::<Value>(&self.claims).is_ok_and(|claims| {
                let acr = &claims["id_token"]["acr"];
                acr["value"] == ACR_2FA || acr["values"].as_array().is_some_and(|v| v.iter().any(|a| a == ACR_2FA))
            })
    }
}

/// A loopback `http` URL with a port (a local client), else `None`.
fn loopback_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw).ok()?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost"));
    let plain = url.username().is_empty() && url.password().is_none() && url.fragment().is_none();
    (url.scheme() == "http" && loopback && url.port().is_some() && plain).then_some(url)
}

/// The client's redirect URI once the client is known and the URI registered; else the
/// page the browser stays on (OIDC forbids redirecting to an unchecked URI).
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
    if !request.claims.is_empty() && !serde_json::from_str::<Value>(&request.claims).is_ok_and(|c| c.is_object()) {
        return Some(("invalid_request", "claims must be a JSON object"));
    }
    pkce_error(&request.code_challenge, &request.code_challenge_method)
}

/// PKCE is optional, and S256 only: `plain` (the default method) would add nothing.
fn pkce_error(challenge: &str, method: &str) -> Option<(&'static str, &'static str)> {
    match (challenge.is_empty(), method) {
        (true, "") => None,
        (false, "S256") if is_pkce_text(challenge) => None,
        (false, "S256") => Some(("invalid_request", "code_challenge is malformed")),
        _ => Some((
            "invalid_request",
            "code_challenge_method must be S256, with a code_challenge",
        )),
    }
}

/// RFC 7636's alphabet and length, for challenges and verifiers alike.
fn is_pkce_text(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The request, checked; else the answer to give (a page, or a redirect with an error).
fn checked(request: &AuthorizeRequest) -> Result<Url, Response> {
    let redirect = trusted_redirect(request)?;
    match request_error(request) {
        Some(error) => Err(refuse_to(redirect, error, &request.state)),
        None => Ok(redirect),
    }
}

/// 302 to `url` with `params` added to its query (empty values left out).
fn back_to(mut url: Url, params: &[(&str, &str)]) -> Response {
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    no_store((StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response())
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
    headers: HeaderMap,
    query: Result<Query<AuthorizeRequest>, QueryRejection>,
) -> Response {
    let Ok(Query(request)) = query else {
        return error_page("La demande de connexion est mal formée.");
    };
    let redirect = match checked(&request) {
        Ok(url) => url,
        Err(answer) => return answer,
    };
    // A step-up within an open session asks no one to pick their account again, as
    // ProConnect's own session does.
    let known = signed_in(&headers).and_then(|email| sim.find(&email));
    match known {
        Some(agent) if request.asks_second_factor() => log_in(&sim, &uri, request, agent, redirect),
        _ => html(StatusCode::OK, login_page(uri.path(), &request, &sim.agents)),
    }
}

/// The simulator's session cookie: who logged in last from this browser.
const SESSION_COOKIE: &str = "proconnect_simulateur";

fn signed_in(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.to_string())
}

async fn choose(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    form: Result<Form<AuthorizeRequest>, FormRejection>,
) -> Response {
    let Ok(Form(request)) = form else {
        return error_page("Le formulaire de connexion est mal formé.");
    };
    let redirect = match checked(&request) {
        Ok(url) => url,
        Err(answer) => return answer,
    };
    let Some(agent) = sim.find(&request.agent) else {
        return error_page("Cet agent est inconnu du simulateur.");
    };
    let mut answer = log_in(&sim, &uri, request, agent, redirect);
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax",
        sim.agents[agent].email
    );
    if let Ok(value) = axum::http::HeaderValue::from_str(&cookie) {
        answer.headers_mut().append(axum::http::header::SET_COOKIE, value);
    }
    answer
}

/// The agent logged in: a code back to the client, or first the second-factor page.
fn log_in(sim: &Simulator, uri: &OriginalUri, request: AuthorizeRequest, agent: usize, redirect: Url) -> Response {
    let wants_mfa = request.asks_second_factor();
    let grant = Grant {
        redirect_uri: request.redirect_uri.clone(),
        nonce: request.nonce.clone(),
        scope: granted_scope(&request.scope),
        agent,
        auth_time: chrono::Utc::now().timestamp(),
        mfa: wants_mfa && sim.agents[agent].mfa,
        code_challenge: request.code_challenge.clone(),
    };
    if wants_mfa && !grant.mfa {
        let name = sim.agents[agent].name();
        let transaction = sim.second_factors.insert(Pending {
            grant,
            state: request.state,
        });
        let action = format!("{}{SECOND_FACTOR_PATH}", prefix(uri, AUTHORIZE_PATH));
        return html(StatusCode::OK, second_factor_page(&action, &transaction, &name, false));
    }
    let code = sim.codes.insert(grant);
    back_to(redirect, &[("code", &code), ("state", &request.state)])
}

/// The scopes asked that the simulator knows, in the order asked.
fn granted_scope(asked: &str) -> String {
    let known = |s: &&str| *s == "openid" || SCOPE_CLAIMS.iter().any(|(scope, _)| scope == s);
    asked.split_whitespace().filter(known).collect::<Vec<_>>().join(" ")
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SecondFactorForm {
    transaction: String,
    otp: String,
}

async fn second_factor(
    State(sim): State<Arc<Simulator>>,
    uri: OriginalUri,
    form: Result<Form<SecondFactorForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return error_page("Le formulaire du second facteur est mal formé.");
    };
    let expired = || error_page("Cette connexion a expiré : recommencez depuis le service.");
    let Some(pending) = sim.second_factors.get(&form.transaction) else {
        return expired();
    };
    if form.otp.trim() != DEMO_OTP {
        let name = sim.agents[pending.grant.agent].name();
        return html(
            StatusCode::BAD_REQUEST,
            second_factor_page(uri.path(), &form.transaction, &name, true),
        );
    }
    // Taken only now: a wrong code leaves the agent another try.
    let Some(Pending { grant, state }) = sim.second_factors.take(&form.transaction) else {
        return expired();
    };
    let Some(redirect) = loopback_url(&grant.redirect_uri) else {
        return expired();
    };
    let code = sim.codes.insert(Grant {
        mfa: true,
        auth_time: chrono::Utc::now().timestamp(),
        ..grant
    });
    back_to(redirect, &[("code", &code), ("state", &state)])
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TokenRequest {
    grant_type: String,
    code: String,
    redirect_uri: String,
    client_id: String,
    client_secret: String,
    code_verifier: String,
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
    let grant = match authenticate(&headers, &request).and_then(|()| redeem(&sim, &request)) {
        Ok(grant) => grant,
        Err(refusal) => return refusal,
    };
    let issuer = format!("{}{ISSUER_PATH}", base_url(&headers, &uri, TOKEN_PATH));
    let access_token = sim.tokens.insert(grant.clone());
    let claims = id_token_claims(&issuer, &grant, &sim.agents[grant.agent], &access_token);
    let Ok(id_token) = sim.signing.sign(&claims) else {
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

/// The client, authenticated by `client_secret_basic` or `client_secret_post` (one of
/// them, as RFC 6749 §2.3 asks).
fn authenticate(headers: &HeaderMap, request: &TokenRequest) -> Result<(), Response> {
    let basic = headers.contains_key(header::AUTHORIZATION);
    if basic && !request.client_secret.is_empty() {
        let description = "one client authentication method only";
        return Err(token_error(StatusCode::BAD_REQUEST, "invalid_request", description));
    }
    let credentials = if basic {
        basic_credentials(headers)
    } else {
        Some((request.client_id.clone(), request.client_secret.clone()))
    };
    if credentials.is_some_and(|(id, secret)| id == LOGIN_CLIENT_ID && secret == LOGIN_CLIENT_SECRET) {
        return Ok(());
    }
    let refusal = token_error(
        StatusCode::UNAUTHORIZED,
        "invalid_client",
        "client authentication failed",
    );
    Err(if basic { with_basic_challenge(refusal) } else { refusal })
}

/// RFC 6749 §5.2: a failed Basic authentication answers with its challenge.
fn with_basic_challenge(mut response: Response) -> Response {
    let challenge = HeaderValue::from_static("Basic realm=\"ProConnect\"");
    response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    response
}

/// `Authorization: Basic` credentials. Our client's id and secret need no
/// form-encoding, so they are compared as they come.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The grant behind the request's code, checked in RFC 6749's order: parameters, grant
/// type, then the code itself (spent even when the rest does not match).
fn redeem(sim: &Simulator, request: &TokenRequest) -> Result<Grant, Response> {
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
    let invalid_grant = |description| token_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
    let grant = sim
        .codes
        .take(&request.code)
        .ok_or_else(|| invalid_grant("unknown, used or expired code"))?;
    if grant.redirect_uri != request.redirect_uri {
        return Err(invalid_grant("redirect_uri differs from the authorization request's"));
    }
    if !pkce_matches(&grant.code_challenge, &request.code_verifier) {
        return Err(invalid_grant("code_verifier does not match the code_challenge"));
    }
    Ok(grant)
}

/// With a challenge, the verifier must hash to it; without, no verifier may come (a
/// verifier alone would be a client confused about its own flow).
fn pkce_matches(challenge: &str, verifier: &str) -> bool {
    if challenge.is_empty() {
        return verifier.is_empty();
    }
    is_pkce_text(verifier) && jose::b64(&Sha256::digest(verifier.as_bytes())) == challenge
}

/// Stable for an agent and a client, different across clients. The client id has a
/// fixed length here, so the concatenation is unambiguous.
fn subject(agent: &Agent) -> String {
    hex::encode(Sha256::digest(format!("{}{LOGIN_CLIENT_ID}", agent.uid)))
}

fn lifetime_secs() -> i64 {
    i64::try_from(LIFETIME.as_secs()).unwrap_or(60)
}

fn id_token_claims(issuer: &str, grant: &Grant, agent: &Agent, access_token: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    let (acr, amr) = if grant.mfa {
        (ACR_2FA, json!(["pwd", "mfa"]))
    } else {
        (ACR_EIDAS1, json!(["pwd"]))
    };
    json!({
        "iss": issuer,
        "sub": subject(agent),
        "aud": LOGIN_CLIENT_ID,
        "exp": now + lifetime_secs(),
        "iat": now,
        "nonce": grant.nonce,
        "acr": acr,
        "amr": amr,
        "auth_time": grant.auth_time,
        // OIDC Core 3.1.3.6: the left half of the access token's SHA-256.
        "at_hash": jose::b64(&Sha256::digest(access_token.as_bytes())[..16]),
    })
}

/// The value of a userinfo claim for the agent; `None` when the agent has none.
fn claim(agent: &Agent, name: &str) -> Option<String> {
    let value = match name {
        "email" => &agent.email,
        "given_name" => &agent.given_name,
        "usual_name" => &agent.usual_name,
        "uid" => &agent.uid,
        "siret" => &agent.siret,
        "phone_number" => &agent.phone,
        "organizational_unit" => agent.organizational_unit.as_ref()?,
        "idp_id" => IDP_ID,
        _ => return None,
    };
    Some(value.to_string())
}

async fn userinfo(State(sim): State<Arc<Simulator>>, uri: OriginalUri, headers: HeaderMap) -> Response {
    let Some(bearer) = simulation::bearer(&headers) else {
        return unauthorized("Bearer");
    };
    let Some(grant) = sim.tokens.get(bearer) else {
        return unauthorized("Bearer error=\"invalid_token\"");
    };
    let agent = &sim.agents[grant.agent];
    let now = chrono::Utc::now().timestamp();
    // `iat` and `exp` too, so that a client can check the JWT as it checks an ID token.
    let mut claims = json!({
        "iss": format!("{}{ISSUER_PATH}", base_url(&headers, &uri, USERINFO_PATH)),
        "aud": LOGIN_CLIENT_ID,
        "sub": subject(agent),
        "iat": now,
        "exp": now + lifetime_secs(),
    });
    for scope in grant.scope.split_whitespace() {
        let Some((_, name)) = SCOPE_CLAIMS.iter().find(|(s, _)| *s == scope) else {
            continue;
        };
        if let Some(value) = claim(agent, name) {
            claims[*name] = json!(value);
        }
    }
    match sim.signing.sign(&claims) {
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

async fn end_session(query: Result<Query<EndSession>, QueryRejection>) -> Response {
    let Ok(Query(request)) = query else {
        return error_page("La demande de déconnexion est mal formée.");
    };
    if request.post_logout_redirect_uri.is_empty() {
        let body = page(
            "Déconnexion",
            "<p>Vous êtes déconnecté(e) du simulateur ProConnect.</p>",
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
         <title>{title} – ProConnect (simulateur)</title>\n</head>\n<body>\n<main>\n\
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

fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n", escape(value))
}

/// The page listing the agents, one form each posting the request back to `action`.
fn login_page(action: &str, request: &AuthorizeRequest, agents: &[Agent]) -> String {
    let hidden: String = request
        .carried()
        .iter()
        .map(|(name, value)| hidden(name, value))
        .collect();
    let items: String = agents
        .iter()
        .enumerate()
        .map(|(i, agent)| agent_item(i, agent, action, &hidden))
        .collect();
    let step_up = if request.asks_second_factor() {
        "<p>Le service demande une double authentification.</p>\n"
    } else {
        ""
    };
    let body = format!(
        "<p>Simulateur : aucun mot de passe n’est demandé. Choisissez l’agent au nom \
         duquel vous vous connectez.</p>\n{step_up}<ul>\n{items}</ul>"
    );
    page("Se connecter avec ProConnect", &body)
}

fn agent_item(i: usize, agent: &Agent, action: &str, hidden: &str) -> String {
    let email = escape(&agent.email);
    let name = escape(&agent.name());
    let second_factor = if agent.mfa {
        "double authentification configurée"
    } else {
        "sans double authentification"
    };
    format!(
        "<li>\n<form method=\"post\" action=\"{action}\">\n{hidden}\
         <p id=\"agent-{i}\">{name}, {job} – {organisation} (SIRET {siret})<br>\n\
         {email} · rôle de démonstration : {role} · {second_factor}</p>\n\
         <button type=\"submit\" name=\"agent\" value=\"{email}\" data-agent=\"{email}\" \
         aria-describedby=\"agent-{i}\">Se connecter en tant que {name}</button>\n\
         </form>\n</li>\n",
        action = escape(action),
        job = escape(&agent.job_title),
        organisation = escape(&agent.organisation),
        siret = escape(&agent.siret),
        role = escape(&agent.role_hint),
    )
}

/// The one-time code page, with an error message after a wrong code.
fn second_factor_page(action: &str, transaction: &str, name: &str, wrong: bool) -> String {
    let (error, described) = if wrong {
        (
            "<p id=\"otp-erreur\" role=\"alert\">Code incorrect : vérifiez-le et réessayez.</p>\n",
            " aria-invalid=\"true\" aria-describedby=\"otp-erreur\"",
        )
    } else {
        ("", "")
    };
    let body = format!(
        "<p>Le service demande une double authentification, que le compte de {name} \
         n’a pas encore configurée.</p>\n\
         <p>Simulateur : le code de démonstration est <strong>{DEMO_OTP}</strong>.</p>\n{error}\
         <form method=\"post\" action=\"{action}\">\n{transaction}\
         <label for=\"otp\">Code à usage unique (6 chiffres)</label>\n\
         <input id=\"otp\" name=\"otp\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" required{described}>\n\
         <button type=\"submit\" data-second-factor=\"valider\">Valider</button>\n</form>",
        name = escape(name),
        action = escape(action),
        transaction = hidden("transaction", transaction),
    );
    page("Second facteur d’authentification", &body)
}
