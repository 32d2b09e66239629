//! ADEME's history of RGE-certified companies (the data-fair dataset
//! `historique-rge`), behind the API Entreprise route listing an establishment's RGE
//! certificates. One GET per call on the dataset's lines, a query on the SIRET and
//! unfinished lines, `size` = the caller's `limit`; the API key in `x-apiKey`.

mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, Limit, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use serde::{Deserialize, Serialize};

pub use errors::{Failure, ADEME};

/// The provider id of the RGE operation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("ademe");

/// The establishment the real gateway's ping asks for (§25.7).
pub const PING_SIRET: &str = "50530961700049";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The dataset's lines endpoint.
    pub url: String,
    /// Sent as `x-apiKey`.
    pub api_key: String,
    /// Sent as `Referer`: the gateway's own address (`https://{env}.entreprise.api.gouv.fr`).
    pub referer: String,
    /// Per socket operation (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// A full page (1000 lines of about 1.5 kB) fits.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/ademe")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo key.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            url: format!("{}{}", base_url.trim_end_matches('/'), simulator::PATH),
            api_key: simulator::API_KEY.into(),
            referer: "https://sandbox.entreprise.api.gouv.fr".into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

pub struct AdemeProvider {
    client: Upstream,
    url: reqwest::Url,
    api_key: String,
    referer: String,
    max_body_bytes: usize,
}

impl AdemeProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        Ok(AdemeProvider {
            client,
            url: http::parse_url(ADEME.name, &settings.url)?,
            api_key: settings.api_key,
            referer: settings.referer,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// `{url}?size={limit}&qs=siret:{siret} AND traitement_termine:false`.
    fn url_of(&self, siret: &str, limit: Limit) -> reqwest::Url {
        let mut url = self.url.clone();
        url.query_pairs_mut()
            .append_pair("size", &limit.value().to_string())
            .append_pair("qs", &format!("siret:{siret} AND traitement_termine:false"));
        url
    }

    async fn certificats(&self, siret: &str, limit: Limit) -> Result<serde_json::Value, Failure> {
        let request = self
            .client
            .get(self.url_of(siret, limit))
            .header("x-apiKey", &self.api_key)
            .header("Referer", &self.referer)
            .header("Content-Type", "application/json");
        let (status, body) = http::send_and_read(&self.client, ADEME, request, self.max_body_bytes).await?;
        match status.as_u16() {
            200 => mapping::certificats(&body),
            _ => Err(Failure::Unknown),
        }
    }
}

#[async_trait]
impl Provider for AdemeProvider {
    fn info(&self) -> ProviderInfo {
        ADEME
    }

    /// The path's SIRET (`00302`) and the optional `limit` (`00313`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siret = call.extras.get("siret").ok_or_else(internal)?;
        let limit = Limit::parse(call.extras.get("limit").map(String::as_str))?;
        let data = self.certificats(siret, limit).await.map_err(Failure::into_error)?;
        Ok(Fetched::from(data))
    }

    /// The real gateway's ping: the known establishment must have certificates.
    async fn ping(&self) -> Health {
        match self.certificats(PING_SIRET, Limit::DEFAULT).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
