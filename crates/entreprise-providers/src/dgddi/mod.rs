//! The customs' (DGDDI) EORI registry, behind the API Entreprise route giving an
//! establishment's EORI registration. One GET per call, the identifier as the last
//! path segment and the gateway's client id in the query (its only credential).

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

pub use errors::{Failure, DGDDI};

/// The provider id of the EORI operation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("dgddi");

/// The number the real gateway's ping asks for (§25.7): the customs' own computer centre.
pub const PING_EORI: &str = "FR16002307300010";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The service's address; the identifier is appended as the last path segment.
    pub url: String,
    /// The gateway's client id, sent as `idClient` in every query.
    pub client_id: String,
    /// Per socket operation (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// A record is under a kilobyte.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/dgddi")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo client id.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            url: format!("{}{}", base_url.trim_end_matches('/'), simulator::PATH),
            client_id: simulator::CLIENT_ID.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

pub struct DgddiProvider {
    client: Upstream,
    url: reqwest::Url,
    client_id: String,
    max_body_bytes: usize,
}

impl DgddiProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        Ok(DgddiProvider {
            client,
            url: http::parse_url(DGDDI.name, &settings.url)?,
            client_id: settings.client_id,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// `{url}/{identifier}?idClient=…`. A foreign number is any text after its two
    /// letters: it goes out as one percent-encoded segment.
    fn url_of(&self, identifier: &str) -> reqwest::Url {
        let mut url = self.url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(identifier);
        }
        url.query_pairs_mut().append_pair("idClient", &self.client_id);
        url
    }

    /// The EORI record of a SIRET, `FR` + SIRET, or foreign number.
    async fn record(&self, identifier: &str) -> Result<serde_json::Value, Failure> {
        let request = self
            .client
            .get(self.url_of(identifier))
            .header("Content-Type", "application/json");
        let (status, body) = http::send_and_read(&self.client, DGDDI, request, self.max_body_bytes).await?;
        match status.as_u16() {
            200 => mapping::eori(&body),
            404 => Err(Failure::NotFound),
            _ => Err(Failure::Unknown),
        }
    }
}

#[async_trait]
impl Provider for DgddiProvider {
    fn info(&self) -> ProviderInfo {
        DGDDI
    }

    /// The path's SIRET or EORI number (`00304`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let identifier = call.extras.get("siret_or_eori").ok_or_else(internal)?;
        let data = self.record(identifier).await.map_err(Failure::into_error)?;
        Ok(Fetched::from(data))
    }

    /// The real gateway's ping: a known record must come back.
    async fn ping(&self) -> Health {
        match self.record(PING_EORI).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
