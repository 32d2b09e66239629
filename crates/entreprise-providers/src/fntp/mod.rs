//! The FNTP (public works federation)'s professional card, behind
//! `fntp/unites_legales/{siren}/carte_professionnelle_travaux_publics`. One GET per
//! call, the gateway's token in the query string; the answer is the card as a PDF,
//! which the gateway stores and links (an [`Attachment`]).

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

pub use errors::{Failure, FNTP};

/// The provider id of the carte professionnelle in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("fntp");

/// The company the real gateway's ping asks for (§25.7).
pub const PING_SIREN: &str = "385407184";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// FNTP's domain; cards are at `<domain>/rip/sgmap/{siren}/cartepro`.
    pub domain: String,
    /// The gateway's token, sent as the `token` query parameter (never logged).
    pub token: String,
    /// Per socket operation (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// A card is a PDF of some tens of kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/fntp")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo token.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            domain: base_url.trim_end_matches('/').to_string(),
            token: simulator::TOKEN.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: 5 * 1024 * 1024,
        }
    }
}

pub struct FntpProvider {
    client: Upstream,
    base: reqwest::Url,
    token: String,
    max_body_bytes: usize,
}

impl FntpProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        Ok(FntpProvider {
            client,
            base: http::parse_url(FNTP.name, &settings.domain)?,
            token: settings.token,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// `{domain}/rip/sgmap/{siren}/cartepro?token=…`.
    fn url_of(&self, siren: &str) -> reqwest::Url {
        let mut url = self.base.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().extend(["rip", "sgmap", siren, "cartepro"]);
        }
        url.query_pairs_mut().append_pair("token", &self.token);
        url
    }

    /// The card's bytes, checked to be a PDF.
    async fn card(&self, siren: &str) -> Result<Vec<u8>, Failure> {
        // The real gateway sends this type on its bodiless GET; FNTP's server expects it.
        let request = self
            .client
            .get(self.url_of(siren))
            .header("Content-Type", "application/pdf");
        let response = self.client.send(FNTP, request).await?;
        if let Some(error) = http::soft_status_error(FNTP, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(FNTP, response, self.max_body_bytes).await?;
        mapping::card(status.as_u16(), body)
    }
}

#[async_trait]
impl Provider for FntpProvider {
    fn info(&self) -> ProviderInfo {
        FNTP
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
        let bytes = self.card(siren).await.map_err(Failure::into_error)?;
        Ok(mapping::answer(bytes))
    }

    /// The real gateway's ping: a known card must come back.
    async fn ping(&self) -> Health {
        match self.card(PING_SIREN).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}
