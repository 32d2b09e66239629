//! CMA France's national register of craft businesses (RNM), behind the API
//! Entreprise route giving a craft company's two register facts. One GET per call,
//! the SIREN in the path, `format=json`, no credential.

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

pub use errors::{Failure, CMA_FRANCE};

/// The provider id of the RNM operation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("rnm");

/// The real gateway has no ping for the RNM (§25.7): ours asks for the official
/// case's craft company.
pub const PING_SIREN: &str = "552049447";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The register's address; `/v2/entreprises/{siren}` is appended.
    pub url: String,
    /// Per socket operation (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// A record is a few kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/rnm")
    }
}

impl Settings {
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            url: base_url.trim_end_matches('/').to_string(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

pub struct RnmProvider {
    client: Upstream,
    url: reqwest::Url,
    max_body_bytes: usize,
}

impl RnmProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        Ok(RnmProvider {
            client,
            url: http::parse_url(CMA_FRANCE.name, &settings.url)?,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// `{url}/v2/entreprises/{siren}?format=json`.
    fn url_of(&self, siren: &str) -> reqwest::Url {
        let mut url = self.url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["v2", "entreprises", siren]);
        }
        url.query_pairs_mut().append_pair("format", "json");
        url
    }

    async fn entreprise(&self, siren: &str) -> Result<serde_json::Value, Failure> {
        let request = self
            .client
            .get(self.url_of(siren))
            .header("Content-Type", "application/json");
        let (status, body) = http::send_and_read(&self.client, CMA_FRANCE, request, self.max_body_bytes).await?;
        match status.as_u16() {
            200 => mapping::entreprise(&body),
            404 => Err(Failure::NotFound),
            _ => Err(Failure::Unknown),
        }
    }
}

#[async_trait]
impl Provider for RnmProvider {
    fn info(&self) -> ProviderInfo {
        CMA_FRANCE
    }

    /// The path's SIREN (`00301`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siren = call.extras.get("siren").ok_or_else(internal)?;
        let data = self.entreprise(siren).await.map_err(Failure::into_error)?;
        Ok(Fetched::from(data))
    }

    async fn ping(&self) -> Health {
        match self.entreprise(PING_SIREN).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
