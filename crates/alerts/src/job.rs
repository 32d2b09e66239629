//! The alerts job: now and then, every token of every habilitation in force is
//! checked, and each alert found is raised once, with its letters and webhook.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Europe::Paris;
use passerelle_habilitation::tokens::{standing, Standing};
use passerelle_habilitation::workflow::{self, mail_context, Demande, Site};
use passerelle_habilitation::State;
use passerelle_mail::{alert_letters, TokenAlert};
use passerelle_store::{
    AlertMark, AlertRecord, AlertSettings, Grouping, OutboxItem, Store, TimeRange, TokenRecord, UsageCounts,
};
use passerelle_webhooks::outgoing::Envelope;
use serde_json::json;
use uuid::Uuid;

use crate::{spike, wanted, Channel, Kind, Rules};

const BOUQUETS: [&str; 2] = ["particulier", "entreprise"];

/// A new address alerts only past this long after the token's issue and after the
/// first call the gateway recorded for it: an integration's first deployment (and
/// this feature's) is no news.
const LEARNING: TimeDelta = TimeDelta::hours(24);

/// How far back addresses are looked at each run (past the flush delay and a
/// stopped job's short absence; older ones were looked at already).
const ADDRESS_LOOKBACK: TimeDelta = TimeDelta::hours(24);
const ADDRESSES_PER_RUN: u32 = 10_000;

/// A running job (one per store, whoever asks).
pub struct AlertJob {
    _private: (),
}

type Registry = Vec<(Weak<dyn Store>, Weak<AlertJob>)>;
static JOBS: Mutex<Registry> = Mutex::new(Vec::new());

/// Starts the job on `store` every `every` (at least a second), or returns the one
/// already running on it. It holds the store weakly and stops once the store is gone;
/// a failed run is logged and the next one tries again.
pub fn spawn(store: &Arc<dyn Store>, site: Site, rules: Rules, every: Duration) -> Arc<AlertJob> {
    let mut jobs = JOBS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    jobs.retain(|(kept, job)| kept.strong_count() > 0 && job.strong_count() > 0);
    let running = jobs
        .iter()
        .find(|(kept, _)| std::ptr::addr_eq(kept.as_ptr(), Arc::as_ptr(store)))
        .and_then(|(_, job)| job.upgrade());
    if let Some(job) = running {
        return job;
    }
    let job = Arc::new(AlertJob { _private: () });
    jobs.push((Arc::downgrade(store), Arc::downgrade(&job)));
    let every = every.max(Duration::from_secs(1));
    tokio::spawn(run(job.clone(), Arc::downgrade(store), site, rules, every));
    job
}

async fn run(_job: Arc<AlertJob>, store: Weak<dyn Store>, site: Site, rules: Rules, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(store) = store.upgrade() else {
            return;
        };
        match run_once(store.as_ref(), &site, &rules, Utc::now()).await {
            Ok(0) => {}
            Ok(raised) => tracing::info!(raised, "token alerts raised"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "the alerts job failed; the next run retries"),
        }
    }
}

/// A token and the habilitation it belongs to.
struct Held<'a> {
    demande: &'a Demande,
    token: TokenRecord,
    settings: Option<&'a AlertSettings>,
}

/// Checks every token answering at `now`; returns how many alerts this call raised.
///
/// A run reads the demandes of both bouquets, all tokens and all settings (a query
/// each), then per token answering: its refusals of the last two hours (and of the
/// week before when they reach the minimum, and its spike mark when they spike), its
/// calls of the last `unused_days` when it is older than that (and its mark); and
/// the new addresses of the last day not alerted yet, in one query.
pub async fn run_once(store: &dyn Store, site: &Site, rules: &Rules, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let demandes = in_force(store).await?;
    let settings: HashMap<Uuid, AlertSettings> = store
        .every_alert_settings()
        .await?
        .into_iter()
        .map(|s| (s.demande_id, s))
        .collect();
    let mut tokens: HashMap<Uuid, TokenRecord> = store.tokens().await?.into_iter().map(|t| (t.jti, t)).collect();
    let mut held = Vec::new();
    for demande in &demandes {
        for (jti, is_main) in demande
            .body
            .token
            .map(|t| (t, true))
            .into_iter()
            .chain(demande.body.retired_tokens.iter().map(|t| (*t, false)))
        {
            let Some(token) = tokens.remove(&jti) else {
                continue;
            };
            if matches!(standing(&token, is_main, now), Standing::Active | Standing::Overlapping) {
                held.push(Held {
                    demande,
                    token,
                    settings: settings.get(&demande.id),
                });
            }
        }
    }
    let mut raised = 0;
    for token in &held {
        if let Some(found) = spike_of(store, token, rules, now).await? {
            raised += u64::from(raise(store, site, token, found, now).await?);
        }
        if let Some(found) = unused(store, token, rules, now).await? {
            raised += u64::from(raise(store, site, token, found, now).await?);
        }
    }
    raised += new_addresses(store, site, &held, now).await?;
    Ok(raised)
}

