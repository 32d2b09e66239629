//! What the simulated OpenID Connect providers (FranceConnect's login side and
//! ProConnect) do alike: their paths, the tables of live codes and tokens, URLs from
//! the request's `Host`, the checks of authorization and token requests, the signed
//! answers and the plain HTML pages. Each simulator keeps its accounts, its claims and
//! its pages' texts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::OriginalUri;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use reqwest::Url;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::france_connect::jose::{self, SigningKey};
use crate::simulation;

/// The issuer is the base URL followed by this path.
pub const ISSUER_PATH: &str = "/api/v2";
pub const DISCOVERY_PATH: &str = "/api/v2/.well-known/openid-configuration";
pub const AUTHORIZE_PATH: &str = "/api/v2/authorize";
pub const TOKEN_PATH: &str = "/api/v2/token";
pub const USERINFO_PATH: &str = "/api/v2/userinfo";
pub const JWKS_PATH: &str = "/api/v2/jwks";
pub const END_SESSION_PATH: &str = "/api/v2/session/end";

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

/// Lifetime of codes, access tokens and ID tokens, as both providers'.
pub(crate) const LIFETIME: Duration = Duration::from_secs(60);

/// Cap on live entries of each table: past it the oldest goes first.
const MAX_LIVE: usize = 10_000;

/// Values under random keys, each living `ttl`; expired ones go at each insert.
pub(crate) struct Expiring<T> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, T)>>,
}

impl<T: Clone> Expiring<T> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Expiring {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// Stores `value` under a new random key, returned.
    pub(crate) fn insert(&self, value: T) -> String {
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
        // 256 random bits, base64url (43 characters).
        let key = jose::b64(&rand::random::<[u8; 32]>());
        entries.insert(key.clone(), (now + self.ttl, value));
        key
    }

    /// The value if still alive, left in place.
    pub(crate) fn get(&self, key: &str) -> Option<T> {
        let entries = self.entries.lock().expect("login table");
        let (expires, value) = entries.get(key)?;
        (*expires > Instant::now()).then(|| value.clone())
    }

    /// The value if still alive, removed: a second take finds nothing.
    pub(crate) fn take(&self, key: &str) -> Option<T> {
        let (expires, value) = self.entries.lock().expect("login table").remove(key)?;
        (expires > Instant::now()).then_some(value)
    }
}

/// What a code, then its access token, stands for.
#[derive(Clone)]
pub(crate) struct Grant {
    /// The account's index in the simulator's list.
    pub account: usize,
    pub redirect_uri: String,
    pub nonce: String,
    pub scope: String,
    pub auth_time: i64,
}

impl Grant {
    /// A login of `account` just now, for `asked`, with the scopes `known` keeps.
    pub(crate) fn new<Own>(account: usize, asked: &AuthorizeRequest<Own>, known: impl Fn(&str) -> bool) -> Grant {
        let scope: Vec<&str> = asked
            .scope
            .split_whitespace()
            .filter(|s| *s == "openid" || known(s))
            .collect();
        Grant {
            account,
            redirect_uri: asked.redirect_uri.clone(),
            nonce: asked.nonce.clone(),
            scope: scope.join(" "),
            auth_time: chrono::Utc::now().timestamp(),
        }
    }
}

/// The authorization request, as a query (GET) or as the login page's form (POST):
/// the parameters both providers read, then the provider's `own`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct AuthorizeRequest<Own> {
    pub response_type: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub state: String,
    pub nonce: String,
    pub acr_values: String,
    #[serde(flatten)]
    pub own: Own,
}

