//! Qualibat's building certification, v3 and v4 of
//! `qualibat/etablissements/{siret}/certification_batiment`. A bearer token asked with
//! HTTP basic credentials (`POST /token`, no body), then `GET /certificat/{siret}`,
//! which answers the certificate PDF, or a JSON "not certified" under a 200. v3 links
//! the stored PDF; v4 adds what its text says (dates, insurers, certifications).

mod certificate;
mod errors;
mod layout;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use async_trait::async_trait;
use base64::Engine;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

pub use errors::{Failure, QUALIBAT};

/// The provider id of Qualibat in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("qualibat");

/// A token is renewed this long before Qualibat says it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// The token answer is a few hundred bytes.
const TOKEN_MAX_BYTES: usize = 16 * 1024;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// Qualibat's API root: `<base_url>/token` and `<base_url>/certificat/{siret}`.
    pub base_url: String,
    pub username: String,
    pub password: String,
    /// The real gateway keeps its HTTP library's defaults; we bound both.
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// Certificates weigh a few hundred kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/qualibat")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo credentials.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            username: simulator::USERNAME.into(),
            password: simulator::PASSWORD.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 30_000,
            max_body_bytes: 5 * 1024 * 1024,
        }
    }
}

pub struct QualibatProvider {
    client: Upstream,
    base_url: String,
    token_url: reqwest::Url,
    basic: String,
    token: Mutex<Option<(String, Instant)>>,
    max_body_bytes: usize,
}

impl QualibatProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let credentials = format!("{}:{}", settings.username, settings.password);
        let base_url = settings.base_url.trim_end_matches('/').to_string();
        // The SIRET goes after this base per call: only the base is checked here.
        http::parse_url(QUALIBAT.name, &base_url)?;
        Ok(QualibatProvider {
            client,
            token_url: http::parse_url(QUALIBAT.name, &format!("{base_url}/token"))?,
            base_url,
            basic: base64::engine::general_purpose::STANDARD.encode(credentials),
            token: Mutex::new(None),
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// A fresh token from `POST /token`: basic credentials and no body, as Qualibat wants.
    async fn new_token(&self) -> Result<(String, Instant), Failure> {
        let request = self
            .client
            .post(self.token_url.clone())
            .header("Authorization", format!("Basic {}", self.basic));
        let response = self.client.send(QUALIBAT, request).await?;
        if let Some(error) = http::soft_status_error(QUALIBAT, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(QUALIBAT, response, TOKEN_MAX_BYTES).await?;
        if status != StatusCode::OK {
            tracing::warn!(provider = QUALIBAT.name, %status, "token refused");
            return Err(Failure::Unknown);
        }
        let (token, lifetime) = mapping::token_answer(&body)?;
        Ok((token, Instant::now() + lifetime.saturating_sub(TOKEN_MARGIN)))
    }

    /// The cached token while it lasts, else a new one.
    async fn token(&self) -> Result<String, Failure> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let fresh = self.new_token().await?;
        let token = fresh.0.clone();
        *cached = Some(fresh);
        Ok(token)
    }

    async fn forget_token(&self) {
        *self.token.lock().await = None;
    }

    async fn get_certificate(&self, siret: &str) -> Result<reqwest::Response, Failure> {
        let token = self.token().await?;
        let request = self
            .client
            .get(format!("{}/certificat/{siret}", self.base_url))
            .bearer_auth(token);
        self.client.send(QUALIBAT, request).await.map_err(Into::into)
    }

    /// The certificate request; a refused token (401) is forgotten and the call
    /// replayed once with a fresh one.
    async fn request(&self, siret: &str) -> Result<(StatusCode, Vec<u8>), Failure> {
        let mut response = self.get_certificate(siret).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.forget_token().await;
            response = self.get_certificate(siret).await?;
        }
        if let Some(error) = http::soft_status_error(QUALIBAT, response.status()) {
            return Err(error.into());
        }
        Ok(http::read(QUALIBAT, response, self.max_body_bytes).await?)
    }

    async fn certification(&self, siret: &str, version: u8) -> Result<Fetched, Failure> {
        let (status, body) = self.request(siret).await?;
        let document = mapping::read(status.as_u16(), body)?;
        Ok(mapping::answer(document, version))
    }
}

#[async_trait]
impl Provider for QualibatProvider {
    fn info(&self) -> ProviderInfo {
        QUALIBAT
    }

    /// The path's SIRET (`00302`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siret = call
            .extras
            .get("siret")
            .ok_or_else(|| ApiError::gateway(passerelle_core::codes::INTERNAL))?;
        self.certification(siret, call.version)
            .await
            .map_err(Failure::into_error)
    }

    /// Qualibat has no health route: a fresh token proves the service answers and our
    /// credentials hold.
    async fn ping(&self) -> Health {
        match self.new_token().await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}
