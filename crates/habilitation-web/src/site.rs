//! The site on API Particulier's listener, when the configuration turns it on, and
//! the demo's settings (login through the ProConnect simulator, its agents as staff).

use std::sync::Arc;

use passerelle_entreprise_providers::insee::InseeProvider;
use passerelle_gateway::config::{AlertsConfig, EditorConfig, HabilitationConfig};
use passerelle_gateway::{AppState, Sites};
use passerelle_habilitation::delegations::{Editor, Editors};
use passerelle_habilitation::workflow::{Site, Staff, WebhookTarget};
use passerelle_providers::pro_connect;
use passerelle_store::TokenRecord;
use uuid::Uuid;

use crate::{router, Settings, Tokens};

/// The gateway's key ring and token cache.
struct GatewayTokens(Arc<AppState>);

impl Tokens for GatewayTokens {
    fn jwt(&self, record: &TokenRecord) -> anyhow::Result<String> {
        passerelle_tokens::jwt_of(self.0.tokens.keys(), record)
    }

    fn forget(&self, jti: Uuid) {
        self.0.tokens.forget(jti);
    }
}

/// Adds the site to `sites` (beside API Particulier's other pages), if enabled.
pub fn add_site(sites: &mut Sites, state: &Arc<AppState>, particulier_listen: &str) -> anyhow::Result<()> {
    let config = &state.config.habilitation;
    if !config.enabled {
        return Ok(());
    }
    anyhow::ensure!(
        !config.issuer.is_empty() && !config.client_id.is_empty(),
        "habilitation needs ProConnect's issuer and client_id"
    );
    let public_url = match config.public_url.as_str() {
        "" => format!("http://{particulier_listen}"),
        url => url.trim_end_matches('/').to_string(),
    };
    if !config.dsfr_dir.join("dsfr.min.css").exists() {
        tracing::warn!(dir = %config.dsfr_dir.display(), "the DSFR is not built there (npm ci in web/): pages will show unstyled");
    }
    let settings = Settings {
        issuer: config.issuer.clone(),
        client_id: config.client_id.clone(),
        client_secret: config.client_secret.clone().unwrap_or_default(),
        public_url,
        dsfr_dir: config.dsfr_dir.clone(),
        staff: Staff {
            sirets: config.staff_sirets.clone(),
            instructors: config.instructors.clone(),
            admins: config.admins.clone(),
            providers: config.providers.clone(),
        },
        webhooks: targets(config),
        trusted_proxies: state.config.trusted_proxies.clone(),
        default_per_minute: state.config.limits.per_second.saturating_mul(60),
        editors: editors(config)?,
        providers: directory(&state.config)?,
        entreprise_url: Some(config.entreprise_url.clone()).filter(|u| !u.is_empty()),
        allow_loopback_webhooks: config.alerts.allow_loopback_webhooks,
    };
    let objects = crate::objects_in(&state.config.documents.backend(&state.config.data_dir)?)?;
    let insee = InseeProvider::new(state.config.entreprise.insee.clone())?;
    let tokens = Arc::new(GatewayTokens(state.clone()));
    let workflow_site = Site {
        base_url: format!("{}{}", settings.public_url, crate::BASE),
        staff: settings.staff.clone(),
        webhooks: settings.webhooks.clone(),
    };
    crate::jobs::spawn(config, state.store.clone(), workflow_site)?;
    // The portal's usage pages read the journal's rollups: counted even without the
    // public site (one job per store whoever asks).
    let every = std::time::Duration::from_secs(state.config.public_site.rollup_every_secs);
    passerelle_usage::spawn(&state.store, every);
    // The tokens' alerts read those rollups and the gateway's addresses (one job per
    // store, whoever asks).
    let alerts = &config.alerts;
    let rules = passerelle_alerts::Rules {
        spike_min_calls: alerts.spike_min_calls,
        spike_factor: alerts.spike_factor,
        spike_quiet_hours: alerts.spike_quiet_hours,
        unused_days: alerts.unused_days,
    };
    let alert_site = Site {
        base_url: format!("{}{}", settings.public_url, crate::BASE),
        staff: settings.staff.clone(),
        webhooks: settings.webhooks.clone(),
    };
    let every = std::time::Duration::from_secs(alerts.every_secs);
    passerelle_alerts::spawn(&state.store, alert_site, rules, every);
    let site = router(settings, state.store.clone(), tokens, objects, Arc::new(insee))?;
    let site = match &config.datapass_secret {
        // DataPass kept in front: its decisions arrive here, signed.
        Some(secret) => {
            let sink = Arc::new(passerelle_habilitation::datapass::StoreSink::new(state.store.clone()));
            site.merge(passerelle_webhooks::datapass::router(secret.as_bytes().to_vec(), sink))
        }
        None => site,
    };
    let name = passerelle_particulier::NAME;
    let merged = match sites.remove(name) {
        Some(other) => other.merge(site),
        None => site,
    };
    sites.insert(name, merged);
    Ok(())
}

