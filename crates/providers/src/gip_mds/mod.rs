//! GIP-MDS, the service civique: an OAuth2 token (client credentials in the form),
//! then a GET of the person's contracts of nature 89 (service civique) from the DSN.

mod mapping;
pub mod simulator;
mod token;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{Datelike, NaiveDate};
use passerelle_catalogue::Endpoint;
use passerelle_core::{ApiError, Civility, CivilityRules, ProviderInfo, Query};
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;

use crate::http::{self, TlsSettings};
use crate::{Call, Extras, Health, Provider};

pub const GIP_MDS: ProviderInfo = ProviderInfo {
    name: "GIP-MDS",
    prefix: "31",
};

/// The contract nature code of a service civique.
const NATURE_SERVICE_CIVIQUE: &str = "89";

/// The identity GIP-MDS matches on: birth name, first name, full birth date.
const CIVILITY: CivilityRules = CivilityRules {
    prenoms_required: true,
    max_prenoms: 3,
    birth_date_required: true,
    sexe_required: false,
    pays_required: true,
    birth_date_until_yesterday: false,
    birthplace_required_in_france: false,
};

/// The query parameters GIP-MDS reads; the others are ignored, as the real gateway does.
const IDENTITY_PARAMS: &[&str] = &[
    "nomNaissance",
    "prenoms[]",
    "prenoms",
    "anneeDateNaissance",
    "moisDateNaissance",
    "jourDateNaissance",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct GipMdsConfig {
    /// The GIP-MDS domain: token at `<base_url>/token`, contracts at
    /// `<base_url>/contrats-generique`.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub timeout_secs: u64,
    pub tls: TlsSettings,
}

impl Default for GipMdsConfig {
    fn default() -> Self {
        GipMdsConfig::simulated("http://127.0.0.1:8081/gip_mds")
    }
}

impl GipMdsConfig {
    pub fn simulated(base_url: &str) -> Self {
        GipMdsConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: simulator::CLIENT_ID.into(),
            client_secret: simulator::CLIENT_SECRET.into(),
            timeout_secs: 10,
            tls: TlsSettings::default(),
        }
    }
}

pub struct GipMdsProvider {
    client: reqwest::Client,
    contracts_url: String,
    token: token::Token,
}

impl GipMdsProvider {
    pub fn new(config: GipMdsConfig) -> anyhow::Result<Self> {
        let base = config.base_url.trim_end_matches('/');
        Ok(GipMdsProvider {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            contracts_url: format!("{base}/contrats-generique"),
            token: token::Token::new(format!("{base}/token"), config.client_id, config.client_secret),
        })
    }

    async fn contracts(&self, nom: &str, prenom: &str, date: &str) -> Result<reqwest::Response, ApiError> {
        let token = self.token.get(&self.client).await?;
        let response = self
            .client
            .get(&self.contracts_url)
            .query(&[
                ("nom", nom),
                ("prenom", prenom),
                ("dateNaissance", date),
                ("listeCodeNature", NATURE_SERVICE_CIVIQUE),
                ("comparaisonCertifiee", "1"),
            ])
            .header("Content-Type", "application/json")
            .header("Authorization", format!("Bearer {token}"))
            .send()
            .await
            .map_err(|e| http::transport_error(GIP_MDS, &e))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            self.token.invalidate().await;
        }
        Ok(response)
    }
}

/// Checks the identity with the shared civility rules. They always want a birth
/// country, which GIP-MDS does not take: France is filled in for the check only.
fn parse_identity(query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
    let mut pairs: Vec<(String, String)> = query
        .pairs()
        .iter()
        .filter(|(k, _)| IDENTITY_PARAMS.contains(&k.as_str()))
        .cloned()
        .collect();
    pairs.push((
        "codeCogInseePaysNaissance".into(),
        passerelle_core::identity::FRANCE.into(),
    ));
    let civility = Civility::parse(&Query::new(pairs), &CIVILITY, today)?;
    let (Some(annee), Some(mois), Some(jour)) = (
        civility.naissance.annee,
        civility.naissance.mois,
        civility.naissance.jour,
    ) else {
        return Err(vec![ApiError::gateway("00425")]);
    };
    let prenom = civility.prenoms.first().cloned().unwrap_or_default();
    Ok(Extras::from([
        ("nom".into(), civility.nom_naissance.to_uppercase()),
        ("prenom".into(), prenom),
        ("dateNaissance".into(), format!("{jour:02}{mois:02}{annee:04}")),
    ]))
}

#[async_trait]
impl Provider for GipMdsProvider {
    fn info(&self) -> ProviderInfo {
        GIP_MDS
    }

    fn parse_extras(&self, _endpoint: &Endpoint, query: &Query, today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        parse_identity(query, today)
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Value, ApiError> {
        let field = |k: &str| {
            call.extras
                .get(k)
                .map(String::as_str)
                .ok_or_else(|| ApiError::gateway("00500"))
        };
        let response = self
            .contracts(field("nom")?, field("prenom")?, field("dateNaissance")?)
            .await?;
        let status = response.status();
        let body = response.bytes().await.map_err(|e| http::transport_error(GIP_MDS, &e))?;
        mapping::build(status, &body)
    }

    /// Gets a token, then searches a person nobody has: the upstream must answer 404.
    async fn ping(&self) -> Health {
        let year = chrono::Utc::now().year();
        match self.contracts("PING", "PING", &format!("0101{year}")).await {
            Ok(r) if r.status() == StatusCode::NOT_FOUND => Health::Ok,
            Ok(r) => Health::Down(format!("unexpected status {}", r.status())),
            Err(e) => Health::Down(e.code),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn identity_needs_no_sex_nor_country() {
        let query = Query::from_pairs(&[
            ("nomNaissance", "Bernard"),
            ("prenoms[]", "Sophie"),
            ("prenoms[]", "Marie"),
            ("anneeDateNaissance", "1999"),
            ("moisDateNaissance", "11"),
            ("jourDateNaissance", "8"),
            ("sexeEtatCivil", "X"),
        ]);
        let extras = parse_identity(&query, today()).unwrap();
        assert_eq!(
            (
                extras["nom"].as_str(),
                extras["prenom"].as_str(),
                extras["dateNaissance"].as_str()
            ),
            ("BERNARD", "Sophie", "08111999")
        );
    }

    #[test]
    fn identity_errors_are_gathered() {
        let query = Query::from_pairs(&[("moisDateNaissance", "13")]);
        let codes: Vec<String> = parse_identity(&query, today())
            .unwrap_err()
            .into_iter()
            .map(|e| e.code)
            .collect();
        assert_eq!(codes, ["00420", "00421", "00422", "00423", "00424"]);
    }
}
