//! The prober: every `probe_every_secs`, each provider's canned check (the one behind
//! `/api/<provider>/ping`), recorded in the store for the status page. It holds the
//! site weakly, so it stops once the gateway has dropped it.
//!
//! It calls `Provider::ping` itself rather than `Pings::check`, which keeps an `ok`
//! for a minute: the page must show a provider down at the next probe.

use std::sync::{Arc, Weak};
use std::time::Duration;

use chrono::Utc;
use passerelle_bouquet::{Health, Provider};
use passerelle_gateway::maintenance;
use passerelle_store::{Check, CheckStatus, Notice, NoticeKind};
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::french;
use crate::Site;

/// What a ping may take, as on the ping routes.
const BUDGET: Duration = Duration::from_secs(5);

/// Starts probing `site`'s providers, unless probes are off (`probe_every_secs = 0`).
pub fn spawn(site: &Arc<Site>) {
    let bouquet = site.bouquet().name;
    let every = site.config.probe_every_secs;
    if every == 0 {
        tracing::info!(bouquet, "status probes off (probe_every_secs = 0)");
        return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        tracing::warn!(bouquet, "no async runtime: status probes not started");
        return;
    };
    runtime.spawn(run(Arc::downgrade(site), Duration::from_secs(every)));
}

async fn run(site: Weak<Site>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(site) = site.upgrade() else {
            return;
        };
        probe_all(site).await;
    }
}

/// Checks every provider at once (each within its budget) and records what each found.
async fn probe_all(site: Arc<Site>) {
    let announced = announced_maintenance(&site).await;
    let mut checks = JoinSet::new();
    for (id, provider) in &site.bouquet().providers {
        let (site, provider, name) = (site.clone(), provider.clone(), id.as_str());
        checks.spawn(async move { (name, check(&site, name, provider.as_ref()).await) });
    }
    while let Some(done) = checks.join_next().await {
        match done {
            Ok((name, status)) => {
                let covered = announced
                    .iter()
                    .any(|n| n.provider.as_deref().is_none_or(|p| p == name));
                let status = match status {
                    CheckStatus::Down if covered => CheckStatus::Maintenance,
                    other => other,
                };
                record(&site, name, status).await;
            }
            Err(e) => tracing::error!(bouquet = site.bouquet().name, error = %e, "a status probe failed"),
        }
    }
}

/// What the provider's check says now; a window of the operator's or the provider's
/// own covering it whole makes it `Maintenance` without asking.
async fn check(site: &Site, name: &str, provider: &dyn Provider) -> CheckStatus {
    let windows = &site.served.app.config.maintenance;
    if maintenance::whole_provider_until(windows, name, provider, Utc::now()).is_some() {
        return CheckStatus::Maintenance;
    }
    let bouquet = site.bouquet().name;
    match tokio::time::timeout(BUDGET, provider.ping()).await {
        Ok(Health::Ok) => CheckStatus::Ok,
        Ok(Health::Unknown) => CheckStatus::Unknown,
        Ok(Health::Down(reason)) => {
            tracing::warn!(bouquet, provider = name, reason, "status probe: provider down");
            CheckStatus::Down
        }
        Err(_) => {
            tracing::warn!(bouquet, provider = name, "status probe: no answer within 5 s");
            CheckStatus::Down
        }
    }
}

/// The maintenance notices under way: a provider they cover that is down is in
/// maintenance, not in breakdown.
async fn announced_maintenance(site: &Site) -> Vec<Notice> {
    let now = Utc::now();
    let bouquet = site.bouquet().name;
    match site.store().recent_notices(Some(bouquet), now).await {
        Ok(notices) => notices
            .into_iter()
            .filter(|n| n.kind == NoticeKind::Maintenance && n.active_at(now))
            .collect(),
        Err(e) => {
            tracing::warn!(bouquet, error = %e, "status probe: notices unreadable");
            Vec::new()
        }
    }
}

async fn record(site: &Site, provider: &str, status: CheckStatus) {
    let at = Utc::now();
    let check = Check {
        bouquet: site.bouquet().name.to_string(),
        provider: provider.to_string(),
        day: french::paris_day(at),
        at,
        status,
    };
    if let Err(e) = site.store().record_check(&check).await {
        tracing::warn!(bouquet = check.bouquet, provider, error = %e, "status probe: check not recorded");
    }
}
