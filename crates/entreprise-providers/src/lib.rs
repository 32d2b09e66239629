//! The upstream providers of API Entreprise, one folder each: the client implementing
//! `passerelle_bouquet::Provider`, the mapping to the public contract, and a simulator
//! speaking the upstream's own protocol with its data.

pub mod cibtp;
pub mod cnetp;
pub mod dgddi;
pub mod dgfip;
pub mod gip_mds;
pub mod infogreffe;
pub mod insee;
pub mod mi;
mod pdf;
pub mod urssaf;
pub mod vies;

use std::sync::Arc;

use passerelle_bouquet::{Provider, Registry};
use serde::{Deserialize, Serialize};

/// Every API Entreprise provider's settings (`[entreprise]` in the configuration).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EntrepriseProvidersConfig {
    pub insee: insee::Settings,
    pub dgfip: dgfip::Settings,
    pub infogreffe: infogreffe::Settings,
    pub mi: mi::Settings,
    pub vies: vies::Settings,
    pub dgddi: dgddi::Settings,
    pub gip_mds: gip_mds::Settings,
    pub urssaf: urssaf::Settings,
    pub cnetp: cnetp::Settings,
    pub cibtp: cibtp::Settings,
}

impl EntrepriseProvidersConfig {
    /// Every provider pointed at the simulators under `base`, its answers' links at
    /// `public_base_url` (the gateway's API Entreprise address).
    pub fn simulated(base: &str, public_base_url: &str) -> Self {
        let mut insee = insee::Settings::simulated(&format!("{base}/insee_sirene"));
        insee.public_base_url = public_base_url.to_string();
        let mut mi = mi::Settings::simulated(&format!("{base}/mi"));
        mi.public_base_url = public_base_url.to_string();
        EntrepriseProvidersConfig {
            insee,
            dgfip: dgfip::Settings::simulated(&format!("{base}/dgfip")),
            infogreffe: infogreffe::Settings::simulated(&format!("{base}/infogreffe")),
            mi,
            vies: vies::Settings::simulated(&format!("{base}/vies")),
            dgddi: dgddi::Settings::simulated(&format!("{base}/dgddi")),
            gip_mds: gip_mds::Settings::simulated(&format!("{base}/gip_mds_effectifs")),
            urssaf: urssaf::Settings::simulated(&format!("{base}/urssaf")),
            cnetp: cnetp::Settings::simulated(&format!("{base}/cnetp")),
            cibtp: cibtp::Settings::simulated(&format!("{base}/cibtp")),
        }
    }
}

/// The providers, keyed by the ids the catalogue names.
pub fn registry(config: &EntrepriseProvidersConfig) -> anyhow::Result<Registry> {
    let insee: Arc<dyn Provider> = Arc::new(insee::InseeProvider::new(config.insee.clone())?);
    let dgfip: Arc<dyn Provider> = Arc::new(dgfip::DgfipProvider::new(config.dgfip.clone())?);
    let infogreffe: Arc<dyn Provider> = Arc::new(infogreffe::InfogreffeProvider::new(config.infogreffe.clone())?);
    let mi: Arc<dyn Provider> = Arc::new(mi::MiProvider::new(config.mi.clone())?);
    let vies: Arc<dyn Provider> = Arc::new(vies::ViesProvider::new(config.vies.clone())?);
    let dgddi: Arc<dyn Provider> = Arc::new(dgddi::DgddiProvider::new(config.dgddi.clone())?);
    let gip_mds: Arc<dyn Provider> = Arc::new(gip_mds::GipMdsEffectifsProvider::new(config.gip_mds.clone())?);
    let urssaf: Arc<dyn Provider> = Arc::new(urssaf::UrssafProvider::new(config.urssaf.clone())?);
    let cnetp: Arc<dyn Provider> = Arc::new(cnetp::CnetpProvider::new(config.cnetp.clone())?);
    let cibtp: Arc<dyn Provider> = Arc::new(cibtp::CibtpProvider::new(config.cibtp.clone())?);
    Ok(Registry::from([
        (insee::ID, insee),
        (dgfip::ID, dgfip),
        (infogreffe::ID, infogreffe),
        (mi::ID, mi),
        (vies::ID, vies),
        (dgddi::ID, dgddi),
        (gip_mds::ID, gip_mds),
        (urssaf::ID, urssaf),
        (cnetp::ID, cnetp),
        (cibtp::ID, cibtp),
    ]))
}

/// Every simulator, each under its own prefix.
pub fn simulators() -> axum::Router {
    axum::Router::new()
        .nest(
            "/insee_sirene",
            insee::simulator::router(insee::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/dgfip",
            dgfip::simulator::router(dgfip::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/infogreffe",
            infogreffe::simulator::router(infogreffe::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/mi",
            mi::simulator::router(mi::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/vies",
            vies::simulator::router(vies::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/dgddi",
            dgddi::simulator::router(dgddi::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/gip_mds_effectifs",
            gip_mds::simulator::router(gip_mds::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/urssaf",
            urssaf::simulator::router(urssaf::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/cnetp",
            cnetp::simulator::router(cnetp::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/cibtp",
            cibtp::simulator::router(cibtp::simulator::Simulator::with_default_data()),
        )
}
