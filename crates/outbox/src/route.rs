//! Where an item goes, by channel, and what one sending gave.

use std::collections::HashMap;
use std::sync::Arc;

use passerelle_mail::{Letter, Mailer};
use passerelle_webhooks::outgoing::{Attempt, Deliverer, Envelope, RetryPolicy};
use serde::Deserialize;

use crate::dispatch::RETRY;

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

/// How webhooks leave: the HTTP client, the configured targets by name, and when to
/// retry.
pub struct WebhookRoute {
    deliverer: Deliverer,
    targets: HashMap<String, Target>,
    policy: RetryPolicy,
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
    /// A receiver no configuration names: a habilitation's own, for its alerts
    /// (`passerelle_alerts`). `target` then only labels it.
    #[serde(default)]
    inline: Option<InlineTarget>,
}

/// The URL and secret a habilitation's holders set, carried by the item.
#[derive(Deserialize)]
struct InlineTarget {
    url: String,
    secret: String,
}

impl WebhookRoute {
    /// No target yet; retries under [`RETRY`].
    pub fn new(deliverer: Deliverer) -> WebhookRoute {
        WebhookRoute {
            deliverer,
            targets: HashMap::new(),
            policy: RETRY,
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

    pub(crate) fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    pub(crate) async fn send(&self, body: &str) -> Outcome {
        let Ok(body) = serde_json::from_str::<WebhookBody>(body) else {
            return Outcome::Refused("the webhook is unreadable".into());
        };
        let (url, secrets): (&str, Vec<&[u8]>) = match (&body.inline, self.targets.get(&body.target)) {
            (Some(own), _) => (&own.url, vec![own.secret.as_bytes()]),
            (None, Some(target)) => (&target.url, target.secrets.iter().map(Vec::as_slice).collect()),
            (None, None) => {
                let name = body.target;
                return Outcome::Refused(format!("webhook target {name:?} is no longer configured"));
            }
        };
        let attempt = self.deliverer.deliver(url, &secrets, &body.envelope).await;
        if attempt.ok {
            Outcome::Sent
        } else {
            Outcome::Failed(failure(&attempt))
        }
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
