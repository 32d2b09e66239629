use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

/// The JSON body of every outgoing webhook. `id` and `occurred_at` are inside the signed
/// bytes: receivers deduplicate on `id` and cannot be fed an altered date. Retries resend
/// the same envelope (same id) under a fresh signature timestamp.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: Uuid,
    pub event: String,
    pub occurred_at: DateTime<Utc>,
    pub data: Value,
}

impl Envelope {
    /// A new envelope with a random id, dated now.
    pub fn new(event: impl Into<String>, data: Value) -> Self {
        Envelope {
            id: Uuid::new_v4(),
            event: event.into(),
            occurred_at: Utc::now(),
            data,
        }
    }

    /// The exact bytes sent and signed.
    pub fn to_body(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("string keys and plain values always serialise")
    }
}
