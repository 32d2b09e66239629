//! The site on API Particulier's listener, when the gateway's configuration turns
//! the citizen record on.

use std::sync::Arc;

use passerelle_gateway::config::CitizenRecordConfig;
use passerelle_gateway::{AppState, Sites};
use passerelle_providers::france_connect::login;

use passerelle_entreprise_providers::insee::InseeProvider;

use crate::sirene::Sirene;
use crate::{router, Settings};

/// The sites to serve beside the bouquets: the citizen record's, if enabled.
pub fn sites(state: &AppState, particulier_listen: &str) -> anyhow::Result<Sites> {
    let mut sites = Sites::new();
    let config = &state.config.citizen_record;
    let Some(secret) = state.citizen_secret.clone() else {
        return Ok(sites);
    };
    anyhow::ensure!(
        !config.issuer.is_empty() && !config.client_id.is_empty(),
        "citizen_record needs FranceConnect's issuer and client_id"
    );
    let public_url = if config.public_url.is_empty() {
        format!("http://{particulier_listen}")
    } else {
        config.public_url.trim_end_matches('/').to_string()
    };
    if !config.dsfr_dir.join("dsfr.min.css").exists() {
        tracing::warn!(dir = %config.dsfr_dir.display(), "the DSFR is not built there (npm ci in web/): pages will show unstyled");
    }
    let settings = Settings {
        secret,
        issuer: config.issuer.clone(),
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone().unwrap_or_default(),
        public_url,
        dsfr_dir: config.dsfr_dir.clone(),
    };
    let insee = InseeProvider::new(state.config.entreprise.insee.clone())?;
    let site = router(
        settings,
        state.store.clone(),
        state.journal.clone(),
        Arc::new(Sirene::new(insee)),
    );
    sites.insert(passerelle_particulier::NAME, site);
    Ok(sites)
}

/// The citizen record on, its login through the FranceConnect simulator at
/// `simulators` (the demo's and the tests').
pub fn simulated(simulators: &str, public_url: &str) -> CitizenRecordConfig {
    CitizenRecordConfig {
        enabled: true,
        secret: Some(DEMO_SECRET.into()),
        issuer: format!("{simulators}/france_connect{}", login::ISSUER_PATH),
        client_id: login::LOGIN_CLIENT_ID.into(),
        client_secret: Some(login::LOGIN_CLIENT_SECRET.into()),
        public_url: public_url.into(),
        ..CitizenRecordConfig::default()
    }
}

/// The demo's key of lookup keys: a deployment sets its own (`citizen_record.secret`).
const DEMO_SECRET: &str = "passerelle-demo-citizen-record-not-a-real-secret";
