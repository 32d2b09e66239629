//! PRO BTP's services behind the API Entreprise routes of the attestation de
//! cotisations retraite (a PDF) and of the conformité des cotisations retraite. Called
//! over mutual TLS with the gateway's client certificate, no other credential: one JSON
//! POST per call, `{"corps": "<siret>"}`, to one service or the other.

mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http::{self, TlsSettings};
use passerelle_providers::upstream::Upstream;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use errors::{Failure, PROBTP};

/// The provider id of both PRO BTP operations in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("probtp");

/// The catalogue's resource of the attestation (the other is the conformité).
const ATTESTATION_RESOURCE: &str = "attestations_cotisation_retraite";

/// An eligible company's SIRET (the official cases'), asked by our ping.
pub const PING_SIRET: &str = "30613890001294";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// PRO BTP's domain; the services are under `/ws_ext/rest/certauth/mpsservices/`.
    pub base_url: String,
    /// The gateway's client certificate, its key, and PRO BTP's CA.
    #[serde(flatten)]
    pub tls: TlsSettings,
    /// Per socket operation (§25.1 default timeouts).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// The base64 of an attestation weighs a few dozen kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/probtp")
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
        }
    }
}

pub struct ProbtpProvider {
    client: Upstream,
    statut_url: reqwest::Url,
    attestation_url: reqwest::Url,
    max_body_bytes: usize,
}

impl ProbtpProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client =
            http::read_timeout_client_with(settings.connect_timeout_ms, settings.read_timeout_ms, &settings.tls)?;
        let base = settings.base_url.trim_end_matches('/');
        let service = |name: &str| http::parse_url(PROBTP.name, &format!("{base}{}/{name}", simulator::PREFIX));
        Ok(ProbtpProvider {
            client,
            statut_url: service(simulator::STATUT)?,
            attestation_url: service(simulator::ATTESTATION)?,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// Asks the service at `url` about `siret`; the answer if PRO BTP accepted the question.
    async fn ask(&self, url: &reqwest::Url, siret: &str) -> Result<Value, Failure> {
        let request = self.client.post(url.clone()).json(&json!({ "corps": siret }));
        let response = self.client.send(PROBTP, request).await?;
        if let Some(error) = http::soft_status_error(PROBTP, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(PROBTP, response, self.max_body_bytes).await?;
        mapping::read(status.as_u16(), &body)
    }

    async fn conformity(&self, siret: &str) -> Result<Fetched, Failure> {
        let answer = self.ask(&self.statut_url, siret).await?;
        Ok(Fetched::from(mapping::conformity(&answer)))
    }

    async fn attestation(&self, siret: &str) -> Result<Fetched, Failure> {
        let answer = self.ask(&self.attestation_url, siret).await?;
        mapping::attestation(&answer)
    }
}

#[async_trait]
impl Provider for ProbtpProvider {
    fn info(&self) -> ProviderInfo {
        PROBTP
    }

    /// The path's SIRET (`00302`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siret = call
            .extras
            .get("siret")
            .ok_or_else(|| ApiError::gateway(passerelle_core::codes::INTERNAL))?;
        let fetched = if call.endpoint.resource == ATTESTATION_RESOURCE {
            self.attestation(siret).await
        } else {
            self.conformity(siret).await
        };
        fetched.map_err(Failure::into_error)
    }

    /// The real gateway judges PRO BTP from its traffic; we ask the conformité of a
    /// known eligible company, which also proves the certificate is accepted.
    async fn ping(&self) -> Health {
        match self.conformity(PING_SIRET).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}