/// The declared editors, checked (a bad declaration stops the start).
fn editors(config: &HabilitationConfig) -> anyhow::Result<Editors> {
    let list = config.editors.iter().map(|e| Editor {
        id: e.id.clone(),
        name: e.name.clone(),
        sirets: e.sirets.clone(),
    });
    Editors::new(list.collect())
}

fn targets(config: &HabilitationConfig) -> Vec<WebhookTarget> {
    config
        .webhooks
        .iter()
        .map(|w| WebhookTarget {
            name: w.name.clone(),
            url: w.url.clone(),
            events: w.events.clone(),
            bouquets: w.bouquets.clone(),
        })
        .collect()
}

/// The site on, its login through the ProConnect simulator at `simulators`, the
/// simulator's instructors and admin as staff, e-mails kept in the outbox.
pub fn simulated(simulators: &str, public_url: &str) -> HabilitationConfig {
    let agents = pro_connect::agents();
    let with_hint = |hint: &str| -> Vec<String> {
        agents
            .iter()
            .filter(|a| a.role_hint == hint)
            .map(|a| a.email.clone())
            .collect()
    };
    HabilitationConfig {
        enabled: true,
        issuer: pro_connect::issuer(simulators),
        client_id: pro_connect::LOGIN_CLIENT_ID.into(),
        client_secret: Some(pro_connect::LOGIN_CLIENT_SECRET.into()),
        public_url: public_url.into(),
        instructors: [
            ("particulier".to_string(), with_hint("instructeur particulier")),
            ("entreprise".to_string(), with_hint("instructeur entreprise")),
        ]
        .into(),
        admins: with_hint("admin"),
        // The simulator's staff are DINUM agents: the roles need that organisation too.
        staff_sirets: agents
            .iter()
            .filter(|a| a.role_hint.starts_with("instructeur") || a.role_hint == "admin")
            .map(|a| a.siret.clone())
            .collect(),
        // The agglomeration's shared digital service, as the software editor of its
        // member communes (Sainte-Colombe's people may delegate to it).
        editors: vec![EditorConfig {
            id: "numerique-mutualise".into(),
            name: "Service numérique mutualisé Hérault Méditerranée".into(),
            sirets: agents
                .iter()
                .filter(|a| a.organisation == "COMMUNAUTE D AGGLOMERATION HERAULT MEDITERRANEE")
                .map(|a| a.siret.clone())
                .collect(),
        }],
        // The demo's receivers listen on this machine.
        alerts: AlertsConfig {
            allow_loopback_webhooks: true,
            ..AlertsConfig::default()
        },
        ..HabilitationConfig::default()
    }
}

/// The providers of both bouquets, from the bouquets as the gateway builds them (the
/// registries name the providers).
fn directory(config: &passerelle_gateway::GatewayConfig) -> anyhow::Result<crate::Directory> {
    let particulier = passerelle_particulier::bouquet(&config.providers)?;
    let entreprise = passerelle_entreprise::bouquet(passerelle_entreprise_providers::registry(&config.entreprise)?);
    Ok(crate::Directory::of(&[&particulier, &entreprise]))
}
