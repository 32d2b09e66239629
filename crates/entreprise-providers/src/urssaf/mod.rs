//! URSSAF's attestation de vigilance (provider ACOSS in the catalogue), v3 and v4 of
//! `urssaf/unites_legales/{siren}/attestation_vigilance`. A client-credentials OAuth2
//! token (scope `attn.api_entreprise`), then one JSON POST per call naming the company,
//! the caller's uid and the recipient SIRET; the answer is the PDF in base64, or a JSON
//! array of URSSAF's error codes.

mod attestation;
mod body;
mod errors;
mod mapping;
pub mod simulator;
#[cfg(test)]
mod tests;

use async_trait::async_trait;
use body::Body;
use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider, ProviderId};
use passerelle_core::{ApiError, ProviderInfo, Query};
use passerelle_providers::http;
use passerelle_providers::oauth::{ClientAuth, TokenCache, TokenRequest};
use passerelle_providers::upstream::Upstream;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use errors::{Failure, ACOSS};

/// The provider id of the attestation de vigilance in the API Entreprise catalogue.
pub const ID: ProviderId = ProviderId::new("acoss");

/// The scope URSSAF grants API Entreprise.
const SCOPE: &str = "attn.api_entreprise";
/// The one kind of attestation API Entreprise asks for.
const ATTESTATION_TYPE: &str = "AVG_UR";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct Settings {
    /// URSSAF's domain: the token at `<base_url>/api/oauth/v1/token`, the attestation at
    /// `<base_url>/attn/entreprise/v1/demandes/api_entreprise`.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// The attestation call, per socket operation (20 s + 20 s).
    pub connect_timeout_ms: u64,
    pub read_timeout_ms: u64,
    /// The token call (10 s + 10 s, both operations).
    pub token_timeout_ms: u64,
    /// The base64 of an attestation weighs under a hundred kilobytes.
    pub max_body_bytes: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings::simulated("http://127.0.0.1:8090/urssaf")
    }
}

impl Settings {
    /// Settings for the simulator at `base_url`, with its demo credentials.
    pub fn simulated(base_url: &str) -> Self {
        Settings {
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            connect_timeout_ms: 20_000,
            read_timeout_ms: 20_000,
            token_timeout_ms: 10_000,
            max_body_bytes: 5 * 1024 * 1024,
        }
    }
}

/// What one attestation request says.
struct Demand<'a> {
    siren: &'a str,
    /// The caller's token uid.
    id_client: &'a str,
    /// The SIRET of the organisation the attestation is for.
    beneficiaire: &'a str,
}

pub struct UrssafProvider {
    token_client: Upstream,
    client: Upstream,
    tokens: TokenCache,
    /// The ping's own token, asked afresh each time (the token call is its only check).
    ping_tokens: TokenCache,
    attestation_url: reqwest::Url,
    max_body_bytes: usize,
}

impl UrssafProvider {
    pub fn new(settings: Settings) -> anyhow::Result<Self> {
        let base = settings.base_url.trim_end_matches('/');
        let token_url = http::parse_url(ACOSS.name, &format!("{base}/api/oauth/v1/token"))?;
        let mut token = TokenRequest::new(token_url, settings.client_id, settings.client_secret, ClientAuth::Form);
        token.scope = Some(SCOPE.into());
        Ok(UrssafProvider {
            token_client: http::read_timeout_client(settings.token_timeout_ms, settings.token_timeout_ms)?,
            client: http::read_timeout_client(settings.connect_timeout_ms, settings.read_timeout_ms)?,
            tokens: TokenCache::new(token.clone()),
            ping_tokens: TokenCache::new(token),
            attestation_url: http::parse_url(
                ACOSS.name,
                &format!("{base}/attn/entreprise/v1/demandes/api_entreprise"),
            )?,
            max_body_bytes: settings.max_body_bytes,
        })
    }

    /// The attestation request. A refused token (401) is forgotten and the call replayed
    /// once with a fresh one.
    async fn request(&self, demand: &Demand<'_>) -> Result<(StatusCode, Body), Failure> {
        let body = json!({
            "typeAttestation": ATTESTATION_TYPE,
            "siren": demand.siren,
            "idClient": demand.id_client,
            "beneficiaire": demand.beneficiaire,
        });
        let request = || self.client.post(self.attestation_url.clone()).json(&body);
        let mut response = self
            .tokens
            .send(&self.token_client, &self.client, ACOSS, request())
            .await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            response = self
                .tokens
                .send(&self.token_client, &self.client, ACOSS, request())
                .await?;
        }
        if let Some(error) = http::soft_status_error(ACOSS, response.status()) {
            return Err(error.into());
        }
        Ok(body::read(ACOSS, response, self.max_body_bytes).await?)
    }

    async fn attestation(&self, demand: &Demand<'_>, version: u8) -> Result<Fetched, Failure> {
        let read = match self.request(demand).await? {
            (_, Body::Decoded(bytes)) => mapping::document(bytes)?,
            (status, Body::Raw(body)) => mapping::read(status.as_u16(), &body, version)?,
        };
        mapping::answer(read, version)
    }
}

#[async_trait]
impl Provider for UrssafProvider {
    fn info(&self) -> ProviderInfo {
        ACOSS
    }

    /// The path's SIREN (`00301`).
    fn parse_extras(&self, endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        passerelle_entreprise::parameters(endpoint, query, today)
    }

    /// The caller's uid and the recipient go to URSSAF with the SIREN.
    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let siren = call
            .extras
            .get("siren")
            .ok_or_else(|| ApiError::gateway(passerelle_core::codes::INTERNAL))?;
        let demand = Demand {
            siren,
            id_client: call.caller,
            beneficiaire: call.recipient(),
        };
        self.attestation(&demand, call.version)
            .await
            .map_err(Failure::into_error)
    }

    /// URSSAF has no health route and the real gateway judges it from its traffic; we
    /// ask for a token, which proves the service answers and our credentials hold.
    async fn ping(&self) -> Health {
        self.ping_tokens.invalidate().await;
        match self.ping_tokens.get(&self.token_client, ACOSS).await {
            Ok(_) => Health::Ok,
            Err(e) => Health::Down(e.code),
        }
    }
}
