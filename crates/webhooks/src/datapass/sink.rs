//! Where a verified notification goes: the application's store, behind a trait.

use std::fmt;

use async_trait::async_trait;
use ring::digest;

use super::Notification;

/// The idempotency key of a delivery: SHA-256 (hex) of the raw body. DataPass builds the
/// payload once, at event time, and its retries and manual replays resend the same
/// bytes, so the same event always has the same key, and two events never share one
/// (`event` and `fired_at` are in the body).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DeliveryKey(String);

impl DeliveryKey {
    pub fn of(raw_body: &[u8]) -> Self {
        DeliveryKey(hex::encode(digest::digest(&digest::SHA256, raw_body)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DeliveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the sink did with a delivery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The token created or prolonged by an `approve`; DataPass shows it to the applicant.
    pub token_id: Option<String>,
    /// The key had been applied before: nothing was done, the first answer is repeated.
    pub duplicate: bool,
    /// Older than the last event applied to the same demande: recorded, not applied.
    pub stale: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The notification cannot be applied as it is (an unknown scope, say); the reason is
    /// shown to DataPass in the 422 body, which lands in its attempt log.
    #[error("{0}")]
    Rejected(String),
    /// The sink failed (store down…); DataPass will retry.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Applies DataPass notifications. Every implementation must keep these rules
/// ([`crate::testing::MemorySink`] is the reference and is tested against them):
///
/// 1. **One effect per delivery.** The first successful `apply` of a key records the key
///    with its [`Applied`] answer, in the same transaction as the effects. A later call
///    with that key does nothing and returns the recorded answer with `duplicate: true`
///    (so a replayed `approve` gets the same `token_id`). The key is claimed atomically
///    (a unique constraint), so two concurrent copies cannot both apply.
/// 2. **Newest wins, per demande.** The sink keeps, per `model_id`, the largest
///    `fired_at` applied. Each payload is a full snapshot of the demande at event time,
///    so one strictly older than that (`fired_at <` last) would roll the demande back:
///    it is recorded under its key with `stale: true` and has no effect. An equal
///    `fired_at` is applied (seconds are coarse; DataPass can fire two events within
///    one), and applying it keeps the largest `fired_at`.
/// 3. **The duplicate check comes first**: a replay of a stale delivery answers
///    `duplicate: true, stale: true`.
/// 4. **A failure records nothing.** On `Err` neither the key nor any effect is kept,
///    so DataPass's retry applies the delivery normally.
/// 5. **`token_id` only on `approve`**: the token created, or the existing one prolonged,
///    for that demande; `None` for every other event and for stale deliveries.
///
/// The router never passes the `test` ping to the sink.
#[async_trait]
pub trait Sink: Send + Sync {
    async fn apply(&self, delivery: DeliveryKey, n: Notification) -> Result<Applied, SinkError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_the_body_digest() {
        let key = DeliveryKey::of(b"abc");
        assert_eq!(
            key.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(key, DeliveryKey::of(b"abc"));
        assert_ne!(key, DeliveryKey::of(b"abd"));
    }
}
