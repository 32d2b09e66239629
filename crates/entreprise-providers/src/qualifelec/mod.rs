//! Qualifelec, the electrical contractors' qualification body, behind
//! `qualifelec/etablissements/{siret}/certificats`. A JSON login gives a JWT; then one
//! GET per call, the SIRET as the last path segment. The certificates' PDFs stay on
//! Qualifelec's site: their links are passed through.

mod auth;
mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

pub use errors::{Failure, QUALIFELEC};

/// The provider id of the certificats operation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("qualifelec");

/// The establishment the real gateway's ping asks for (§25.7).
pub const PING_SIRET: &str = "42054064300376";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The login, answering `{"token": …}`.
    pub auth_url: String,
    /// The certificates; the SIRET is appended as the last path segment.
    pub certificates_url: String,
    pub username: String,
    pub password: String,
    /// Per socket operation, login included (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// A list of certificates is a few kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/qualifelec")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo account.
    pub fn simulated(base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        Settings {
            auth_url: format!("{base}{}", simulator::LOGIN_PATH),
            certificates_url: format!("{base}{}", simulator::CERTIFICATES_PATH),
            username: simulator::USERNAME.into(),
            password: simulator::PASSWORD.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

pub struct QualifelecProvider {
    client: Upstream,
    login: auth::Login,
    certificates_url: reqwest::Url,
    max_body_bytes: usize,
}

impl QualifelecProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let certificates_url = http::parse_url(QUALIFELEC.name, &settings.certificates_url)?;
        let login = auth::Login::new(
            http::parse_url(QUALIFELEC.name, &settings.auth_url)?,
            settings.username,
            settings.password,
            settings.max_body_bytes,
        );
        Ok(QualifelecProvider {
            client,
            login,
            certificates_url,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    fn url_of(&self, siret: &str) -> reqwest::Url {
        let mut url = self.certificates_url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(siret);
        }
        url
    }

    /// The certificates of an establishment. A refused token (401) is forgotten, so the
    /// next call logs in again; this one fails, as the real gateway retries nothing.
    async fn certificates(&self, siret: &str) -> Result<Fetched, Failure> {
        let token = self.login.token(&self.client).await?;
        let request = self
            .client
            .get(self.url_of(siret))
            .bearer_auth(token)
            .header("Content-Type", "application/json");
        let response = self.client.send(QUALIFELEC, request).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.login.forget().await;
        }
        if let Some(error) = http::soft_status_error(QUALIFELEC, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(QUALIFELEC, response, self.max_body_bytes).await?;
        match status.as_u16() {
            200 => mapping::certificates(&body),
            404 => Err(Failure::NotFound),
            _ => Err(Failure::Unknown),
        }
    }
}

#[async_trait]
impl Provider for QualifelecProvider {
    fn info(&self) -> ProviderInfo {
        QUALIFELEC
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
        self.certificates(siret).await.map_err(Failure::into_error)
    }

    /// The real gateway's ping: a known establishment's certificates must come back.
    async fn ping(&self) -> Health {
        match self.certificates(PING_SIRET).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}