impl<Own> AuthorizeRequest<Own> {
    /// The common fields the login page carries over to its POST.
    pub(crate) fn carried(&self) -> [(&'static str, &str); 7] {
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

/// An OAuth error code and its description.
pub(crate) type OauthError = (&'static str, &'static str);

/// One simulated provider: its name on the pages and its one login client.
pub(crate) struct Provider {
    pub name: &'static str,
    pub client_id: &'static str,
    pub client_secret: &'static str,
}

impl Provider {
    /// A whole page around `body` (already HTML); `title` is escaped.
    pub(crate) fn page(&self, title: &str, body: &str) -> String {
        let title = escape(title);
        format!(
            "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title} – {name} (simulateur)</title>\n</head>\n<body>\n<main>\n\
             <h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
            name = self.name,
        )
    }

    pub(crate) fn error_page(&self, message: &str) -> Response {
        let body = format!("<p>{}</p>", escape(message));
        html(StatusCode::BAD_REQUEST, self.page("Erreur de connexion", &body))
    }

    /// The client's redirect URI once the request is sound; else the answer to give: a
    /// page when the client or its URI is unknown (OIDC forbids redirecting to an
    /// unchecked URI), a redirect with the error otherwise. `own` is the provider's own
    /// error, reported after the common ones.
    pub(crate) fn checked<Own>(&self, asked: &AuthorizeRequest<Own>, own: Option<OauthError>) -> Result<Url, Response> {
        if asked.client_id != self.client_id {
            return Err(self.error_page("Le client (client_id) est inconnu du simulateur."));
        }
        let Some(redirect) = loopback_url(&asked.redirect_uri) else {
            return Err(self.error_page(
                "L’adresse de retour (redirect_uri) doit être http://127.0.0.1:<port>/… ou http://localhost:<port>/….",
            ));
        };
        match request_error(asked).or(own) {
            Some(error) => Err(refuse_to(redirect, error, &asked.state)),
            None => Ok(redirect),
        }
    }

    pub(crate) fn is_client(&self, id: &str, secret: &str) -> bool {
        id == self.client_id && secret == self.client_secret
    }

    /// Pairwise: stable for an account and a client, different across clients. The
    /// client id has a fixed length here, so the concatenation is unambiguous.
    pub(crate) fn subject(&self, account_id: &str) -> String {
        hex::encode(Sha256::digest(format!("{account_id}{}", self.client_id)))
    }

    /// The claims of a password login's ID token.
    pub(crate) fn id_token_claims(&self, issuer: &str, subject: &str, grant: &Grant, access_token: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": issuer,
            "sub": subject,
            "aud": self.client_id,
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

    /// The userinfo claims before the account's own; `iat` and `exp` too, so that a
    /// client can check the JWT as it checks an ID token.
    pub(crate) fn userinfo_claims(&self, issuer: &str, subject: &str) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": issuer,
            "aud": self.client_id,
            "sub": subject,
            "iat": now,
            "exp": now + lifetime_secs(),
        })
    }

    /// Logout: back to a local `post_logout_redirect_uri` with the state, else a page.
    pub(crate) fn end_session(&self, request: &EndSession) -> Response {
        if request.post_logout_redirect_uri.is_empty() {
            let text = format!("<p>Vous êtes déconnecté(e) du simulateur {}.</p>", self.name);
            return html(StatusCode::OK, self.page("Déconnexion", &text));
        }
        match loopback_url(&request.post_logout_redirect_uri) {
            Some(url) => back_to(url, &[("state", &request.state)]),
            None => self.error_page(
                "L’adresse de retour (post_logout_redirect_uri) doit être locale (127.0.0.1 ou localhost, avec un port).",
            ),
        }
    }
}

/// `id_token_hint` is accepted and ignored: the simulators keep no session to end.
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct EndSession {
    state: String,
    post_logout_redirect_uri: String,
}

fn lifetime_secs() -> i64 {
    i64::try_from(LIFETIME.as_secs()).unwrap_or(60)
}

/// `http://{Host}` followed by the path the router is nested under.
pub(crate) fn base_url(headers: &HeaderMap, uri: &OriginalUri, route: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| is_host(h))
        .unwrap_or("127.0.0.1");
    format!("http://{host}{}", prefix(uri, route))
}

/// The issuer, as the request's `Host` and path show it.
pub(crate) fn issuer(headers: &HeaderMap, uri: &OriginalUri, route: &str) -> String {
    format!("{}{ISSUER_PATH}", base_url(headers, uri, route))
}

/// The path the router is nested under, found by taking `route` off the request's path.
pub(crate) fn prefix<'a>(uri: &'a OriginalUri, route: &str) -> &'a str {
    uri.path().strip_suffix(route).unwrap_or_default()
}

