//! Sending the due items and recording what became of them.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use passerelle_store::{OutboxItem, Store};
use passerelle_webhooks::outgoing::RetryPolicy;
use tokio::time::MissedTickBehavior;
use uuid::Uuid;

use crate::route::{MailRoute, Outcome, WebhookRoute};

/// When failed items are tried again, e-mails and webhooks alike: 12 attempts, the
/// wait after the n-th failure drawn between zero and `min(24 h, 10 min × 2^(n−1))`
/// (full jitter), that is at most 10 min, 20 min, 40 min, 1 h 20, 2 h 40, 5 h 20,
/// 10 h 40, 21 h 20, then 24 h three times. The 12th failure is final: at most
/// 4.8 days after the first attempt, 2.4 days on average, and under a day less than
/// once in a hundred, so a day of downtime is survived.
///
/// (`RetryPolicy::default()` gives up within about an hour; 12 attempts from its
/// 30 s base would still give up within 14.5 h.)
pub const RETRY: RetryPolicy = RetryPolicy {
    max_attempts: 12,
    base: Duration::from_secs(10 * 60),
    cap: Duration::from_secs(24 * 3600),
};

/// How long a dispatcher holds the items it took before another one may take them:
/// longer than a batch takes (20 items, a webhook gives up after 10 s). Items of a
/// dispatcher that died mid-batch are sent again once it has passed.
pub const LEASE: Duration = Duration::from_secs(15 * 60);

/// Items taken per run.
const BATCH: u32 = 20;

/// The channels the workflow writes.
const CHANNELS: [&str; 2] = ["mail", "webhook"];

/// How far back [`replay`] looks, per channel: the store lists items by channel,
/// newest first, and has no lookup by id.
const REPLAY_WINDOW: u32 = 1000;

/// Consumes the outbox.
///
/// Delivery is at least once. Several replicas may run a dispatcher on the same
/// store: each one first claims the items it read, pushing their `next_at` `LEASE`
/// ahead by a conditional update ([`claim_outbox`]) that only one of several
/// dispatchers reading the outbox in the same instant wins; it sends only the items
/// it claimed, and the others skip them. A dispatcher dying between sending and
/// recording sends again after the lease (as does one whose batch outlasts it).
/// Webhook receivers deduplicate on the envelope's `id`, which every retry and
/// replay keeps; an e-mail may, rarely, arrive twice.
///
/// [`claim_outbox`]: passerelle_store::HabilitationStore::claim_outbox
pub struct Dispatcher {
    store: Arc<dyn Store>,
    mail: MailRoute,
    webhooks: WebhookRoute,
    mail_policy: RetryPolicy,
}

/// What one run did, by outcome.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    pub sent: u32,
    /// Letters marked done without being sent ([`MailRoute::Kept`]).
    pub kept: u32,
    /// Failed, to be tried again.
    pub retried: u32,
    /// Failed for good: refused, unknown target, or out of attempts.
    pub dead: u32,
    /// Done without being sent: nowhere to send them any more.
    pub dropped: u32,
}

impl Dispatcher {
    /// Letters are retried under [`RETRY`], webhooks under their route's policy.
    pub fn new(store: Arc<dyn Store>, mail: MailRoute, webhooks: WebhookRoute) -> Dispatcher {
        Dispatcher {
            store,
            mail,
            webhooks,
            mail_policy: RETRY,
        }
    }

    pub fn with_mail_policy(mut self, policy: RetryPolicy) -> Dispatcher {
        self.mail_policy = policy;
        self
    }

    /// Sends the items due at `now` (a batch at most) and records each outcome;
    /// every time written is `now`, or computed from it.
    pub async fn run_once(&self, now: DateTime<Utc>) -> anyhow::Result<Report> {
        let due = self.store.due_outbox(now, BATCH).await?;
        // All claimed before any is sent: a batch may take minutes. An item not
        // claimed was taken (or settled) by another dispatcher since it was read.
        let until = later(now, LEASE);
        let mut claimed = Vec::with_capacity(due.len());
        for item in due {
            if self.store.claim_outbox(&item, until).await? {
                claimed.push(item);
            }
        }
        let mut report = Report::default();
        for item in claimed {
            let (outcome, policy) = self.send(&item).await;
            let item = settle(item, &outcome, policy, now);
            self.store.settle_outbox(&item).await?;
            log(&item, &outcome);
            report.count(&outcome, &item);
        }
        Ok(report)
    }

    /// Runs every `every` until `shutdown` completes. A batch under way is finished
    /// first: its items are leased, and would otherwise wait for the lease to pass.
    pub async fn run(self, every: Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = ticks.tick() => {}
            }
            if let Err(e) = self.run_once(Utc::now()).await {
                tracing::warn!(error = format!("{e:#}"), "outbox run failed; the next one retries");
            }
        }
    }

    async fn send(&self, item: &OutboxItem) -> (Outcome, &RetryPolicy) {
        match item.channel.as_str() {
            "mail" => (self.mail.send(&item.body).await, &self.mail_policy),
            "webhook" => (
                self.webhooks.send(self.store.as_ref(), &item.body).await,
                self.webhooks.policy(),
            ),
            _ => (Outcome::Refused("unknown channel".into()), &self.mail_policy),
        }
    }
}

