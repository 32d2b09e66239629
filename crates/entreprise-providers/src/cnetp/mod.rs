//! The CNETP (caisse nationale des entrepreneurs de travaux publics) attestation de
//! cotisations congés payés et chômage intempéries, behind
//! `cnetp/unites_legales/{siren}/attestation_cotisations_conges_payes_chomage_intemperies`.
//! One GET per call, the gateway's client number and token in the query with the SIREN;
//! the answer is the PDF, or a 404 whose text says the SIREN is not on file.

mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, MaintenanceWindow, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use serde::{Deserialize, Serialize};

pub use errors::{Failure, CNETP};

pub(crate) use mapping::is_whole_pdf;

/// The provider id of the attestation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("cnetp");

/// The SIREN the real gateway's ping asks for (§25.7).
pub const PING_SIREN: &str = "352745749";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The CNETP's domain; the attestation is at
    /// `<base_url>/webservice/doc/attestations/entreprises`.
    pub base_url: String,
    /// The gateway's client number (`id` in the query).
    pub client_number: String,
    /// The gateway's token (`jeton` in the query).
    pub token: String,
    /// Per socket operation.
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// An attestation weighs a few hundred kilobytes.
    pub max_body_bytes: usize,
    /// Whether the gateway observes the provider's daily maintenance window: calls inside it fail at once with `08020`, as the real
    /// gateway's do. Off for the simulator, which never closes.
    pub maintenance_window: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            maintenance_window: true,
            ..Settings::simulated("http://127.0.0.1:8090/cnetp")
        }
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo credentials.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            client_number: simulator::CLIENT_NUMBER.into(),
            token: simulator::TOKEN.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 20_000,
            max_body_bytes: 5 * 1024 * 1024,
            maintenance_window: false,
        }
    }
}

pub struct CnetpProvider {
    client: Upstream,
    url: reqwest::Url,
    client_number: String,
    token: String,
    max_body_bytes: usize,
    /// The daily window it publishes (§25.5), when the settings observe it.
    windows: Vec<MaintenanceWindow>,
}

impl CnetpProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let base = settings.base_url.trim_end_matches('/');
        Ok(CnetpProvider {
            client,
            url: http::parse_url(CNETP.name, &format!("{base}{}", simulator::PATH))?,
            client_number: settings.client_number,
            token: settings.token,
            max_body_bytes: settings.max_body_bytes,
            windows: settings
                .maintenance_window
                .then(|| MaintenanceWindow::daily(ID, "06:00", "06:30"))
                .into_iter()
                .collect(),
        })
    }

    /// The attestation of a SIREN.
    async fn attestation(&self, siren: &str) -> Result<Fetched, Failure> {
        let query = [
            ("id", self.client_number.as_str()),
            ("jeton", &self.token),
            ("siren", siren),
        ];
        let request = self
            .client
            .get(self.url.clone())
            .query(&query)
            .header("Content-Type", "application/octet-stream");
        let response = self.client.send(CNETP, request).await?;
        if let Some(error) = http::soft_status_error(CNETP, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(CNETP, response, self.max_body_bytes).await?;
        mapping::answer(status.as_u16(), body)
    }
}

#[async_trait]
impl Provider for CnetpProvider {
    fn info(&self) -> ProviderInfo {
        CNETP
    }

    /// The daily window the provider publishes (§25.5), 06:00–06:30 Paris time: the
    /// gateway answers `08020` inside it without calling, as the real one does.
    fn maintenance_windows(&self) -> &[MaintenanceWindow] {
        &self.windows
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
        self.attestation(siren).await.map_err(Failure::into_error)
    }

    /// The real gateway's ping: the attestation of a known company must come back.
    async fn ping(&self) -> Health {
        match self.attestation(PING_SIREN).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}
