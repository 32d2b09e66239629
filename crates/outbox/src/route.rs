//! Where an item goes, by channel, and what one sending gave.

use std::collections::HashMap;
use std::sync::Arc;

use passerelle_mail::{Letter, Mailer};
use passerelle_store::Store;
use passerelle_webhooks::outgoing::{Attempt, Deliverer, Envelope, RetryPolicy};
use serde::Deserialize;
use uuid::Uuid;

use crate::dispatch::RETRY;
use crate::guard::{checked, Refusal};

/// How letters leave.
pub enum MailRoute {
    /// Through this mailer (an [`SmtpMailer`](passerelle_mail::SmtpMailer) in
    /// production).
    Smtp(Arc<dyn Mailer>),
    /// Nowhere: there is no mail server (`passerelle demo`). Each letter is marked
    /// done without any connection and stays in the outbox, readable on the admin
    /// page, which tells it from a sent one by [`Status::Kept`](crate::Status::Kept)
    /// (done after no attempt).
    Kept,
}

/// What one sending gave.
pub(crate) enum Outcome {
    Sent,
    /// Not sent on purpose ([`MailRoute::Kept`]).
    Kept,
    /// May pass: try again later. The text names no address and no secret.
    Failed(String),
    /// Sending it again is pointless: dead at once.
    Refused(String),
    /// Nothing to send any more (a habilitation's webhook removed): done, unsent,
    /// with this note.
    Dropped(String),
}

impl MailRoute {
    pub(crate) async fn send(&self, body: &str) -> Outcome {
        let Ok(letter) = serde_json::from_str::<Letter>(body) else {
            return Outcome::Refused("the letter is unreadable".into());
        };
        let MailRoute::Smtp(mailer) = self else {
            return Outcome::Kept;
        };
        // `MailError`'s messages never quote the server, whose replies often hold
        // the address.
        match mailer.send(&letter).await {
            Ok(()) => Outcome::Sent,
            Err(e) if e.is_permanent() => Outcome::Refused(format!("{e} (permanent)")),
            Err(e) => Outcome::Failed(e.to_string()),
        }
    }
}

/// How webhooks leave: the HTTP client, the configured targets by name, when to
/// retry, and whether a habilitation's own webhook may go to this machine.
pub struct WebhookRoute {
    deliverer: Deliverer,
    targets: HashMap<String, Target>,
    policy: RetryPolicy,
    loopback: bool,
}

// No `Debug`: a target holds secrets, and its URL may hold one too.
struct Target {
    url: String,
    secrets: Vec<Vec<u8>>,
}

/// What the workflow puts in a webhook item: the subscription's name (its URL and
/// secrets come from the configuration) and the envelope, built at event time.
#[derive(Deserialize)]
struct WebhookBody {
    target: String,
    envelope: Envelope,
    /// A receiver no configuration names: the one a habilitation's holders set for
    /// its alerts (`passerelle_alerts`), this demande's. Its URL and secret are read
    /// at delivery, so a new secret or URL applies to the items already queued, and
    /// no secret sits in the outbox. `target` then only labels it.
    #[serde(default)]
    habilitation: Option<Uuid>,
}

impl WebhookRoute {
    /// No target yet; retries under [`RETRY`]; a habilitation's webhook never goes
    /// to this machine.
    pub fn new(deliverer: Deliverer) -> WebhookRoute {
        WebhookRoute {
            deliverer,
            targets: HashMap::new(),
            policy: RETRY,
            loopback: false,
        }
    }

    /// Adds the target called `name` (the `WebhookTarget::name` of the site's
    /// configuration): where its webhooks are POSTed and the secrets signing them.
    /// One secret, or two during a rotation: each signs, so a receiver holding
    /// either the old or the new one accepts the delivery.
    pub fn with_target(mut self, name: &str, url: &str, secrets: Vec<Vec<u8>>) -> anyhow::Result<WebhookRoute> {
        anyhow::ensure!(
            (1..=2).contains(&secrets.len()) && secrets.iter().all(|s| !s.is_empty()),
            "webhook target {name:?} needs one or two non-empty secrets"
        );
        let target = Target {
            url: url.to_owned(),
            secrets,
        };
        self.targets.insert(name.to_owned(), target);
        Ok(self)
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> WebhookRoute {
        self.policy = policy;
        self
    }

    /// Lets a habilitation's webhook go to this machine (`127.0.0.1`, plain http
    /// included): the demo and tests only (`habilitation.alerts.allow_loopback_webhooks`).
    pub fn with_loopback(mut self, allowed: bool) -> WebhookRoute {
        self.loopback = allowed;
        self
    }

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub(crate) async fn send(&self, store: &dyn Store, body: &str) -> Outcome {
        let Ok(body) = serde_json::from_str::<WebhookBody>(body) else {
            return Outcome::Refused("the webhook is unreadable".into());
        };
        if let Some(demande) = body.habilitation {
            return self.send_own(store, demande, &body.envelope).await;
        }
        let Some(target) = self.targets.get(&body.target) else {
            let name = body.target;
            return Outcome::Refused(format!("webhook target {name:?} is no longer configured"));
        };
        let secrets: Vec<&[u8]> = target.secrets.iter().map(Vec::as_slice).collect();
        outcome(&self.deliverer.deliver(&target.url, &secrets, &body.envelope).await)
    }

    /// To the URL the demande's holders set, signed with its secret as they are now,
    /// and only to an address [`checked`] lets through, the one connected to.
    async fn send_own(&self, store: &dyn Store, demande: Uuid, envelope: &Envelope) -> Outcome {
        let settings = match store.alert_settings(demande).await {
            Ok(settings) => settings,
            Err(e) => return Outcome::Failed(format!("the habilitation's webhook was not read: {e:#}")),
        };
        let Some((url, secret)) = settings.and_then(|s| s.webhook_url.zip(s.webhook_secret)) else {
            return Outcome::Dropped("not sent: the habilitation no longer has a webhook".into());
        };
        let deliverer = match checked(&url, self.loopback).await {
            Ok(None) => self.deliverer.clone(),
            Ok(Some((host, addrs))) => match self.deliverer.pinned(&host, &addrs) {
                Ok(pinned) => pinned,
                Err(e) => return Outcome::Failed(format!("no HTTP client: {e}")),
            },
            Err(Refusal::Forbidden(why)) => return Outcome::Refused(why.into()),
            Err(Refusal::Unresolved(why)) => return Outcome::Failed(why),
        };
        outcome(&deliverer.deliver(&url, &[secret.as_bytes()], envelope).await)
    }
}

fn outcome(attempt: &Attempt) -> Outcome {
    if attempt.ok {
        Outcome::Sent
    } else {
        Outcome::Failed(failure(attempt))
    }
}

/// The status and the error, never the answer's body: the receiver wrote it.
fn failure(attempt: &Attempt) -> String {
    match (attempt.status, &attempt.error) {
        (Some(status), Some(error)) => format!("HTTP {status}: {error}"),
        (Some(status), None) => format!("HTTP {status}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "no answer".into(),
    }
}
