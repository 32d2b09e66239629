//! DataSubvention, behind the API Entreprise route listing an association's grants
//! (applications and payments). A login (email and password) gives a JWT sent as
//! `x-access-token`; then one GET per call.

mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::Mutex;

pub use errors::{Failure, DATA_SUBVENTION};

/// The provider id of the DataSubvention operation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("data_subvention");

/// The association the real gateway's ping asks for (§25.7).
pub const PING_ID: &str = "780603734";

/// A token is dropped this long before the expiry its login announced.
const MARGIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The API's address: `<base_url>/auth/login`, `<base_url>/association/{id}/grants`.
    pub base_url: String,
    /// The gateway's DataSubvention account.
    pub email: String,
    pub password: String,
    /// Per socket operation, login included (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// An association's grants run to some tens of kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/data_subvention")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo account.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            email: simulator::EMAIL.into(),
            password: simulator::PASSWORD.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

struct Token {
    value: String,
    until: Instant,
}

pub struct DataSubventionProvider {
    client: Upstream,
    base: reqwest::Url,
    email: String,
    password: String,
    max_body_bytes: usize,
    token: Mutex<Option<Token>>,
}

impl DataSubventionProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        Ok(DataSubventionProvider {
            client,
            base: http::parse_url(DATA_SUBVENTION.name, &settings.base_url)?,
            email: settings.email,
            password: settings.password,
            max_body_bytes: settings.max_body_bytes,
            token: Mutex::new(None),
        })
    }

    fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// A valid token: the cached one unless it is `refused` or expired, else a new login.
    async fn token(&self, refused: Option<&str>) -> Result<String, Failure> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if token.until > Instant::now() && Some(token.value.as_str()) != refused {
                return Ok(token.value.clone());
            }
        }
        let fresh = self.login().await?;
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    /// `POST /auth/login`: the JWT and its expiry (an ISO date) from `user.jwt`. The
    /// status is not trusted; the body must hold a token.
    async fn login(&self) -> Result<Token, Failure> {
        let request = self
            .client
            .post(self.url(&["auth", "login"]))
            .header("accept", "application/json")
            .json(&json!({"email": self.email, "password": self.password}));
        let (_, body) = http::send_and_read(&self.client, DATA_SUBVENTION, request, self.max_body_bytes).await?;
        let answer: Value = serde_json::from_slice(&body).map_err(|_| Failure::Unknown)?;
        let jwt = &answer["user"]["jwt"];
        let value = jwt["token"].as_str().ok_or(Failure::Unknown)?.to_string();
        Ok(Token {
            value,
            until: expiry(jwt["expirateDate"].as_str()),
        })
    }

    async fn get(&self, url: &reqwest::Url, token: &str) -> Result<reqwest::Response, Failure> {
        let request = self
            .client
            .get(url.clone())
            .header("x-access-token", token)
            .header("accept", "application/json")
            .header("Content-Type", "application/json");
        self.client.send(DATA_SUBVENTION, request).await.map_err(Failure::from)
    }

    /// The grants of a SIREN, SIRET or RNA number; a refused token (401) is replaced
    /// once.
    async fn grants(&self, id: &str) -> Result<Value, Failure> {
        let url = self.url(&["association", id, "grants"]);
        let token = self.token(None).await?;
        let mut response = self.get(&url, &token).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            let fresh = self.token(Some(&token)).await?;
            response = self.get(&url, &fresh).await?;
        }
        if let Some(error) = http::soft_status_error(DATA_SUBVENTION, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(DATA_SUBVENTION, response, self.max_body_bytes).await?;
        match status.as_u16() {
            200 => mapping::grants(&body),
            400 | 404 => Err(Failure::NotFound),
            _ => Err(Failure::Unknown),
        }
    }
}

/// When to stop using a token: its announced expiry less `MARGIN`; one whose expiry
/// cannot be read serves this call only.
fn expiry(announced: Option<&str>) -> Instant {
    let left = announced
        .and_then(|d| DateTime::parse_from_rfc3339(d).ok())
        .and_then(|d| (d.with_timezone(&Utc) - Utc::now()).to_std().ok())
        .and_then(|left| left.checked_sub(MARGIN))
        .unwrap_or_default();
    Instant::now() + left
}

#[async_trait]
impl Provider for DataSubventionProvider {
    fn info(&self) -> ProviderInfo {
        DATA_SUBVENTION
    }

    /// The path's SIREN, SIRET or RNA number (`00330`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let id = call.extras.get("siren_or_siret_or_rna").ok_or_else(internal)?;
        let data = self.grants(id).await.map_err(Failure::into_error)?;
        Ok(Fetched::from(data))
    }

    /// The real gateway's ping: `PING_ID` must have grants.
    async fn ping(&self) -> Health {
        match self.grants(PING_ID).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
