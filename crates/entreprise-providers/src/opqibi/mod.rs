//! OPQIBI, the engineering qualification body, behind
//! `opqibi/unites_legales/{siren}/certification_ingenierie`. No credential: one GET per
//! call, the SIREN as the last path segment; the certificate's own page on OPQIBI's site
//! is passed through as it comes.

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
use serde::{Deserialize, Serialize};

pub use errors::{Failure, OPQIBI};

/// The provider id of the certification d'ingénierie in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("opqibi");

/// The company the real gateway's ping asks for (§25.7).
pub const PING_SIREN: &str = "309103877";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// OPQIBI's domain; certificates are at `<domain>/certificats/{siren}`.
    pub domain: String,
    /// Per socket operation (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// A certificate is a few kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/opqibi")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            domain: base_url.trim_end_matches('/').to_string(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

pub struct OpqibiProvider {
    client: Upstream,
    url: reqwest::Url,
    max_body_bytes: usize,
}

impl OpqibiProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let url = format!("{}{}", settings.domain.trim_end_matches('/'), simulator::PATH);
        Ok(OpqibiProvider {
            client,
            url: http::parse_url(OPQIBI.name, &url)?,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    fn url_of(&self, siren: &str) -> reqwest::Url {
        let mut url = self.url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(siren);
        }
        url
    }

    /// The certificate of a company, in the contract's shape.
    async fn certificate(&self, siren: &str) -> Result<serde_json::Value, Failure> {
        let request = self
            .client
            .get(self.url_of(siren))
            .header("Content-Type", "application/json");
        let response = self.client.send(OPQIBI, request).await?;
        if let Some(error) = http::soft_status_error(OPQIBI, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(OPQIBI, response, self.max_body_bytes).await?;
        match status.as_u16() {
            200 => mapping::certificate(&body),
            404 => Err(Failure::NotFound),
            _ => Err(Failure::Unknown),
        }
    }
}

#[async_trait]
impl Provider for OpqibiProvider {
    fn info(&self) -> ProviderInfo {
        OPQIBI
    }

    /// The path's SIREN (`00301`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siren = call
            .extras
            .get("siren")
            .ok_or_else(|| ApiError::gateway(passerelle_core::codes::INTERNAL))?;
        let data = self.certificate(siren).await.map_err(Failure::into_error)?;
        Ok(Fetched::from(data))
    }

    /// The real gateway's ping: a known certificate must come back.
    async fn ping(&self) -> Health {
        match self.certificate(PING_SIREN).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}
