//! SDH (Ministère des Sports): the high-level athlete status, found by the athlete's
//! numeric identifier. An OAuth2 token (client credentials in the form), then
//! `GET <endpoint_url>/<identifiant>` with the bearer only.

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

pub const SDH: ProviderInfo = ProviderInfo {
    name: "SDH",
    prefix: "41",
};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct SdhConfig {
    /// Base of the default URLs below.
    pub base_url: String,
    /// OAuth2 token endpoint; `<base_url>/token` when absent.
    pub token_url: Option<String>,
    /// The athletes' resource: `<endpoint_url>/<identifiant>`; `<base_url>/statut_sportif` when absent.
    pub endpoint_url: Option<String>,
    pub client_id: String,
    pub client_secret: String,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    pub tls: TlsSettings,
}

impl Default for SdhConfig {
    fn default() -> Self {
        SdhConfig::simulated("http://127.0.0.1:8090/sdh")
    }
}

impl SdhConfig {
    pub fn simulated(base_url: &str) -> Self {
        SdhConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            token_url: None,
            endpoint_url: None,
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
        }
    }
}

pub struct SdhProvider {
    client: Upstream,
    max_body_bytes: usize,
    token: TokenCache,
    endpoint_url: String,
}

impl SdhProvider {
    pub fn new(config: SdhConfig) -> anyhow::Result<Self> {
        let token_url = http::parse_url(SDH.name, &http::or_base(&config.token_url, &config.base_url, "token"))?;
        let endpoint_url = http::or_base(&config.endpoint_url, &config.base_url, "statut_sportif");
        // The identifier goes after this base per call: only the base is checked here.
        http::parse_url(SDH.name, &endpoint_url)?;
        Ok(SdhProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            token: TokenCache::new(TokenRequest::new(
                token_url,
                config.client_id,
                config.client_secret,
                ClientAuth::Form,
            )),
            endpoint_url: endpoint_url.trim_end_matches('/').to_string(),
        })
    }

    async fn call_upstream(&self, identifiant: &str) -> Result<(StatusCode, Vec<u8>), ApiError> {
        // The identifier is digits only (checked by `parse_identifiant`): safe in a path.
        let request = self.client.get(format!("{}/{identifiant}", self.endpoint_url));
        http::read(
            SDH,
            self.token.send(&self.client, &self.client, SDH, request).await?,
            self.max_body_bytes,
        )
        .await
    }
}

/// The athlete's identifier: digits only, else `00380`.
fn parse_identifiant(query: &Query) -> Result<Extras, Vec<ApiError>> {
    let digits = |v: &&str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit());
    match query.get("identifiant").filter(digits) {
        Some(identifiant) => Ok(Extras::from([("identifiant".into(), identifiant.into())])),
        None => Err(vec![ApiError::gateway(codes::IDENTIFIANT_INVALID).with_detail(
            "L'identifiant est manquant ou n'est pas composé uniquement de chiffres",
        )]),
    }
}

#[async_trait]
impl Provider for SdhProvider {
    fn info(&self) -> ProviderInfo {
        SDH
    }

    fn parse_extras(&self, _endpoint: &Endpoint, query: &Query, _today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        parse_identifiant(query)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let identifiant = crate::required(call.extras, "identifiant")?;
        let (status, body) = self.call_upstream(identifiant).await?;
        mapping::answer(status, &body, call.today).map(Fetched::from)
    }

    /// Asks for a token, then an athlete nobody is: the upstream must answer 404
    /// (the real gateway's ping uses the same identifier).
    async fn ping(&self) -> Health {
        let answer = self.call_upstream(simulator::PING_IDENTIFIANT).await;
        http::health(answer.map(|(status, _)| status), &[StatusCode::NOT_FOUND])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(pairs: &[(&str, &str)]) -> Option<String> {
        parse_identifiant(&Query::from_pairs(pairs))
            .err()
            .map(|e| e[0].code.clone())
    }

    #[test]
    fn identifiant_is_digits_only() {
        assert_eq!(code(&[]), Some("00380".into()));
        assert_eq!(code(&[("identifiant", "")]), Some("00380".into()));
        assert_eq!(code(&[("identifiant", "12a45")]), Some("00380".into()));
        assert_eq!(code(&[("identifiant", "../12")]), Some("00380".into()));
        assert_eq!(code(&[("identifiant", " 12")]), Some("00380".into()));
        assert_eq!(code(&[("identifiant", "12345")]), None);
    }

    #[test]
    fn a_mistyped_url_stops_the_start() {
        let simulated = SdhConfig::simulated("http://127.0.0.1:1/sdh");
        assert!(SdhProvider::new(simulated.clone()).is_ok());
        let mistyped = [
            SdhConfig {
                endpoint_url: Some("127.0.0.1:1/sdh/statut_sportif".into()),
                ..simulated.clone()
            },
            SdhConfig {
                token_url: Some("ftp://127.0.0.1:1/sdh/token".into()),
                ..simulated
            },
        ];
        for config in mistyped {
            let Err(error) = SdhProvider::new(config) else {
                panic!("a mistyped URL was accepted");
            };
            assert!(error.to_string().starts_with("SDH: not"), "{error}");
        }
    }
}
