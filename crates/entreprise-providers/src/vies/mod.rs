//! The European Commission's VIES, behind the API Entreprise route giving a company's
//! French VAT number. The gateway computes the number from the SIREN and asks VIES's
//! REST service whether it is valid: one unauthenticated GET, a JSON verdict.

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

pub use errors::{Failure, COMMISSION};

/// The provider id of the VIES operation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("european_commission");

/// The company the real gateway's ping asks about (§25.7): Danone, a valid number.
pub const PING_SIREN: &str = "552032534";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// VIES's REST address for French numbers, up to `…/ms/FR/vat`: the number is
    /// appended as the last path segment.
    pub url: String,
    /// Per socket operation (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// A verdict is under a kilobyte.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/vies")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            url: format!("{}{}", base_url.trim_end_matches('/'), simulator::FRENCH_NUMBERS),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

pub struct ViesProvider {
    client: Upstream,
    url: String,
    max_body_bytes: usize,
}

impl ViesProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let url = settings.url.trim_end_matches('/').to_string();
        // The VAT number goes after this base per call: only the base is checked here.
        http::parse_url(COMMISSION.name, &url)?;
        Ok(ViesProvider {
            client,
            url,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// The French VAT number of `siren` once VIES says it is valid.
    async fn validated(&self, siren: &str) -> Result<String, Failure> {
        let number = mapping::vat_number(siren).ok_or(Failure::Unknown)?;
        let request = self
            .client
            .get(format!("{}/{number}", self.url))
            .header("Content-Type", "application/json");
        let response = self.client.send(COMMISSION, request).await?;
        // The status is ignored, as the real gateway does: VIES answers its
        // verdicts in the body, and a proxy's block page comes with any status.
        let (_, body) = http::read(COMMISSION, response, self.max_body_bytes).await?;
        mapping::verdict(&body)?;
        Ok(number)
    }
}

#[async_trait]
impl Provider for ViesProvider {
    fn info(&self) -> ProviderInfo {
        COMMISSION
    }

    /// The path's SIREN (`00301`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siren = call.extras.get("siren").ok_or_else(internal)?;
        let number = self.validated(siren).await.map_err(Failure::into_error)?;
        Ok(Fetched::from(mapping::data(&number)))
    }

    /// The real gateway's ping: a known valid number must be confirmed.
    async fn ping(&self) -> Health {
        match self.validated(PING_SIREN).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
