//! Data providers. Each lives in its own folder with its upstream client, its wire
//! types, the mapping to the public contract, and a simulator that speaks the same
//! protocol (so the demo and the tests exercise real HTTP).

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

pub mod ants;
pub mod cnous;
pub mod dsnj;
pub mod dss;
pub mod france_connect;
pub mod france_travail;
pub mod gip_mds;
pub mod http;
#[cfg(test)]
mod incomplete;
pub mod insee;
pub mod men;
pub mod mesri;
pub mod oauth;
pub(crate) mod oidc_simulator;
pub mod pro_connect;
pub mod sdh;
pub mod simulation;
pub mod upstream;

use std::sync::Arc;

pub use passerelle_bouquet::{Call, Extras, Fetched, Health, Provider, Registry};
use passerelle_catalogue::ids;
use serde::Deserialize;

/// An extra that `parse_extras` put there: without it the gateway itself is at fault.
fn required<'a>(extras: &'a Extras, key: &str) -> Result<&'a String, passerelle_core::ApiError> {
    extras
        .get(key)
        .ok_or_else(|| passerelle_core::ApiError::gateway(passerelle_core::codes::INTERNAL))
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
    pub ants: ants::AntsConfig,
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
            ants: ants::AntsConfig::simulated(&at("ants")),
            france_connect: france_connect::FranceConnectConfig::simulated(&at("france_connect")),
        }
    }
}

/// The registry the gateway dispatches to, keyed by the catalogue's provider id.
/// Fails on unusable settings (an unreadable client certificate, say).
pub fn registry(config: &ProvidersConfig) -> anyhow::Result<Registry> {
    let c = config;
    let providers: [(_, Arc<dyn Provider>); 9] = [
        (ids::DSS, Arc::new(dss::DssProvider::new(c.dss.clone())?)),
        (
            ids::CNOUS,
            Arc::new(cnous::CnousProvider::new(c.cnous.clone(), &c.insee)?),
        ),
        (
            ids::MESRI,
            Arc::new(mesri::MesriProvider::new(c.mesri.clone(), &c.insee)?),
        ),
        (ids::MEN, Arc::new(men::MenProvider::new(c.men.clone())?)),
        (
            ids::FRANCE_TRAVAIL,
            Arc::new(france_travail::FranceTravailProvider::new(c.france_travail.clone())?),
        ),
        (ids::SDH, Arc::new(sdh::SdhProvider::new(c.sdh.clone())?)),
        (ids::DSNJ, Arc::new(dsnj::DsnjProvider::new(c.dsnj.clone())?)),
        (ids::GIP_MDS, Arc::new(gip_mds::GipMdsProvider::new(c.gip_mds.clone())?)),
        (ids::ANTS, Arc::new(ants::AntsProvider::new(c.ants.clone())?)),
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
        .nest(
            pro_connect::PREFIX,
            pro_connect::simulator::router(pro_connect::simulator::Simulator::with_default_agents()),
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
        .nest(
            "/ants",
            ants::simulator::router(ants::simulator::Simulator::with_default_vehicles()),
        )
}
