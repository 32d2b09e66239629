//! Data providers. Each lives in its own folder with its upstream client, its wire
//! types, the mapping to the public contract, and a simulator that speaks the same
//! protocol (so the demo and the tests exercise real HTTP).

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

pub mod cnous;
pub mod dsnj;
pub mod dss;
pub mod france_connect;
pub mod france_travail;
pub mod gip_mds;
pub mod http;
pub mod insee;
pub mod men;
pub mod mesri;
pub mod oauth;
pub mod sdh;
pub mod simulation;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;
use passerelle_catalogue::Endpoint;
use passerelle_core::{ApiError, Civility, ProviderInfo, Query, Siret};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Endpoint-specific parameters after parsing, in a stable order (they are part of
/// the cache key and of the journal's parameter hash).
pub type Extras = BTreeMap<String, String>;

/// Everything a provider needs for one call.
pub struct Call<'a> {
    pub endpoint: &'static Endpoint,
    /// The API version called (fields may differ between versions).
    pub version: u8,
    /// The caller's token id, for upstreams that want to know who asks.
    pub caller: &'a str,
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
    fn parse_extras(&self, _endpoint: &Endpoint, _query: &Query, _today: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        Ok(Extras::new())
    }

    /// Calls the upstream and maps its answer to the contract's `data` (unmasked) and `meta`.
    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError>;

    /// Checks the real upstream with a canned call. The gateway caps it at 5 s.
    async fn ping(&self) -> Health {
        Health::Unknown
    }
}

/// A provider's answer: the contract's `data`, before masking, and its `meta`
/// (empty for most endpoints; ANTS reports how the identity matched).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fetched {
    pub data: Value,
    #[serde(default)]
    pub meta: serde_json::Map<String, Value>,
}

impl From<Value> for Fetched {
    fn from(data: Value) -> Self {
        Fetched {
            data,
            meta: serde_json::Map::new(),
        }
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
#[serde(default)]
pub struct ProvidersConfig {
    pub dss: dss::DssConfig,
    pub insee: insee::InseeConfig,
    pub cnous: cnous::CnousConfig,
    pub mesri: mesri::MesriConfig,
    pub men: men::MenConfig,
    pub france_travail: france_travail::FranceTravailConfig,
    pub sdh: sdh::SdhConfig,
    pub dsnj: dsnj::DsnjConfig,
    pub gip_mds: gip_mds::GipMdsConfig,
    pub france_connect: france_connect::FranceConnectConfig,
}

impl ProvidersConfig {
    /// Points every provider at a running simulator (`http://host:port`).
    pub fn simulated(base: &str) -> Self {
        let at = |prefix: &str| format!("{base}/{prefix}");
        ProvidersConfig {
            dss: dss::DssConfig::simulated(&at("dss")),
            insee: insee::InseeConfig::simulated(&at("insee")),
            cnous: cnous::CnousConfig::simulated(&at("cnous")),
            mesri: mesri::MesriConfig::simulated(&at("mesri")),
            men: men::MenConfig::simulated(&at("men")),
            france_travail: france_travail::FranceTravailConfig::simulated(&at("france_travail")),
            sdh: sdh::SdhConfig::simulated(&at("sdh")),
            dsnj: dsnj::DsnjConfig::simulated(&at("dsnj")),
            gip_mds: gip_mds::GipMdsConfig::simulated(&at("gip_mds")),
            france_connect: france_connect::FranceConnectConfig::simulated(&at("france_connect")),
        }
    }
}

pub type Registry = HashMap<&'static str, Arc<dyn Provider>>;

/// The registry the gateway dispatches to, keyed by the catalogue's provider id.
/// Fails on unusable settings (an unreadable client certificate, say).
pub fn registry(config: &ProvidersConfig) -> anyhow::Result<Registry> {
    let c = config;
    let providers: [(&'static str, Arc<dyn Provider>); 8] = [
        ("dss", Arc::new(dss::DssProvider::new(c.dss.clone())?)),
        ("cnous", Arc::new(cnous::CnousProvider::new(c.cnous.clone(), &c.insee)?)),
        ("mesri", Arc::new(mesri::MesriProvider::new(c.mesri.clone(), &c.insee)?)),
        ("men", Arc::new(men::MenProvider::new(c.men.clone())?)),
        (
            "france_travail",
            Arc::new(france_travail::FranceTravailProvider::new(c.france_travail.clone())?),
        ),
        ("sdh", Arc::new(sdh::SdhProvider::new(c.sdh.clone())?)),
        ("dsnj", Arc::new(dsnj::DsnjProvider::new(c.dsnj.clone())?)),
        ("gip_mds", Arc::new(gip_mds::GipMdsProvider::new(c.gip_mds.clone())?)),
    ];
    Ok(providers.into_iter().collect())
}

/// Every simulator, nested under its provider's prefix, with the FranceConnect simulator
/// encrypting to a gateway running with its defaults.
pub fn simulators() -> axum::Router {
    simulators_for(france_connect::simulator::DEFAULT_GATEWAY_JWKS_URL)
}

/// Every simulator; the FranceConnect one encrypts to the key published at
/// `gateway_jwks_url` (the gateway's `/api/france_connect_jwks`).
pub fn simulators_for(gateway_jwks_url: &str) -> axum::Router {
    axum::Router::new()
        .nest(
            "/france_connect",
            france_connect::simulator::router(france_connect::simulator::Simulator::with_default_people(
                gateway_jwks_url,
            )),
        )
        .nest("/insee", insee::simulator::router())
        .nest(
            "/dss",
            dss::simulator::router(dss::simulator::Simulator::with_default_people()),
        )
        .nest(
            "/cnous",
            cnous::simulator::router(cnous::simulator::Simulator::with_default_people()),
        )
        .nest(
            "/mesri",
            mesri::simulator::router(mesri::simulator::Simulator::with_default_people()),
        )
        .nest(
            "/men",
            men::simulator::router(men::simulator::Simulator::with_default_people()),
        )
        .nest(
            "/france_travail",
            france_travail::simulator::router(france_travail::simulator::Simulator::with_default_people()),
        )
        .nest(
            "/sdh",
            sdh::simulator::router(sdh::simulator::Simulator::with_default_people()),
        )
        .nest(
            "/dsnj",
            dsnj::simulator::router(dsnj::simulator::Simulator::with_default_people()),
        )
        .nest(
            "/gip_mds",
            gip_mds::simulator::router(gip_mds::simulator::Simulator::with_default_people()),
        )
}
