//! GIP-MDS, the service civique: an OAuth2 token (client credentials in the form),
//! then a GET of the person's contracts of nature 89 (service civique) from the DSN.

mod mapping;
pub mod simulator;

use std::time::Duration;

use async_trait::async_trait;
use chrono::Datelike;
use passerelle_core::{codes, ApiError, Civility, ProviderInfo};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::http::{self, TlsSettings};
use crate::oauth::{ClientAuth, TokenCache, TokenRequest};
use crate::upstream::Upstream;
use crate::{Call, Fetched, Health, Provider};

pub const GIP_MDS: ProviderInfo = ProviderInfo {
    name: "GIP-MDS",
    prefix: "31",
};

/// The contract nature code of a service civique.
const NATURE_SERVICE_CIVIQUE: &str = "89";

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct GipMdsConfig {
    /// The GIP-MDS domain: token at `<base_url>/token`, contracts at
    /// `<base_url>/contrats-generique`.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    pub tls: TlsSettings,
}

impl Default for GipMdsConfig {
    fn default() -> Self {
        GipMdsConfig::simulated("http://127.0.0.1:8090/gip_mds")
    }
}

impl GipMdsConfig {
    pub fn simulated(base_url: &str) -> Self {
        GipMdsConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            timeout_secs: 10,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
        }
    }
}

pub struct GipMdsProvider {
    client: Upstream,
    max_body_bytes: usize,
    contracts_url: reqwest::Url,
    token: TokenCache,
}

impl GipMdsProvider {
    pub fn new(config: GipMdsConfig) -> anyhow::Result<Self> {
        let base = config.base_url.trim_end_matches('/');
        let token_url = http::parse_url(GIP_MDS.name, &format!("{base}/token"))?;
        Ok(GipMdsProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            contracts_url: http::parse_url(GIP_MDS.name, &format!("{base}/contrats-generique"))?,
            token: TokenCache::new(TokenRequest::new(
                token_url,
                config.client_id,
                config.client_secret,
                ClientAuth::Form,
            )),
        })
    }

    async fn contracts(&self, nom: &str, prenom: &str, date: &str) -> Result<reqwest::Response, ApiError> {
        let request = self
            .client
            .get(self.contracts_url.clone())
            .query(&[
                ("nom", nom),
                ("prenom", prenom),
                ("dateNaissance", date),
                ("listeCodeNature", NATURE_SERVICE_CIVIQUE),
                ("comparaisonCertifiee", "1"),
            ])
            .header("Content-Type", "application/json");
        self.token.send(&self.client, &self.client, GIP_MDS, request).await
    }
}

/// The upstream's search fields: birth name upper-cased, the first first name, and
/// the birth date as `DDMMYYYY`. `None` without a full birth date (the civility
/// rules require one).
fn search(civility: &Civility) -> Option<(String, &str, String)> {
    let date = &civility.naissance;
    let (annee, mois, jour) = (date.annee?, date.mois?, date.jour?);
    Some((
        civility.nom_naissance.to_uppercase(),
        civility.prenoms.first()?.as_str(),
        format!("{jour:02}{mois:02}{annee:04}"),
    ))
}

#[async_trait]
impl Provider for GipMdsProvider {
    fn info(&self) -> ProviderInfo {
        GIP_MDS
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let (nom, prenom, date) = call
            .civility
            .and_then(search)
            .ok_or_else(|| ApiError::gateway(codes::INTERNAL))?;
        let response = self.contracts(&nom, prenom, &date).await?;
        let (status, body) = http::read(GIP_MDS, response, self.max_body_bytes).await?;
        mapping::build(status, &body).map(Fetched::from)
    }

    /// Gets a token, then searches a person nobody has: the upstream must answer 404.
    async fn ping(&self) -> Health {
        let year = chrono::Utc::now().year();
        let answer = self.contracts("PING", "PING", &format!("0101{year}")).await;
        http::health(answer.map(|r| r.status()), &[StatusCode::NOT_FOUND])
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use passerelle_core::Query;

    use super::*;

    #[test]
    fn search_fields_come_from_the_civility() {
        let endpoint = passerelle_catalogue::find("gip_mds/service_civique", "identite", 3).unwrap();
        let query = Query::from_pairs(&[
            ("nomNaissance", "Bernard"),
            ("prenoms[]", "Sophie"),
            ("prenoms[]", "Marie"),
            ("anneeDateNaissance", "1999"),
            ("moisDateNaissance", "11"),
            ("jourDateNaissance", "8"),
        ]);
        let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
        let civility = Civility::parse(&query, &endpoint.civility.unwrap(), today).unwrap();
        assert_eq!(
            search(&civility),
            Some(("BERNARD".to_string(), "Sophie", "08111999".to_string()))
        );
    }
}
