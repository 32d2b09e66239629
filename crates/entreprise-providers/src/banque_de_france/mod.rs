//! The Banque de France's bilans d'entreprise, behind
//! `banque_de_france/unites_legales/{siren}/bilans`: one GET per call over mutual TLS
//! with the gateway's client certificate, no other credential. The figures are then
//! described from DGFIP's dictionaries (one per bilan year), asked of DGFIP's Adélie
//! with the DGFIP settings, so DGFIP's errors can come out of this route.

mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, MaintenanceWindow, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http::{self, TlsSettings};
use passerelle_providers::upstream::Upstream;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use errors::{Failure, BANQUE_DE_FRANCE};

use crate::dgfip::{self, DgfipProvider, Dictionary};
use mapping::Bilan;

/// The provider id of the bilans in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("banque_de_france");

/// The SIREN the real gateway's ping asks for (§25.7).
pub const PING_SIREN: &str = "418166096";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The bilans service; a company's are at `<base_url>/<siren>`.
    pub base_url: String,
    /// The gateway's client certificate, its key, and the Banque de France's CA.
    #[serde(flatten)]
    pub tls: TlsSettings,
    /// Per socket operation (§25.1 default timeouts).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// Three bilans weigh a few kilobytes.
    pub max_body_bytes: usize,
    /// Whether the gateway observes the provider's daily maintenance window: calls inside it fail at once with `17020`, as the real
    /// gateway's do. Off for the simulator, which never closes.
    pub maintenance_window: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            maintenance_window: true,
            ..Settings::simulated("http://127.0.0.1:8090/banque_de_france")
        }
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, over plain HTTP (no certificate).
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            tls: TlsSettings::default(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 10_000,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            maintenance_window: false,
        }
    }
}

pub struct BanqueDeFranceProvider {
    client: Upstream,
    base_url: String,
    max_body_bytes: usize,
    /// The daily window it publishes (§25.5), when the settings observe it.
    windows: Vec<MaintenanceWindow>,
    /// DGFIP's client, for the dictionaries (its own token and dictionary cache).
    dgfip: DgfipProvider,
}

impl BanqueDeFranceProvider {
    pub fn new(settings: Settings, dgfip: dgfip::Settings) -> anyhow::Result<Self> {
        let client =
            http::read_timeout_client_with(settings.connect_timeout_ms, settings.read_timeout_ms, &settings.tls)?;
        let base_url = settings.base_url.trim_end_matches('/').to_string();
        // The SIREN goes after this base per call: only the base is checked here.
        http::parse_url(BANQUE_DE_FRANCE.name, &base_url)?;
        Ok(BanqueDeFranceProvider {
            client,
            base_url,
            max_body_bytes: settings.max_body_bytes,
            windows: settings
                .maintenance_window
                .then(|| MaintenanceWindow::daily(ID, "22:04", "22:08"))
                .into_iter()
                .collect(),
            dgfip: DgfipProvider::new(dgfip)?,
        })
    }

    /// The company's bilans as the Banque de France gives them.
    async fn ask(&self, siren: &str) -> Result<Vec<Bilan>, Failure> {
        let request = self
            .client
            .get(format!("{}/{siren}", self.base_url))
            .header("Content-Type", "application/json");
        let response = self.client.send(BANQUE_DE_FRANCE, request).await?;
        if let Some(error) = http::soft_status_error(BANQUE_DE_FRANCE, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(BANQUE_DE_FRANCE, response, self.max_body_bytes).await?;
        mapping::read(status.as_u16(), &body)
    }

    /// Each bilan with the dictionary of its year (each year asked once).
    async fn described(&self, bilans: Vec<Bilan>, call: &Call<'_>) -> Result<Vec<Value>, Failure> {
        let mut dictionaries: Vec<(u16, Arc<Dictionary>)> = Vec::new();
        let mut items = Vec::with_capacity(bilans.len());
        for bilan in bilans {
            let known = dictionaries
                .iter()
                .find(|(year, _)| *year == bilan.year)
                .map(|(_, d)| d.clone());
            let dictionary = match known {
                Some(dictionary) => dictionary,
                None => {
                    let asked = self
                        .dgfip
                        .dictionary_for(bilan.year, call.caller, call.request_id)
                        .await
                        .map_err(|e| Failure::Dictionary(Box::new(e)))?;
                    dictionaries.push((bilan.year, asked.clone()));
                    asked
                }
            };
            items.push(bilan.item(&dictionary));
        }
        Ok(items)
    }

    async fn bilans(&self, siren: &str, call: &Call<'_>) -> Result<Fetched, Failure> {
        let bilans = self.ask(siren).await?;
        let items = self.described(bilans, call).await?;
        let mut fetched = Fetched::from(json!([]));
        fetched.meta.insert("count".into(), json!(items.len()));
        fetched.data = Value::Array(items);
        Ok(fetched)
    }
}

#[async_trait]
impl Provider for BanqueDeFranceProvider {
    fn info(&self) -> ProviderInfo {
        BANQUE_DE_FRANCE
    }

    /// The daily window the provider publishes (§25.5), 22:04–22:08 Paris time: the
    /// gateway answers `17020` inside it without calling, as the real one does.
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
        self.bilans(siren, call).await.map_err(Failure::into_error)
    }

    /// As the real gateway: a known company's bilans must come (the certificate
    /// accepted and the Banque de France answering); the dictionaries are not asked.
    async fn ping(&self) -> Health {
        match self.ask(PING_SIREN).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}
