//! Plumbing shared by the provider simulators: canned answers, people files, the
//! OAuth2 token desk and identity normalisation. Each simulator keeps its own paths,
//! checks and error bodies; only what was copied from one to the next lives here.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use passerelle_core::translit::fold;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::oauth::ClientAuth;

/// A canned upstream answer, as the people files spell it.
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
    /// Provider-specific fields that become response headers (`regime`, `location`);
    /// each simulator says which header each one feeds.
    #[serde(flatten)]
    pub headers: BTreeMap<String, String>,
}

impl Answer {
    /// Waits `delay_ms` (to exercise the gateway's timeouts), then answers: the raw body
    /// with its content type (`text/plain` by default), else the JSON body, else nothing.
    /// `headers` maps the people files' field names to the headers they fill.
    pub async fn respond(self, headers: &[(&str, HeaderName)]) -> Response {
        if self.delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(self.delay_ms)).await;
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = match (self.raw_body, self.body) {
            (Some(raw), _) => {
                let content_type = self.content_type.unwrap_or_else(|| "text/plain".into());
                (status, [(header::CONTENT_TYPE, content_type)], raw).into_response()
            }
            (None, Some(body)) => (status, Json(body)).into_response(),
            (None, None) => status.into_response(),
        };
        for (field, name) in headers {
            if let Some(value) = self.headers.get(*field).and_then(|v| v.parse().ok()) {
                response.headers_mut().insert(name.clone(), value);
            }
        }
        response
    }
}

#[derive(Deserialize)]
struct PeopleFile<P> {
    people: Vec<P>,
}

/// The people of every file (`include_str!`'d JSON with a `people` array), in order:
/// callers keep the first entry of a key, so the official cases win over ours.
pub fn people<P: DeserializeOwned>(files: &[&str]) -> Vec<P> {
    files
        .iter()
        .flat_map(|file| {
            let parsed: PeopleFile<P> =
                serde_json::from_str(file).expect("the simulator's people files are valid JSON");
            parsed.people
        })
        .collect()
}

/// The people of every file, keyed by `entry`: the first entry of a key wins, as in
/// [`people`].
pub fn keyed<P: DeserializeOwned, K: Eq + Hash, V>(files: &[&str], entry: impl Fn(P) -> (K, V)) -> HashMap<K, V> {
    let mut map = HashMap::new();
    for person in people::<P>(files) {
        let (key, value) = entry(person);
        map.entry(key).or_insert(value);
    }
    map
}

/// Identity values match without accents, case nor outer blanks, as the upstreams do.
pub fn normal(value: &str) -> String {
    fold(value.trim()).to_uppercase()
}

/// The `/token` form of the client credentials grant (fields absent in Basic mode).
#[derive(Deserialize)]
pub struct TokenForm {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub scope: Option<String>,
}

/// Issues random bearer tokens to the one known client and recognises them later.
pub struct TokenDesk {
    prefix: &'static str,
    client_id: &'static str,
    client_secret: &'static str,
    auth: ClientAuth,
    /// Issued tokens and the scope they were asked with.
    tokens: Mutex<HashMap<String, String>>,
}

impl TokenDesk {
    pub fn new(prefix: &'static str, client_id: &'static str, client_secret: &'static str, auth: ClientAuth) -> Self {
        TokenDesk {
            prefix,
            client_id,
            client_secret,
            auth,
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// A new token for `scope` if the client authenticated where the upstream expects it
    /// and, when there is a form, asked for the client credentials grant.
    pub fn issue(&self, headers: &HeaderMap, form: Option<&TokenForm>, scope: &str) -> Option<String> {
        let (id, secret) = match self.auth {
            ClientAuth::Basic => basic_credentials(headers)?,
            ClientAuth::Form => (form?.client_id.clone()?, form?.client_secret.clone()?),
        };
        let grant_ok = form.is_none_or(|f| f.grant_type.as_deref() == Some("client_credentials"));
        if id != self.client_id || secret != self.client_secret || !grant_ok {
            return None;
        }
        let token = format!("{}-{:032x}", self.prefix, rand::random::<u128>());
        self.tokens
            .lock()
            .expect("token table")
            .insert(token.clone(), scope.to_string());
        Some(token)
    }

    /// The scope of the bearer token the request carries, if we issued it.
    pub fn scope(&self, headers: &HeaderMap) -> Option<String> {
        let bearer = bearer(headers)?;
        self.tokens.lock().expect("token table").get(bearer).cloned()
    }
}

/// The token of `Authorization: Bearer …`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.strip_prefix("Basic ")?)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The OAuth2 answer with a bearer token; `scope` is echoed where the upstream does.
pub fn token_answer(access_token: &str, expires_in: u64, scope: Option<&str>) -> Response {
    let mut body = json!({"access_token": access_token, "token_type": "Bearer", "expires_in": expires_in});
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    Json(body).into_response()
}

/// The OAuth2 refusal of unknown clients: 401 `invalid_client`.
pub fn invalid_client(description: &str) -> Response {
    let body = json!({"error": "invalid_client", "error_description": description});
    (StatusCode::UNAUTHORIZED, Json(body)).into_response()
}
