//! MSA's (Mutualité sociale agricole) "conformité des cotisations" service, behind the
//! API Entreprise route telling whether an establishment is up to date with its
//! agricultural social contributions. One GET per call, the SIRET as the last path
//! segment; no credential: the service's address is the secret.

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

pub use errors::{Failure, MSA};

/// The provider id of the MSA operation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("msa");

/// The SIRET the real gateway's ping asks for (§25.7).
pub const PING_SIRET: &str = "95086311800010";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The service's (secret) address; the SIRET is appended as the last path segment.
    pub url: String,
    /// Per socket operation (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// An answer is a few dozen bytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/msa")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            url: format!("{}{}", base_url.trim_end_matches('/'), simulator::PATH),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

pub struct MsaProvider {
    client: Upstream,
    url: reqwest::Url,
    max_body_bytes: usize,
}

impl MsaProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        Ok(MsaProvider {
            client,
            url: http::parse_url(MSA.name, &settings.url)?,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    fn url_of(&self, siret: &str) -> reqwest::Url {
        let mut url = self.url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(siret);
        }
        url
    }

    /// The contract's `data` for a SIRET.
    async fn conformity(&self, siret: &str) -> Result<serde_json::Value, Failure> {
        let request = self
            .client
            .get(self.url_of(siret))
            .header("Content-Type", "application/json");
        let (status, body) = http::send_and_read(&self.client, MSA, request, self.max_body_bytes).await?;
        mapping::conformity(status.as_u16(), &body)
    }
}

#[async_trait]
impl Provider for MsaProvider {
    fn info(&self) -> ProviderInfo {
        MSA
    }

    /// The path's SIRET (`00302`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siret = call.extras.get("siret").ok_or_else(internal)?;
        let data = self.conformity(siret).await.map_err(Failure::into_error)?;
        Ok(Fetched::from(data))
    }

    /// The real gateway's ping: `PING_SIRET` must have a status.
    async fn ping(&self) -> Health {
        match self.conformity(PING_SIRET).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