impl Report {
    fn count(&mut self, outcome: &Outcome, item: &OutboxItem) {
        let counter = match outcome {
            Outcome::Sent => &mut self.sent,
            Outcome::Kept => &mut self.kept,
            Outcome::Dropped(_) => &mut self.dropped,
            _ if item.dead_at.is_some() => &mut self.dead,
            _ => &mut self.retried,
        };
        *counter += 1;
    }
}

/// `item` after `outcome`.
fn settle(mut item: OutboxItem, outcome: &Outcome, policy: &RetryPolicy, now: DateTime<Utc>) -> OutboxItem {
    item.last_error = None;
    match outcome {
        // Not an attempt: a kept letter keeps zero attempts, which is how it is
        // told from a sent one.
        Outcome::Kept => item.done_at = Some(now),
        Outcome::Sent => {
            item.attempts += 1;
            item.done_at = Some(now);
        }
        Outcome::Failed(error) => {
            item.attempts += 1;
            item.last_error = Some(error.clone());
            let made = u32::try_from(item.attempts).unwrap_or(u32::MAX);
            match policy.next_attempt(made, &mut rand::thread_rng()) {
                Some(wait) => item.next_at = later(now, wait),
                None => item.dead_at = Some(now),
            }
        }
        Outcome::Refused(error) => {
            item.attempts += 1;
            item.last_error = Some(error.clone());
            item.dead_at = Some(now);
        }
        // Not an attempt either; the note tells it from a sent or kept item.
        Outcome::Dropped(note) => {
            item.done_at = Some(now);
            item.last_error = Some(note.clone());
        }
    }
    item
}

fn later(now: DateTime<Utc>, wait: Duration) -> DateTime<Utc> {
    TimeDelta::from_std(wait)
        .ok()
        .and_then(|wait| now.checked_add_signed(wait))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// The item's id and outcome only: its body holds addresses.
fn log(item: &OutboxItem, outcome: &Outcome) {
    let (id, channel, attempts) = (item.id.to_string(), item.channel.as_str(), item.attempts);
    match outcome {
        Outcome::Sent => tracing::info!(id, channel, attempts, "outbox item sent"),
        Outcome::Kept => tracing::info!(id, channel, "outbox item kept, not sent (no mail server)"),
        Outcome::Dropped(note) => tracing::info!(id, channel, note, "outbox item dropped"),
        Outcome::Failed(error) | Outcome::Refused(error) => {
            let dead = item.dead_at.is_some();
            tracing::warn!(id, channel, attempts, dead, error, "outbox item not sent");
        }
    }
}

/// Puts the dead item `id` back in the queue, due at `now`. Its attempts are kept,
/// so this is one more try: if it fails, the item is dead again at once. False
/// when no dead item has that id among the newest `REPLAY_WINDOW` of its channel.
pub async fn replay(store: &dyn Store, id: Uuid, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let Some(mut item) = find(store, id).await? else {
        return Ok(false);
    };
    if item.dead_at.is_none() {
        return Ok(false);
    }
    item.dead_at = None;
    item.next_at = now;
    store.settle_outbox(&item).await?;
    Ok(true)
}

async fn find(store: &dyn Store, id: Uuid) -> anyhow::Result<Option<OutboxItem>> {
    for channel in CHANNELS {
        let items = store.outbox(channel, REPLAY_WINDOW).await?;
        if let Some(item) = items.into_iter().find(|i| i.id == id) {
            return Ok(Some(item));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// The longest waits `RETRY`'s doc gives, and how rarely the eleven drawn add
    /// up to less than a day.
    #[test]
    fn the_schedule_survives_a_day() {
        let minutes: Vec<u64> = (1..12).map(|n| RETRY.ceiling(n).as_secs() / 60).collect();
        assert_eq!(minutes, [10, 20, 40, 80, 160, 320, 640, 1280, 1440, 1440, 1440]);
        let mut rng = StdRng::seed_from_u64(12);
        let runs = 10_000;
        let short = (0..runs)
            .filter(|_| {
                let total: Duration = (1..12).map(|n| RETRY.next_attempt(n, &mut rng).unwrap()).sum();
                total < Duration::from_secs(24 * 3600)
            })
            .count();
        assert!(short * 100 < runs, "{short} of {runs} gave up within a day");
        assert_eq!(RETRY.next_attempt(12, &mut rng), None);
    }

    #[test]
    fn a_failure_without_attempts_left_is_dead() {
        let now = Utc::now();
        let mut item = OutboxItem::new("webhook", "{}".into(), now);
        item.attempts = 11;
        let item = settle(item, &Outcome::Failed("HTTP 503".into()), &RETRY, now);
        assert_eq!((item.attempts, item.dead_at), (12, Some(now)));
        assert_eq!(item.last_error.as_deref(), Some("HTTP 503"));
    }
}
