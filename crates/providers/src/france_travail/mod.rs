//! France Travail: the job seeker's status (`statut`) and the payments made to them
//! (`indemnites`), found by the person's France Travail login. One OAuth2 token
//! (client credentials in the form) opens both upstream calls.

mod mapping;
pub mod simulator;

use std::time::Duration;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_catalogue::Endpoint;
use passerelle_core::{codes, ApiError, ProviderInfo, Query};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::http::TlsSettings;
use crate::oauth::{ClientAuth, TokenCache, TokenRequest};
use crate::upstream::Upstream;
use crate::{http, Call, Extras, Fetched, Health, Provider};

pub const FRANCE_TRAVAIL: ProviderInfo = ProviderInfo {
    name: "France Travail",
    prefix: "24",
};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct FranceTravailConfig {
    /// Base of the default URLs below.
    pub base_url: String,
    /// OAuth2 token endpoint; `<base_url>/token` when absent.
    pub token_url: Option<String>,
    /// Status service (POST); `<base_url>/statut` when absent.
    pub statut_url: Option<String>,
    /// Payments service (GET); `<base_url>/indemnites` when absent.
    pub indemnites_url: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    /// OAuth2 scope; the real gateway's scope list when absent.
    pub scope: Option<String>,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    pub tls: TlsSettings,
}

impl Default for FranceTravailConfig {
    fn default() -> Self {
        FranceTravailConfig::simulated("http://127.0.0.1:8090/france_travail")
    }
}

impl FranceTravailConfig {
    pub fn simulated(base_url: &str) -> Self {
        FranceTravailConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            token_url: None,
            statut_url: None,
            indemnites_url: None,
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            scope: None,
            timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
        }
    }

    fn url(&self, own: &Option<String>, path: &str) -> String {
        http::or_base(own, &self.base_url, path)
    }
}

/// The ping has no caller token: it names the nil token id.
const PING_CALLER: &str = "00000000-0000-0000-0000-000000000000";

/// The scopes the real gateway asks for: both services and the client's application.
fn default_scope(client_id: &str) -> String {
    format!("api_statutaugmentev1 api_liste-paiementsv1 individuStatutAugmente application_{client_id}")
}

pub struct FranceTravailProvider {
    client: Upstream,
    max_body_bytes: usize,
    token: TokenCache,
    statut_url: reqwest::Url,
    indemnites_url: reqwest::Url,
}

impl FranceTravailProvider {
    pub fn new(config: FranceTravailConfig) -> anyhow::Result<Self> {
        let scope = config.scope.clone().unwrap_or_else(|| default_scope(&config.client_id));
        let (id, secret) = (config.client_id.clone(), config.client_secret.clone());
        let request = TokenRequest::new(
            http::parse_url(FRANCE_TRAVAIL.name, &config.url(&config.token_url, "token"))?,
            id,
            secret,
            ClientAuth::Form,
        );
        Ok(FranceTravailProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            token: TokenCache::new(TokenRequest {
                scope: Some(scope),
                ..request
            }),
            statut_url: http::parse_url(FRANCE_TRAVAIL.name, &config.url(&config.statut_url, "statut"))?,
            indemnites_url: http::parse_url(FRANCE_TRAVAIL.name, &config.url(&config.indemnites_url, "indemnites"))?,
        })
    }

    /// Calls one service. `caller` is the id of the caller's token, which France
    /// Travail wants to know (`X-pe-consommateur`).
    async fn call_upstream(
        &self,
        resource: &str,
        identifiant: &str,
        caller: &str,
    ) -> Result<(StatusCode, Vec<u8>), ApiError> {
        let request = match resource {
            // The status service takes the raw login as its body, not JSON-encoded.
            "statut" => self.client.post(self.statut_url.clone()).body(identifiant.to_string()),
            "indemnites" => self
                .client
                .get(self.indemnites_url.clone())
                .query(&[("loginMnemotechnique", identifiant)]),
            _ => return Err(ApiError::gateway(codes::INTERNAL)),
        };
        let request = request
            .header("Content-Type", "application/json")
            .header("X-pe-consommateur", format!("DINUM - {caller}"));
        let response = self
            .token
            .send(&self.client, &self.client, FRANCE_TRAVAIL, request)
            .await?;
        http::read(FRANCE_TRAVAIL, response, self.max_body_bytes).await
    }
}

/// The France Travail login: required, kept as given (it is echoed in `data`).
fn parse_identifiant(query: &Query) -> Result<Extras, Vec<ApiError>> {
    match query.get("identifiant").filter(|v| !v.trim().is_empty()) {
        Some(identifiant) => Ok(Extras::from([("identifiant".into(), identifiant.into())])),
        None => Err(vec![
            ApiError::gateway(codes::IDENTIFIANT_INVALID).with_detail("L'identifiant est manquant")
        ]),
    }
}

#[async_trait]
impl Provider for FranceTravailProvider {
    fn info(&self) -> ProviderInfo {
        FRANCE_TRAVAIL
    }

    fn parse_extras(&self, _endpoint: &Endpoint, query: &Query, _today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        parse_identifiant(query)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let identifiant = crate::required(call.extras, "identifiant")?;
        let resource = call.endpoint.resource;
        let (status, body) = self.call_upstream(resource, identifiant, call.caller).await?;
        mapping::answer(resource, status, &body, identifiant).map(Fetched::from)
    }

    /// Asks for a token, then the status of a login nobody has: the upstream must
    /// answer "unknown person".
    async fn ping(&self) -> Health {
        let answer = self.call_upstream("statut", simulator::PING_LOGIN, PING_CALLER).await;
        let up = [StatusCode::NOT_FOUND, StatusCode::PARTIAL_CONTENT];
        http::health(answer.map(|(status, _)| status), &up)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiant_is_required_and_kept_as_given() {
        let missing = parse_identifiant(&Query::from_pairs(&[])).unwrap_err();
        assert_eq!((missing[0].code.as_str(), missing[0].status()), ("00380", 422));
        let blank = parse_identifiant(&Query::from_pairs(&[("identifiant", "  ")])).unwrap_err();
        assert_eq!(blank[0].code, "00380");
        let ok = parse_identifiant(&Query::from_pairs(&[("identifiant", "jean.dupont33")])).unwrap();
        assert_eq!(ok["identifiant"], "jean.dupont33");
    }

    #[test]
    fn default_scope_names_the_client_application() {
        assert!(default_scope("abc").ends_with(" application_abc"));
    }
}