/// A host and port, nothing that could bend the URLs built from it.
fn is_host(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The discovery document for `base`: what both providers say, then `own` (the
/// provider's entries, in order), then the scopes (besides `openid`) and the claims
/// (besides the ID token's) of userinfo.
pub(crate) fn discovery(base: &str, own: Value, scopes: &[&str], claims: &[&str]) -> Json<Value> {
    let mut meta = json!({
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
    });
    if let (Some(meta), Value::Object(own)) = (meta.as_object_mut(), own) {
        meta.extend(own);
    }
    let scopes: Vec<&str> = std::iter::once("openid").chain(scopes.iter().copied()).collect();
    let claims: Vec<&str> = ID_TOKEN_CLAIMS.iter().chain(claims).copied().collect();
    meta["scopes_supported"] = json!(scopes);
    meta["claims_supported"] = json!(claims);
    Json(meta)
}

/// A loopback `http` URL with a port (a local client), else `None`.
pub(crate) fn loopback_url(raw: &str) -> Option<Url> {
    let url = Url::parse(raw).ok()?;
    let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost"));
    let plain = url.username().is_empty() && url.password().is_none() && url.fragment().is_none();
    (url.scheme() == "http" && loopback && url.port().is_some() && plain).then_some(url)
}

/// What is wrong with the request besides its client.
fn request_error<Own>(asked: &AuthorizeRequest<Own>) -> Option<OauthError> {
    if asked.response_type != "code" {
        return Some(("unsupported_response_type", "response_type must be code"));
    }
    if !asked.scope.split_whitespace().any(|s| s == "openid") {
        return Some(("invalid_scope", "scope must contain openid"));
    }
    if asked.state.is_empty() || asked.nonce.is_empty() {
        return Some(("invalid_request", "state and nonce are required"));
    }
    None
}

/// 302 to `url` with `params` added to its query (empty values left out); not cached,
/// as it may carry a code.
pub(crate) fn back_to(mut url: Url, params: &[(&str, &str)]) -> Response {
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(name, value);
        }
    }
    no_store((StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response())
}

fn refuse_to(url: Url, (error, description): OauthError, state: &str) -> Response {
    back_to(
        url,
        &[("error", error), ("error_description", description), ("state", state)],
    )
}

/// The token request of the authorization code grant (`code_verifier` with PKCE).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(crate) struct TokenRequest {
    pub grant_type: String,
    pub code: String,
    pub redirect_uri: String,
    pub client_id: String,
    pub client_secret: String,
    pub code_verifier: String,
}

/// An RFC 6749 error answer of the token endpoint.
pub(crate) fn token_error(status: StatusCode, error: &str, description: &str) -> Response {
    let body = json!({"error": error, "error_description": description});
    no_store((status, Json(body)).into_response())
}

/// The answer to a token request that is no form.
pub(crate) fn not_a_form() -> Response {
    token_error(StatusCode::BAD_REQUEST, "invalid_request", "a form body is expected")
}

/// The value behind the request's code, checked in RFC 6749's order once the client
/// is: parameters, grant type, then the code itself (spent even when what the caller
/// checks next does not match).
pub(crate) fn spend_code<T: Clone>(codes: &Expiring<T>, request: &TokenRequest) -> Result<T, Response> {
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
    codes
        .take(&request.code)
        .ok_or_else(|| invalid_grant("unknown, used or expired code"))
}

pub(crate) fn invalid_grant(description: &str) -> Response {
    token_error(StatusCode::BAD_REQUEST, "invalid_grant", description)
}

/// The token endpoint's success: the access token and the ID token of `claims`.
pub(crate) fn token_answer(signing: &SigningKey, access_token: &str, claims: &Value, scope: &str) -> Response {
    let Ok(id_token) = signing.sign(claims) else {
        return token_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "signing failed");
    };
    no_store(
        Json(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": LIFETIME.as_secs(),
            "id_token": id_token,
            "scope": scope,
        }))
        .into_response(),
    )
}

/// The live access token the request bears; else RFC 6750's 401 (with no error code
/// when no token came at all).
pub(crate) fn bearer_of<T: Clone>(tokens: &Expiring<T>, headers: &HeaderMap) -> Result<T, Response> {
    let Some(bearer) = simulation::bearer(headers) else {
        return Err(unauthorized("Bearer"));
    };
    tokens
        .get(bearer)
        .ok_or_else(|| unauthorized("Bearer error=\"invalid_token\""))
}

fn unauthorized(challenge: &'static str) -> Response {
    let challenge = HeaderValue::from_static(challenge);
    (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, challenge)]).into_response()
}

/// Userinfo's answer: `claims` as a signed JWT.
pub(crate) fn signed_userinfo(signing: &SigningKey, claims: &Value) -> Response {
    match signing.sign(claims) {
        Ok(jws) => no_store(([(header::CONTENT_TYPE, "application/jwt")], jws).into_response()),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

pub(crate) fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// Text made safe for HTML content and attribute values.
pub(crate) fn escape(text: &str) -> String {
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

/// An HTML answer: not cached (it carries the request's state and nonce), not framed,
/// and loading nothing.
pub(crate) fn html(status: StatusCode, body: String) -> Response {
    let mut response = no_store((status, Html(body)).into_response());
    let csp = HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'");
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    response
}

pub(crate) fn hidden(name: &str, value: &str) -> String {
    format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">\n", escape(value))
}

#[cfg(test)]
pub(crate) mod test_support;

#[cfg(test)]
mod tests;