/// The habilitations in force (validated, or being updated: the token still
/// answers), one broken demande skipped, not fatal.
async fn in_force(store: &dyn Store) -> anyhow::Result<Vec<Demande>> {
    let mut demandes = Vec::new();
    for bouquet in BOUQUETS {
        for record in store.demandes_in(bouquet).await? {
            let id = record.id;
            match Demande::read(record) {
                // Alerts are about tokens: a demande that never had one has none.
                Ok(d) if d.body.token.is_none() && d.body.retired_tokens.is_empty() => {}
                Ok(d) if d.standing.state == State::Validated || d.standing.reopening => demandes.push(d),
                Ok(_) => {}
                Err(e) => tracing::warn!(demande = %id, error = %e, "demande unreadable, no alert"),
            }
        }
    }
    Ok(demandes)
}

/// What a check found, before it is raised.
struct Found {
    kind: Kind,
    /// The mark's key and quiet time.
    mark: AlertMark,
    alert: TokenAlert,
    detail: String,
    data: serde_json::Value,
}

async fn counts(
    store: &dyn Store,
    jti: Uuid,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> anyhow::Result<UsageCounts> {
    let range = TimeRange {
        since: Some(since),
        until: Some(until),
    };
    let whole = Grouping {
        period: None,
        endpoint: false,
    };
    let lines = store.token_usage(jti, range, whole).await?;
    let mut total = UsageCounts::default();
    for line in &lines {
        total.add(&line.counts);
    }
    Ok(total)
}

async fn spike_of(
    store: &dyn Store,
    held: &Held<'_>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Found>> {
    let jti = held.token.jti;
    let window = spike::window_start(now);
    let recent = counts(store, jti, window, now).await?;
    let refused = recent.refused + recent.throttled;
    if refused < rules.spike_min_calls {
        return Ok(None);
    }
    let before = counts(store, jti, spike::baseline_start(window), window).await?;
    let baseline = before.refused + before.throttled;
    if !spike::is_spike(refused, baseline, rules) {
        return Ok(None);
    }
    // A spike lasts a while: read its mark rather than try a write every run.
    let quiet_since = now - TimeDelta::hours(rules.spike_quiet_hours);
    if store
        .alert_mark(jti, Kind::Spike.key())
        .await?
        .is_some_and(|raised| raised >= quiet_since)
    {
        return Ok(None);
    }
    let usual = spike::usual(baseline);
    Ok(Some(Found {
        kind: Kind::Spike,
        mark: AlertMark {
            jti,
            kind: Kind::Spike.key().into(),
            quiet_since: Some(quiet_since),
        },
        alert: TokenAlert::Spike { refused, usual },
        detail: format!(
            "{refused} appels refusés (dont {} pour dépassement de quota) depuis le début de l'heure précédente, contre {:.1} par heure en moyenne sur 7 jours",
            recent.throttled, usual
        ),
        data: json!({
            "refused": refused,
            "throttled": recent.throttled,
            "unauthorized_or_forbidden": recent.refused,
            "usual_per_hour": usual,
            "since": window,
        }),
    }))
}

async fn unused(
    store: &dyn Store,
    held: &Held<'_>,
    rules: &Rules,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<Found>> {
    let jti = held.token.jti;
    let quiet_since = now - TimeDelta::days(rules.unused_days);
    if held.token.issued_at > quiet_since || counts(store, jti, quiet_since, now).await?.calls > 0 {
        return Ok(None);
    }
    // Once until it is used again: a mark older than its last call moves.
    if let Some(raised) = store.alert_mark(jti, Kind::Unused.key()).await? {
        if counts(store, jti, raised, now).await?.calls == 0 {
            return Ok(None);
        }
    }
    let days = rules.unused_days;
    Ok(Some(Found {
        kind: Kind::Unused,
        mark: AlertMark {
            jti,
            kind: Kind::Unused.key().into(),
            quiet_since: Some(quiet_since),
        },
        alert: TokenAlert::Unused { days },
        detail: format!("aucun appel depuis {days} jours"),
        data: json!({ "days": days }),
    }))
}

async fn new_addresses(store: &dyn Store, site: &Site, held: &[Held<'_>], now: DateTime<Utc>) -> anyhow::Result<u64> {
    let owners: HashMap<Uuid, &Held> = held.iter().map(|h| (h.token.jti, h)).collect();
    let mut raised = 0;
    for fresh in store.fresh_addresses(now - ADDRESS_LOOKBACK, ADDRESSES_PER_RUN).await? {
        let seen = &fresh.seen;
        let Some(owner) = owners.get(&seen.jti) else {
            continue;
        };
        let learnt = owner.token.issued_at + LEARNING <= seen.first_seen
            && fresh.token_known_since + LEARNING <= seen.first_seen;
        if !learnt {
            continue;
        }
        let at = seen
            .first_seen
            .with_timezone(&Paris)
            .format("%d/%m/%Y %H:%M")
            .to_string();
        let found = Found {
            kind: Kind::NewAddress,
            mark: AlertMark {
                jti: seen.jti,
                kind: format!("{}:{}", Kind::NewAddress.key(), seen.address),
                quiet_since: None,
            },
            alert: TokenAlert::NewAddress {
                address: seen.address.clone(),
                at: at.clone(),
            },
            detail: format!("premier appel depuis {} le {at}", seen.address),
            data: json!({ "address": seen.address, "first_seen": seen.first_seen }),
        };
        raised += u64::from(raise(store, site, owner, found, now).await?);
    }
    Ok(raised)
}

/// Records `found` with its letters and webhook, unless its mark is taken.
async fn raise(
    store: &dyn Store,
    site: &Site,
    held: &Held<'_>,
    found: Found,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let demande = held.demande;
    let alert = AlertRecord {
        id: Uuid::new_v4(),
        demande_id: demande.id,
        jti: held.token.jti,
        kind: found.kind.key().into(),
        at: now,
        detail: found.detail.clone(),
    };
    let label = demande.token_label(held.token.jti);
    let mut outbox = Vec::new();
    if wanted(held.settings, Channel::Mail, found.kind) {
        let ctx = mail_context(demande, site, None);
        let settings_url = format!("{}/demandes/{}/alertes", site.base_url, demande.id);
        let parties = workflow::parties(demande, site);
        for letter in alert_letters(&ctx, &parties, &found.alert, &label, &settings_url) {
            let recipient = letter.to.first().map(|a| a.key()).unwrap_or_default();
            let mut item = OutboxItem::new("mail", serde_json::to_string(&letter)?, now);
            item.dedup = Some(format!("alert:{}:mail:{recipient}", alert.id));
            outbox.push(item);
        }
    }
    if let Some(hook) = webhook(held, &found, &alert, &label) {
        outbox.push(hook);
    }
    let raised = store.raise_alert(&alert, &found.mark, &outbox).await?;
    if raised {
        tracing::info!(demande = %demande.id, token = %alert.jti, kind = alert.kind, "token alert raised");
    }
    Ok(raised)
}

/// The signed webhook, when the habilitation set a URL and wants this kind there.
/// The item names the demande, not the URL nor the secret: the outbox reads them at
/// delivery, so a new secret or URL applies to what is queued, and a removed URL
/// drops it.
fn webhook(held: &Held<'_>, found: &Found, alert: &AlertRecord, label: &str) -> Option<OutboxItem> {
    let settings = held.settings?;
    settings.webhook_url.as_ref()?;
    if !wanted(Some(settings), Channel::Webhook, found.kind) {
        return None;
    }
    let envelope = Envelope {
        id: alert.id,
        event: format!("alert.{}", found.kind.key()),
        occurred_at: alert.at,
        data: json!({
            "demande": alert.demande_id,
            "number": held.demande.number,
            "token_id": alert.jti,
            "token_label": label,
            "kind": found.kind.key(),
            "detail": alert.detail,
            "found": found.data,
        }),
    };
    let body = json!({
        "target": format!("alertes de la demande n° {}", held.demande.number),
        "habilitation": alert.demande_id,
        "envelope": envelope,
    });
    let mut item = OutboxItem::new("webhook", body.to_string(), alert.at);
    item.dedup = Some(format!("alert:{}:webhook", alert.id));
    Some(item)
}
