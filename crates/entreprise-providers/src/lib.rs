//! The upstream providers of API Entreprise, one folder each: the client implementing
//! `passerelle_bouquet::Provider`, the mapping to the public contract, and a simulator
//! speaking the upstream's own protocol with its data.

pub mod ademe;
pub mod banque_de_france;
pub mod carif_oref;
pub mod cibtp;
pub mod cnetp;
pub mod data_subvention;
pub mod dgddi;
pub mod dgfip;
pub mod fabrique_numerique_ministeres_sociaux;
pub mod fntp;
pub mod gip_mds;
pub mod infogreffe;
pub mod inpi_rne;
pub mod insee;
pub mod mi;
pub mod msa;
#[cfg(test)]
mod mtls;
pub mod opqibi;
mod pdf;
pub mod probtp;
pub mod qualibat;
pub mod qualifelec;
pub mod rnm;
#[cfg(test)]
mod testing;
mod upstream;
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
    pub rnm: rnm::Settings,
    pub fabrique_numerique_ministeres_sociaux: fabrique_numerique_ministeres_sociaux::Settings,
    pub ademe: ademe::Settings,
    pub msa: msa::Settings,
    pub carif_oref: carif_oref::Settings,
    pub data_subvention: data_subvention::Settings,
    pub opqibi: opqibi::Settings,
    pub fntp: fntp::Settings,
    pub qualifelec: qualifelec::Settings,
    pub cnetp: cnetp::Settings,
    pub cibtp: cibtp::Settings,
    pub qualibat: qualibat::Settings,
    pub probtp: probtp::Settings,
    pub inpi_rne: inpi_rne::Settings,
    pub banque_de_france: banque_de_france::Settings,
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
            rnm: rnm::Settings::simulated(&format!("{base}/rnm")),
            fabrique_numerique_ministeres_sociaux: fabrique_numerique_ministeres_sociaux::Settings::simulated(
                &format!("{base}/fabrique_numerique_ministeres_sociaux"),
            ),
            ademe: ademe::Settings::simulated(&format!("{base}/ademe")),
            msa: msa::Settings::simulated(&format!("{base}/msa")),
            carif_oref: carif_oref::Settings::simulated(&format!("{base}/carif_oref")),
            data_subvention: data_subvention::Settings::simulated(&format!("{base}/data_subvention")),
            opqibi: opqibi::Settings::simulated(&format!("{base}/opqibi")),
            fntp: fntp::Settings::simulated(&format!("{base}/fntp")),
            qualifelec: qualifelec::Settings::simulated(&format!("{base}/qualifelec")),
            cnetp: cnetp::Settings::simulated(&format!("{base}/cnetp")),
            cibtp: cibtp::Settings::simulated(&format!("{base}/cibtp")),
            qualibat: qualibat::Settings::simulated(&format!("{base}/qualibat")),
            probtp: probtp::Settings::simulated(&format!("{base}/probtp")),
            inpi_rne: inpi_rne::Settings::simulated(&format!("{base}/inpi_rne")),
            banque_de_france: banque_de_france::Settings::simulated(&format!("{base}/banque_de_france")),
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
    let rnm: Arc<dyn Provider> = Arc::new(rnm::RnmProvider::new(config.rnm.clone())?);
    let ademe: Arc<dyn Provider> = Arc::new(ademe::AdemeProvider::new(config.ademe.clone())?);
    let fabrique: Arc<dyn Provider> = Arc::new(fabrique_numerique_ministeres_sociaux::FabriqueProvider::new(
        config.fabrique_numerique_ministeres_sociaux.clone(),
    )?);
    let msa: Arc<dyn Provider> = Arc::new(msa::MsaProvider::new(config.msa.clone())?);
    let carif_oref: Arc<dyn Provider> = Arc::new(carif_oref::CarifOrefProvider::new(config.carif_oref.clone())?);
    let data_subvention: Arc<dyn Provider> = Arc::new(data_subvention::DataSubventionProvider::new(
        config.data_subvention.clone(),
    )?);
    let opqibi: Arc<dyn Provider> = Arc::new(opqibi::OpqibiProvider::new(config.opqibi.clone())?);
    let fntp: Arc<dyn Provider> = Arc::new(fntp::FntpProvider::new(config.fntp.clone())?);
    let qualifelec: Arc<dyn Provider> = Arc::new(qualifelec::QualifelecProvider::new(config.qualifelec.clone())?);
    let cnetp: Arc<dyn Provider> = Arc::new(cnetp::CnetpProvider::new(config.cnetp.clone())?);
    let cibtp: Arc<dyn Provider> = Arc::new(cibtp::CibtpProvider::new(config.cibtp.clone())?);
    let qualibat: Arc<dyn Provider> = Arc::new(qualibat::QualibatProvider::new(config.qualibat.clone())?);
    let probtp: Arc<dyn Provider> = Arc::new(probtp::ProbtpProvider::new(config.probtp.clone())?);
    let inpi_rne: Arc<dyn Provider> = Arc::new(inpi_rne::InpiRneProvider::new(config.inpi_rne.clone())?);
    // The bilans are described from DGFIP's dictionaries, asked with DGFIP's settings.
    let banque_de_france: Arc<dyn Provider> = Arc::new(banque_de_france::BanqueDeFranceProvider::new(
        config.banque_de_france.clone(),
        config.dgfip.clone(),
    )?);
    Ok(Registry::from([
        (insee::ID, insee),
        (dgfip::ID, dgfip),
        (infogreffe::ID, infogreffe),
        (mi::ID, mi),
        (vies::ID, vies),
        (dgddi::ID, dgddi),
        (gip_mds::ID, gip_mds),
        (urssaf::ID, urssaf),
        (rnm::ID, rnm),
        (fabrique_numerique_ministeres_sociaux::ID, fabrique),
        (ademe::ID, ademe),
        (msa::ID, msa),
        (carif_oref::ID, carif_oref),
        (data_subvention::ID, data_subvention),
        (opqibi::ID, opqibi),
        (fntp::ID, fntp),
        (qualifelec::ID, qualifelec),
        (cnetp::ID, cnetp),
        (cibtp::ID, cibtp),
        (qualibat::ID, qualibat),
        (probtp::ID, probtp),
        (inpi_rne::ID, inpi_rne),
        (banque_de_france::ID, banque_de_france),
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
            "/rnm",
            rnm::simulator::router(rnm::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/fabrique_numerique_ministeres_sociaux",
            fabrique_numerique_ministeres_sociaux::simulator::router(
                fabrique_numerique_ministeres_sociaux::simulator::Simulator::with_default_data(),
            ),
        )
        .nest(
            "/ademe",
            ademe::simulator::router(ademe::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/msa",
            msa::simulator::router(msa::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/carif_oref",
            carif_oref::simulator::router(carif_oref::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/data_subvention",
            data_subvention::simulator::router(data_subvention::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/opqibi",
            opqibi::simulator::router(opqibi::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/fntp",
            fntp::simulator::router(fntp::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/qualifelec",
            qualifelec::simulator::router(qualifelec::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/cnetp",
            cnetp::simulator::router(cnetp::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/cibtp",
            cibtp::simulator::router(cibtp::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/qualibat",
            qualibat::simulator::router(qualibat::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/probtp",
            probtp::simulator::router(probtp::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/inpi_rne",
            inpi_rne::simulator::router(inpi_rne::simulator::Simulator::with_default_data()),
        )
        .nest(
            "/banque_de_france",
            banque_de_france::simulator::router(banque_de_france::simulator::Simulator::with_default_data()),
        )
}
