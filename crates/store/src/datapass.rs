//! What the DataPass webhook receiver keeps: each delivery under its idempotency key
//! with the answer given, and which of our demandes each DataPass demande became.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One delivery of a DataPass notification, as claimed by the receiver.
#[derive(Debug, Clone, PartialEq)]
pub struct DataPassDelivery {
    /// The idempotency key: SHA-256 (hex) of the raw body.
    pub key: String,
    /// Our bouquet (`particulier`, `entreprise`).
    pub bouquet: String,
    /// DataPass's id of the demande.
    pub model_id: i64,
    /// DataPass's event name (`submit`, `approve`…).
    pub event: String,
    /// Unix seconds, when the event happened in DataPass.
    pub fired_at: i64,
    pub received_at: DateTime<Utc>,
    /// The token to name in the answer if the delivery is applied (an `approve`'s).
    pub token_id: Option<String>,
}

/// What the receiver answered to a delivery; repeated to every copy of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAnswer {
    pub token_id: Option<String>,
    /// Older than the newest event applied to its demande: recorded, no effect.
    pub stale: bool,
}

/// What `apply_datapass` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The key is claimed and the change written.
    Applied,
    /// The key is claimed with a stale answer; the change is not written.
    Stale,
    /// The key was claimed before: nothing written, here is its answer.
    Duplicate(DeliveryAnswer),
    /// The demande moved since the change was built (another version, or the model
    /// got linked to another demande): nothing written; rebuild it and try again.
    Conflict,
}
