//! CARIF-OREF's "Quiforme" service, behind the API Entreprise route giving a training
//! organisation's Qualiopi certifications and France compétences habilitations. One
//! GET per call, `{url}/organisme/{siret}`, authenticated by a static token header.

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
use serde_json::Value;

pub use errors::{Failure, CARIF_OREF};

/// The provider id of the CARIF-OREF operation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("carif_oref");

/// The SIRET the real gateway's ping asks for (§25.7); it must have a habilitation.
pub const PING_SIRET: &str = "19753471200017";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The service's address; calls go to `<url>/organisme/{siret}`.
    pub url: String,
    /// Sent as the `token-connexion` header.
    pub token: String,
    /// Per socket operation (§25.1: 10 s + 10 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// A record is a few kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/carif_oref")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo token.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            url: base_url.trim_end_matches('/').to_string(),
            token: simulator::TOKEN.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
        }
    }
}

pub struct CarifOrefProvider {
    client: Upstream,
    url: reqwest::Url,
    token: String,
    max_body_bytes: usize,
}

impl CarifOrefProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        Ok(CarifOrefProvider {
            client,
            url: http::parse_url(CARIF_OREF.name, &settings.url)?,
            token: settings.token,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    fn url_of(&self, siret: &str) -> reqwest::Url {
        let mut url = self.url.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push("organisme").push(siret);
        }
        url
    }

    /// The contract's `data` for a SIRET.
    async fn organisme(&self, siret: &str) -> Result<Value, Failure> {
        let request = self
            .client
            .get(self.url_of(siret))
            .header("token-connexion", &self.token)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json");
        let (status, body) = http::send_and_read(&self.client, CARIF_OREF, request, self.max_body_bytes).await?;
        match status.as_u16() {
            200 => mapping::organisme(&body),
            404 => Err(Failure::NotFound),
            _ => Err(Failure::Unknown),
        }
    }
}

#[async_trait]
impl Provider for CarifOrefProvider {
    fn info(&self) -> ProviderInfo {
        CARIF_OREF
    }

    /// The path's SIRET (`00302`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siret = call.extras.get("siret").ok_or_else(internal)?;
        let data = self.organisme(siret).await.map_err(Failure::into_error)?;
        Ok(Fetched::from(data))
    }

    /// The real gateway's ping: `PING_SIRET` must come back with a habilitation.
    async fn ping(&self) -> Health {
        match self.organisme(PING_SIRET).await {
            Ok(data) if has_habilitation(&data) => Health::Ok,
            Ok(_) => Health::Down("no habilitation in the ping's answer".into()),
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}

fn has_habilitation(data: &Value) -> bool {
    data["habilitations_france_competence"]
        .as_array()
        .is_some_and(|h| !h.is_empty())
}

/// A call the catalogue should not have routed here.
fn internal() -> ApiError {
    ApiError::gateway(passerelle_core::codes::INTERNAL)
}
