//! Data providers. Each lives in its own folder with its upstream client, its wire
//! types, the mapping to the public contract, and a simulator that speaks the same
//! protocol (so the demo and the tests exercise real HTTP).

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

pub mod cnous;
pub mod dss;
pub mod http;
pub mod insee;
pub mod oauth;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_catalogue::Endpoint;
use passerelle_core::{ApiError, Civility, ProviderInfo, Query, Siret};
use serde::Deserialize;
use serde_json::Value;

/// Endpoint-specific parameters after parsing, in a stable order (they are part of
/// the cache key and of the journal's parameter hash).
pub type Extras = BTreeMap<String, String>;

/// Everything a provider needs for one call.
pub struct Call<'a> {
    pub endpoint: &'static Endpoint,
    /// The API version called (fields may differ between versions).
    pub version: u8,
    pub civility: Option<&'a Civility>,
    pub extras: &'a Extras,
    pub recipient: &'a Siret,
    pub request_id: &'a str,
    pub today: NaiveDate,
}

#[async_trait]
pub trait Provider: Send + Sync {
    fn info(&self) -> ProviderInfo;

    /// Parses the endpoint's own parameters (beyond identity). Errors are 422s.
    fn parse_extras(
        &self,
        _endpoint: &Endpoint,
        _query: &Query,
        _today: NaiveDate,
    ) -> Result<Extras, Vec<ApiError>> {
        Ok(Extras::new())
    }

    /// Calls the upstream and maps its answer to the contract's `data`, unmasked.
    async fn fetch(&self, call: &Call<'_>) -> Result<Value, ApiError>;

    /// Checks the real upstream with a canned call. The gateway caps it at 5 s.
    async fn ping(&self) -> Health {
        Health::Unknown
    }
}

/// What a provider ping found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ok,
    /// The upstream did not answer as expected; the reason is for the logs.
    Down(String),
    /// The provider has no way to check.
    Unknown,
}

/// Upstream settings of every provider (one field per provider).
#[derive(Debug, Clone, Deserialize, Default)]
pub struct ProvidersConfig {
    #[serde(default)]
    pub dss: dss::DssConfig,
    #[serde(default)]
    pub insee: insee::InseeConfig,
    #[serde(default)]
    pub cnous: cnous::CnousConfig,
}

impl ProvidersConfig {
    /// Points every provider at a running simulator (`http://host:port`).
    pub fn simulated(base: &str) -> Self {
        ProvidersConfig {
            dss: dss::DssConfig::simulated(&format!("{base}/dss")),
            insee: insee::InseeConfig::simulated(&format!("{base}/insee")),
            cnous: cnous::CnousConfig::simulated(&format!("{base}/cnous")),
        }
    }
}

pub type Registry = HashMap<&'static str, Arc<dyn Provider>>;

/// The registry the gateway dispatches to, keyed by the catalogue's provider id.
/// Fails on unusable settings (an unreadable client certificate, say).
pub fn registry(config: &ProvidersConfig) -> anyhow::Result<Registry> {
    let mut providers: Registry = HashMap::new();
    providers.insert("dss", Arc::new(dss::DssProvider::new(config.dss.clone())?));
    providers.insert(
        "cnous",
        Arc::new(cnous::CnousProvider::new(
            config.cnous.clone(),
            &config.insee,
        )?),
    );
    Ok(providers)
}

/// Every simulator, nested under its provider's prefix.
pub fn simulators() -> axum::Router {
    axum::Router::new()
        .nest(
            "/dss",
            dss::simulator::router(dss::simulator::Simulator::with_default_people()),
        )
        .nest("/insee", insee::simulator::router())
        .nest(
            "/cnous",
            cnous::simulator::router(cnous::simulator::Simulator::with_default_people()),
        )
}
