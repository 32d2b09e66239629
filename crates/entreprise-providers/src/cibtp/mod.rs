//! The CIBTP (caisses congés intempéries BTP) attestation de cotisations congés payés
//! et chômage intempéries, behind
//! `cibtp/etablissements/{siret}/attestation_cotisations_conges_payes_chomage_intemperies`.
//! A token from a JSON POST of the gateway's credentials, then one GET per call with the
//! SIRET in the query; the answer is the PDF, or a JSON refusal whose status says why.
//! The document lives ten minutes.

mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;
mod token;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

pub use errors::{Failure, CIBTP};

/// The provider id of the attestation in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("cibtp");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// The CIBTP's domain: the token at `<base_url>/apientreprise/token`, the
    /// attestation at `<base_url>/apientreprise/attestationmarche`.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Per socket operation, both calls.
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// An attestation weighs tens of kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/cibtp")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo credentials.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            connect_timeout_ms: 10_000,
            read_timeout_ms: 20_000,
            max_body_bytes: 5 * 1024 * 1024,
        }
    }
}

pub struct CibtpProvider {
    client: Upstream,
    tokens: token::Tokens,
    /// The ping's own token, asked afresh each time (the token call is its only check).
    ping_tokens: token::Tokens,
    attestation_url: reqwest::Url,
    max_body_bytes: usize,
}

impl CibtpProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let client = http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?;
        let base = settings.base_url.trim_end_matches('/');
        let token_url = http::parse_url(CIBTP.name, &format!("{base}{}", simulator::TOKEN_PATH))?;
        let tokens = || {
            token::Tokens::new(
                token_url.clone(),
                settings.client_id.clone(),
                settings.client_secret.clone(),
            )
        };
        Ok(CibtpProvider {
            client,
            tokens: tokens(),
            ping_tokens: tokens(),
            attestation_url: http::parse_url(CIBTP.name, &format!("{base}{}", simulator::ATTESTATION_PATH))?,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// One attestation call with the cached token (only `Authorization`, as recorded).
    async fn send(&self, siret: &str) -> Result<reqwest::Response, Failure> {
        let token = self.tokens.get(&self.client).await?;
        let request = self
            .client
            .get(self.attestation_url.clone())
            .query(&[("siret", siret)])
            .bearer_auth(token);
        self.client.send(CIBTP, request).await.map_err(Into::into)
    }

    /// The attestation of a SIRET. A refused token (401) is forgotten and the call
    /// replayed once with a fresh one; a second 401 is `38999`.
    async fn attestation(&self, siret: &str) -> Result<Fetched, Failure> {
        let mut response = self.send(siret).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.tokens.invalidate().await;
            response = self.send(siret).await?;
        }
        if let Some(error) = http::soft_status_error(CIBTP, response.status()) {
            return Err(error.into());
        }
        let (status, body) = http::read(CIBTP, response, self.max_body_bytes).await?;
        mapping::answer(status.as_u16(), body)
    }
}

#[async_trait]
impl Provider for CibtpProvider {
    fn info(&self) -> ProviderInfo {
        CIBTP
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
        self.attestation(siret).await.map_err(Failure::into_error)
    }

    /// The real gateway judges the CIBTP from its traffic; we ask for a fresh token,
    /// which proves the service answers and our credentials hold, without fetching
    /// (and counting against) a document.
    async fn ping(&self) -> Health {
        self.ping_tokens.invalidate().await;
        match self.ping_tokens.get(&self.client).await {
            Ok(_) => Health::Ok,
            Err(failure) => Health::Down(failure.into_error().code),
        }
    }
}
