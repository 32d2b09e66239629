//! The portal's alerts about a habilitation's tokens: the addresses each token calls
//! from (flushed by the gateway every few seconds, never in the journal), the
//! habilitation's alert settings (opt-outs and webhook), the alerts raised, and the
//! marks that make each alert raised once whichever replica finds it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::OutboxItem;

/// The calls a token made from one address (an IPv6 client counts for its /64).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAddress {
    pub jti: Uuid,
    /// An IPv4 address, or an IPv6 network written `2001:db8:1:2::/64`.
    pub address: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub calls: i64,
}

/// An address first seen recently, and since when its token is known at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshAddress {
    pub seen: TokenAddress,
    /// The earliest `first_seen` of any address of the same token.
    pub token_known_since: DateTime<Utc>,
}

/// What a habilitation's people chose about its alerts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertSettings {
    pub demande_id: Uuid,
    /// `channel:kind` pairs turned off (`mail:spike`, `webhook:unused`…).
    pub opt_outs: Vec<String>,
    /// Where signed webhooks go; none: no webhook.
    pub webhook_url: Option<String>,
    /// The webhook's signing secret, shown to the habilitation's holders.
    pub webhook_secret: Option<String>,
    pub updated_at: DateTime<Utc>,
    /// The e-mail of who last changed them.
    pub updated_by: String,
}

/// One alert raised about a token of a habilitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertRecord {
    pub id: Uuid,
    pub demande_id: Uuid,
    pub jti: Uuid,
    /// `spike`, `new_address` or `unused`.
    pub kind: String,
    pub at: DateTime<Utc>,
    /// What was found, in French, as the page and the letters say it.
    pub detail: String,
}

/// What keeps an alert from being raised twice: a mark per token and `kind`, taken
/// when it is absent or, with `quiet_since`, older than that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMark {
    pub jti: Uuid,
    /// The alert's kind, or a finer key (`new_address:192.0.2.7`).
    pub kind: String,
    /// None: once ever.
    pub quiet_since: Option<DateTime<Utc>>,
}

#[async_trait]
pub trait AlertStore: Send + Sync {
    /// Adds what the gateway saw: a new (token, address) pair is inserted; a known one
    /// keeps its earliest `first_seen`, its latest `last_seen`, and adds the calls.
    async fn record_addresses(&self, seen: &[TokenAddress]) -> anyhow::Result<()>;

    /// A token's addresses, the most recently seen first.
    async fn token_addresses(&self, jti: Uuid, limit: u32) -> anyhow::Result<Vec<TokenAddress>>;

    /// The addresses first seen at or after `since` whose new-address mark
    /// (`new_address:<address>`, see [`AlertMark`]) is not taken, oldest first.
    async fn fresh_addresses(&self, since: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<FreshAddress>>;

    async fn alert_settings(&self, demande_id: Uuid) -> anyhow::Result<Option<AlertSettings>>;

    /// Every habilitation's settings (one query for the alerts job's run).
    async fn every_alert_settings(&self) -> anyhow::Result<Vec<AlertSettings>>;

    /// Writes the demande's settings, replacing any.
    async fn put_alert_settings(&self, settings: &AlertSettings) -> anyhow::Result<()>;

    /// In one transaction: takes `mark` (at `alert.at`), records `alert` and enqueues
    /// `outbox` (skipping taken dedup keys). False, writing nothing, when the mark is
    /// held: another runner raised it first, or it was raised within its quiet time.
    async fn raise_alert(&self, alert: &AlertRecord, mark: &AlertMark, outbox: &[OutboxItem]) -> anyhow::Result<bool>;

    /// When the mark of `jti` and `kind` was last taken.
    async fn alert_mark(&self, jti: Uuid, kind: &str) -> anyhow::Result<Option<DateTime<Utc>>>;

    /// The demande's alerts, newest first.
    async fn alerts_of(&self, demande_id: Uuid, limit: u32) -> anyhow::Result<Vec<AlertRecord>>;
}
