//! INSEE's geographic metadata ("transcogage"): finds the COG code of a birth commune
//! from its name, its département and the birth year. Used by the providers whose
//! upstream needs a commune code (CNOUS, MESRI) when the caller gave the name instead.

pub mod simulator;

use std::time::Duration;

use passerelle_core::{Civility, ProviderInfo};
use serde::Deserialize;

use crate::http::{self, TlsSettings};
use crate::upstream::Upstream;

/// Only named in logs: a failed lookup is never the caller's error.
const INSEE: ProviderInfo = ProviderInfo {
    name: "INSEE",
    prefix: "01",
};

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct InseeConfig {
    /// Base URL of the metadata API (`<base_url>/geo/communes`).
    pub base_url: String,
    pub timeout_secs: u64,
    /// Cap on one upstream body (`http::DEFAULT_MAX_BODY_BYTES` by default).
    pub max_body_bytes: usize,
    pub tls: TlsSettings,
}

impl Default for InseeConfig {
    fn default() -> Self {
        InseeConfig::simulated("http://127.0.0.1:8090/insee")
    }
}

impl InseeConfig {
    pub fn simulated(base_url: &str) -> Self {
        InseeConfig {
            base_url: base_url.trim_end_matches('/').into(),
            timeout_secs: 5,
            max_body_bytes: http::DEFAULT_MAX_BODY_BYTES,
            tls: TlsSettings::default(),
        }
    }
}

#[derive(Deserialize)]
struct Commune {
    code: String,
}

pub struct Insee {
    client: Upstream,
    max_body_bytes: usize,
    communes_url: reqwest::Url,
}

impl Insee {
    pub fn new(config: &InseeConfig) -> anyhow::Result<Insee> {
        Ok(Insee {
            client: http::client(Duration::from_secs(config.timeout_secs), &config.tls)?,
            max_body_bytes: config.max_body_bytes,
            communes_url: http::parse_url(INSEE.name, &format!("{}/geo/communes", config.base_url))?,
        })
    }

    /// The commune code of `civility`: the one given, or the one INSEE finds for the
    /// commune name, département and birth year. A failed lookup is not an error: the
    /// upstream then searches without a birthplace, as the real gateway does.
    pub async fn commune_code(&self, civility: &Civility) -> Option<String> {
        if let Some(code) = &civility.code_commune_naissance {
            return Some(code.clone());
        }
        let (name, departement, year) = (
            civility.nom_commune_naissance.as_ref()?,
            civility.code_departement_naissance.as_ref()?,
            civility.naissance.annee?,
        );
        let request = self
            .client
            .get(self.communes_url.clone())
            .query(&[
                ("date", format!("{year:04}-01-01")),
                ("filtreNom", name.clone()),
                ("com", "false".into()),
            ])
            .header("Accept", "application/json");
        let response = self.client.send(INSEE, request).await.ok()?;
        let (status, body) = http::read(INSEE, response, self.max_body_bytes).await.ok()?;
        if !status.is_success() {
            return None;
        }
        let communes: Vec<Commune> = serde_json::from_slice(&body).ok()?;
        match communes.as_slice() {
            [only] => Some(only.code.clone()),
            many => many
                .iter()
                .find(|c| c.code.starts_with(departement.as_str()))
                .map(|c| c.code.clone()),
        }
    }
}
