//! An in-memory [`Sink`] keeping the rules of the trait's documentation: for tests here
//! and in the application, and as the reference the store's implementation follows.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use uuid::Uuid;

use crate::datapass::{Applied, DeliveryKey, Event, Notification, Sink, SinkError};

#[derive(Default)]
pub struct MemorySink {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    deliveries: HashMap<DeliveryKey, Applied>,
    last_fired_at: HashMap<u64, i64>,
    tokens: HashMap<u64, String>,
    effects: Vec<Notification>,
    answers: Vec<Applied>,
    fail_next: bool,
}

impl MemorySink {
    pub fn new() -> Self {
        Self::default()
    }

    /// The notifications that had an effect, in the order applied.
    pub fn effects(&self) -> Vec<Notification> {
        self.lock().effects.clone()
    }

    /// Every successful answer, duplicates and stale ones included.
    pub fn answers(&self) -> Vec<Applied> {
        self.lock().answers.clone()
    }

    /// The token an `approve` gave to that demande.
    pub fn token_of(&self, model_id: u64) -> Option<String> {
        self.lock().tokens.get(&model_id).cloned()
    }

    /// Makes the next `apply` fail as a store outage would.
    pub fn fail_next(&self) {
        self.lock().fail_next = true;
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock leaves usable data behind.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait]
impl Sink for MemorySink {
    async fn apply(&self, delivery: DeliveryKey, n: Notification) -> Result<Applied, SinkError> {
        let mut state = self.lock();
        if std::mem::take(&mut state.fail_next) {
            return Err(anyhow::anyhow!("injected failure").into());
        }
        // The lock spans the whole call: the check and the record are one transaction.
        let applied = match state.deliveries.get(&delivery) {
            Some(first) => Applied {
                duplicate: true,
                ..first.clone()
            },
            None => {
                let applied = state.apply_new(n);
                state.deliveries.insert(delivery, applied.clone());
                applied
            }
        };
        state.answers.push(applied.clone());
        Ok(applied)
    }
}

impl State {
    fn apply_new(&mut self, n: Notification) -> Applied {
        let last = self.last_fired_at.get(&n.model_id).copied();
        if last.is_some_and(|last| n.fired_at < last) {
            return Applied {
                stale: true,
                ..Applied::default()
            };
        }
        self.last_fired_at.insert(n.model_id, n.fired_at);
        let token_id = (n.event == Event::Approve).then(|| self.token_for(n.model_id));
        self.effects.push(n);
        Applied {
            token_id,
            ..Applied::default()
        }
    }

    /// The demande's token: created by its first approval, prolonged (same id) after.
    fn token_for(&mut self, model_id: u64) -> String {
        self.tokens
            .entry(model_id)
            .or_insert_with(|| Uuid::new_v4().to_string())
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::datapass::{parse, Payload};
    use serde_json::json;

    fn delivery(event: &str, fired_at: i64) -> (DeliveryKey, Notification) {
        let body = json!({
            "event": event, "fired_at": fired_at,
            "model_type": "authorization_request/api_entreprise", "model_id": 9,
            "data": {
                "id": 9, "public_id": "1c0b9a8d-7e6f-4a5b-8c9d-0e1f2a3b4c5d", "state": "draft",
                "form_uid": "api-entreprise-marches-publics", "data": {},
                "organization": { "siret": "13002526500013", "name": "DINUM" },
                "applicant": { "email": "agent@numerique.gouv.fr" }
            }
        })
        .to_string();
        let Payload::Notification(n) = parse(body.as_bytes()).unwrap() else {
            panic!("a notification")
        };
        (DeliveryKey::of(body.as_bytes()), *n)
    }

    async fn apply(sink: &MemorySink, event: &str, fired_at: i64) -> Applied {
        let (key, n) = delivery(event, fired_at);
        sink.apply(key, n).await.unwrap()
    }

    #[tokio::test]
    async fn the_same_second_is_not_stale() {
        let sink = MemorySink::new();
        assert!(!apply(&sink, "create", 100).await.stale);
        assert!(!apply(&sink, "update", 100).await.stale);
        assert!(apply(&sink, "update", 99).await.stale);
        assert_eq!(sink.effects().len(), 2);
    }

    #[tokio::test]
    async fn a_stale_delivery_leaves_the_newest_in_place() {
        let sink = MemorySink::new();
        apply(&sink, "submit", 200).await;
        assert!(apply(&sink, "create", 100).await.stale);
        assert!(apply(&sink, "update", 150).await.stale, "still measured against 200");
        assert!(!apply(&sink, "approve", 300).await.stale);
    }

    #[tokio::test]
    async fn token_only_on_approve() {
        let sink = MemorySink::new();
        assert_eq!(apply(&sink, "submit", 1).await.token_id, None);
        let approved = apply(&sink, "approve", 2).await;
        assert_eq!(approved.token_id, sink.token_of(9));
        assert_eq!(apply(&sink, "revoke", 3).await.token_id, None);
    }

    #[tokio::test]
    async fn a_failure_records_nothing() {
        let sink = MemorySink::new();
        let (key, n) = delivery("approve", 5);
        sink.fail_next();
        assert!(sink.apply(key.clone(), n.clone()).await.is_err());
        assert!(sink.answers().is_empty() && sink.effects().is_empty());
        let applied = sink.apply(key, n).await.unwrap();
        assert!(!applied.duplicate && applied.token_id.is_some());
    }
}
