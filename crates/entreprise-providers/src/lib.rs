//! The upstream providers of API Entreprise, one folder each: the client implementing
//! `passerelle_bouquet::Provider`, the mapping to the public contract, and a simulator
//! speaking the upstream's own protocol with its data.

pub mod dgfip;
pub mod insee;
mod pdf;
pub mod urssaf;

use std::sync::Arc;

use passerelle_bouquet::{Provider, Registry};
use serde::{Deserialize, Serialize};

/// Every API Entreprise provider's settings (`[entreprise]` in the configuration).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct EntrepriseProvidersConfig {
    pub insee: insee::Settings,
    pub dgfip: dgfip::Settings,
    pub urssaf: urssaf::Settings,
}

impl EntrepriseProvidersConfig {
    /// Every provider pointed at the simulators under `base`, its answers' links at
    /// `public_base_url` (the gateway's API Entreprise address).
    pub fn simulated(base: &str, public_base_url: &str) -> Self {
        let mut insee = insee::Settings::simulated(&format!("{base}/insee_sirene"));
        insee.public_base_url = public_base_url.to_string();
        EntrepriseProvidersConfig {
            insee,
            dgfip: dgfip::Settings::simulated(&format!("{base}/dgfip")),
            urssaf: urssaf::Settings::simulated(&format!("{base}/urssaf")),
        }
    }
}

/// The providers, keyed by the ids the catalogue names.
pub fn registry(config: &EntrepriseProvidersConfig) -> anyhow::Result<Registry> {
    let insee: Arc<dyn Provider> = Arc::new(insee::InseeProvider::new(config.insee.clone())?);
    let dgfip: Arc<dyn Provider> = Arc::new(dgfip::DgfipProvider::new(config.dgfip.clone())?);
    let urssaf: Arc<dyn Provider> = Arc::new(urssaf::UrssafProvider::new(config.urssaf.clone())?);
    Ok(Registry::from([
        (insee::ID, insee),
        (dgfip::ID, dgfip),
        (urssaf::ID, urssaf),
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
            "/urssaf",
            urssaf::simulator::router(urssaf::simulator::Simulator::with_default_data()),
        )
}
