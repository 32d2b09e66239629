//! A simulator of FranceConnect's check-token service for data providers:
//! `POST /api/v2/checktoken` (form `client_id`, `client_secret`, `token`) answers a JWE
//! encrypted to the gateway's key (fetched from the gateway's JWKS, as FranceConnect
//! does from the URL a data provider registers), wrapping a JWS signed with this
//! simulator's P-256 key, published on `GET /api/v2/jwks`.
//! Its citizens come from `people.json` (every FranceConnect mock of the official
//! sandbox, and one citizen per identity of the `*_with_france_connect` cases, derived
//! by `tools/derive_france_connect_people.py`) and `people_synthetic.json` (our own
//! failure cases). It logs nothing: answers carry identities.
//! The same people can also log in to Passerelle's pages: see [`super::login`], the
//! OpenID Connect side of the simulator, whose routes `router` adds.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use super::jose::{self, SigningKey};
use super::login::{self, Logins};
use super::API_NAMES;
use crate::simulation::{self, Answer};

pub const CHECK_TOKEN_PATH: &str = "/api/v2/checktoken";
pub const JWKS_PATH: &str = "/api/v2/jwks";

/// Where the gateway publishes its encryption key when it runs with its defaults.
pub const DEFAULT_GATEWAY_JWKS_URL: &str = "http://127.0.0.1:8080/api/france_connect_jwks";

const PEOPLE: &str = include_str!("people.json");
const SYNTHETIC_PEOPLE: &str = include_str!("people_synthetic.json");

/// Each API is its own FranceConnect client; the demo credentials follow its name.
pub fn client_id(api: &str) -> String {
    format!("passerelle-demo-{api}")
}

pub fn client_secret(api: &str) -> String {
    format!("demo-secret-fc-{api}")
}

#[derive(Debug, Deserialize)]
struct Citizen {
    token: String,
    #[serde(default)]
    token_introspection: Option<Value>,
    /// A canned failure instead of an introspection.
    #[serde(default)]
    answer: Option<Answer>,
}

/// Every token the simulator knows with the introspection it gives (the failure tokens
/// aside), for tools that pick a citizen by identity.
pub fn citizens() -> Vec<(String, Value)> {
    simulation::people::<Citizen>(&[PEOPLE, SYNTHETIC_PEOPLE])
        .into_iter()
        .filter_map(|c| Some((c.token, c.token_introspection?)))
        .collect()
}

pub struct Simulator {
    citizens: HashMap<String, Citizen>,
    signing: SigningKey,
    gateway_jwks_url: String,
    http: reqwest::Client,
    logins: Logins,
}

impl Simulator {
    /// The simulator, encrypting to the key published at `gateway_jwks_url`.
    pub fn with_default_people(gateway_jwks_url: &str) -> Arc<Simulator> {
        let logins = Logins::new(citizens());
        let mut citizens = HashMap::new();
        for c in simulation::people::<Citizen>(&[PEOPLE, SYNTHETIC_PEOPLE]) {
            citizens.entry(c.token.clone()).or_insert(c);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        Arc::new(Simulator {
            citizens,
            // A new key at each start, under a new kid: a gateway that kept the previous
            // one fetches the JWKS again instead of failing.
            signing: SigningKey::generate(&format!("fc-simulateur-{:016x}", rand::random::<u64>()))
                .expect("P-256 key generation works"),
            gateway_jwks_url: gateway_jwks_url.to_string(),
            http,
            logins,
        })
    }

    /// The key that signs check-token answers, ID tokens and userinfo.
    pub(super) fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    pub(super) fn logins(&self) -> &Logins {
        &self.logins
    }

    fn client_known(&self, id: &str, secret: &str) -> bool {
        API_NAMES
            .iter()
            .any(|api| client_id(api) == id && client_secret(api) == secret)
    }

    /// The gateway's encryption key: the first RSA key of its JWKS meant for encryption.
    async fn gateway_key(&self) -> Option<(rsa::RsaPublicKey, Option<String>)> {
        let jwks: Value = self
            .http
            .get(&self.gateway_jwks_url)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        jwks["keys"].as_array()?.iter().find_map(|k| {
            let usable = k.get("use").is_none_or(|u| u == "enc");
            let public = jose::rsa_public_from_jwk(k).filter(|_| usable)?;
            Some((public, k["kid"].as_str().map(str::to_string)))
        })
    }
}

pub fn router(simulator: Arc<Simulator>) -> Router {
    Router::new()
        .route(CHECK_TOKEN_PATH, post(check_token))
        .route(JWKS_PATH, get(jwks))
        .merge(login::routes())
        .with_state(simulator)
}

async fn jwks(State(sim): State<Arc<Simulator>>) -> Json<Value> {
    Json(json!({"keys": [sim.signing.jwk()]}))
}

#[derive(Deserialize)]
struct CheckForm {
    client_id: Option<String>,
    client_secret: Option<String>,
    token: Option<String>,
}

fn refuse(status: StatusCode, error: &str, message: &str) -> Response {
    (status, Json(json!({"error": error, "error_message": message}))).into_response()
}

/// Access tokens are opaque strings of URL-safe characters.
fn well_formed(token: &str) -> bool {
    !token.is_empty()
        && token.len() <= 4096
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
}

async fn check_token(State(sim): State<Arc<Simulator>>, Form(form): Form<CheckForm>) -> Response {
    let (Some(id), Some(secret), Some(token)) = (form.client_id, form.client_secret, form.token) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required parameter missing or invalid.",
        );
    };
    if !well_formed(&token) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required parameter missing or invalid.",
        );
    }
    if !sim.client_known(&id, &secret) {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    let introspection = match sim.citizens.get(&token) {
        Some(Citizen {
            answer: Some(answer), ..
        }) => return answer.clone().respond(&[]).await,
        Some(Citizen {
            token_introspection: Some(ti),
            ..
        }) => ti.clone(),
        // RFC 7662: a token the server does not know is simply inactive.
        _ => json!({"active": false}),
    };
    let claims = json!({
        "aud": id,
        "iat": chrono::Utc::now().timestamp(),
        "iss": "https://franceconnect.simulateur.passerelle/api/v2",
        "token_introspection": introspection,
    });
    let Some((public, kid)) = sim.gateway_key().await else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "The data provider's encryption key could not be fetched.",
        );
    };
    let sealed = sim
        .signing
        .sign(&claims)
        .and_then(|jws| jose::encrypt(&public, kid.as_deref(), jws.as_bytes()));
    match sealed {
        Ok(jwe) => ([(header::CONTENT_TYPE, "application/token-introspection+jwt")], jwe).into_response(),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "server_error", "Encryption failed."),
    }
}
