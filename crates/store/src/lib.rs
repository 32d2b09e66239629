//! Passerelle's storage: the records and the traits a backend implements, split by
//! concern, and what the SQL backends share (`sql`). SQLite (`passerelle-store-sqlite`)
//! is the embedded default, PostgreSQL (`passerelle-store-postgres`) serves several
//! replicas; one contract suite (`contract/suite.rs`) runs on both.

mod alerts;
mod audit;
mod datapass;
mod delegations;
mod habilitation;
mod operator;
mod records;
pub mod sql;
mod status;
mod usage;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use alerts::*;
pub use audit::*;
pub use datapass::*;
pub use delegations::*;
pub use habilitation::*;
pub use operator::*;
pub use records::*;
pub use status::*;
pub use usage::*;

/// The keys that sign tokens and journal seals, and the secrets made at first start.
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>>;
    async fn insert_signing_key(&self, key: &SigningKey) -> anyhow::Result<()>;
    /// The secret called `name`, if it exists.
    async fn secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>>;
    /// The secret called `name`, created from `make` on first use (first writer wins).
    async fn secret_or_insert(&self, name: &str, make: Vec<u8>) -> anyhow::Result<Vec<u8>>;
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn insert_token(&self, token: &TokenRecord) -> anyhow::Result<()>;
    async fn token(&self, jti: Uuid) -> anyhow::Result<Option<TokenRecord>>;
    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>>;
    /// Marks the token revoked at `at`; false when there is no such token.
    async fn revoke_token(&self, jti: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool>;
    async fn set_token_expiry(&self, jti: Uuid, expires_at: DateTime<Utc>) -> anyhow::Result<bool>;
}

/// The bans of client IPs, shared by the replicas.
#[async_trait]
pub trait IpBanStore: Send + Sync {
    async fn insert_ip_ban(&self, ban: &IpBan) -> anyhow::Result<()>;
    /// The bans in force at `at` (not lifted, not over), or every ban when `None`;
    /// newest first.
    async fn ip_bans(&self, at: Option<DateTime<Utc>>) -> anyhow::Result<Vec<IpBan>>;
    /// Lifts the bans of `ip` in force at `at`; how many there were.
    async fn lift_ip_ban(&self, ip: &str, at: DateTime<Utc>) -> anyhow::Result<u64>;
}

#[async_trait]
pub trait JournalWriter: Send + Sync {
    /// Writes the rows (and the seal, if any) in one transaction: all are durable
    /// when this returns, or none is written.
    async fn append_journal(&self, rows: &[ChainedRow], seal: Option<&Seal>) -> anyhow::Result<()>;
}

/// What verifying, exporting, purging and counting the journal read (and purging
/// removes).
#[async_trait]
pub trait JournalAudit: Send + Sync {
    /// The newest `limit` rows, newest first.
    async fn recent_journal(&self, limit: u32) -> anyhow::Result<Vec<JournalRow>>;
    /// The calls about the person of `subject` (a `PersonKey`), newest first: the rows
    /// that name a caller, so that the person's own reads of their record (rows with
    /// their key and no caller) never crowd out the calls.
    async fn calls_about(&self, subject: &str, limit: u32) -> anyhow::Result<Vec<JournalRow>>;
    /// A token's last calls, newest first (what its holders see in the portal).
    async fn token_calls(&self, jti: Uuid, limit: u32) -> anyhow::Result<Vec<JournalRow>>;
    /// Up to `limit` rows of `range` in writing order, after the row numbered `after`
    /// (0 to start); each comes with its number, to ask for the next page.
    async fn journal_page(&self, range: TimeRange, after: i64, limit: u32) -> anyhow::Result<Vec<(i64, ChainedRow)>>;
    async fn journal_count(&self, range: TimeRange) -> anyhow::Result<i64>;
    async fn journal_writers(&self) -> anyhow::Result<Vec<WriterSpan>>;
    /// Up to `limit` rows of `writer`'s chain with `seq > after`, in chain order.
    async fn writer_rows(&self, writer: Uuid, after: i64, limit: u32) -> anyhow::Result<Vec<ChainedRow>>;
    /// Every seal, by writer then position.
    async fn journal_seals(&self) -> anyhow::Result<Vec<Seal>>;
    /// For each writer with rows older than `before`: the end of its oldest run of
    /// such rows (the chain prefix a purge may remove).
    async fn purge_points(&self, before: DateTime<Utc>) -> anyhow::Result<Vec<PurgePoint>>;
    /// In one transaction: stores `anchor`, deletes its writer's rows up to
    /// `anchor.seq` and the seals it replaces. Returns the number of rows deleted.
    async fn purge_writer(&self, anchor: &Seal) -> anyhow::Result<u64>;
    /// Calls per bouquet, caller, endpoint and status over `range`, most calls first.
    async fn call_counts(&self, range: TimeRange) -> anyhow::Result<Vec<CallCount>>;
}

/// Demandes d'habilitation, their history and outbox, and the web sessions.
#[async_trait]
pub trait HabilitationStore: Send + Sync {
    /// Writes `change` in one transaction, if the stored demande is still at the
    /// version before it (or absent, for version 1); false, writing nothing, otherwise.
    async fn commit_demande(&self, change: &DemandeChange) -> anyhow::Result<bool>;
    async fn demande(&self, id: Uuid) -> anyhow::Result<Option<DemandeRecord>>;
    /// The demandes of the organisation `siret` and those where `email` holds a role,
    /// most recently changed first.
    async fn demandes_of(&self, siret: &str, email: &str) -> anyhow::Result<Vec<DemandeRecord>>;
    /// The demandes of `bouquet` ever submitted, oldest submission first.
    async fn demandes_in(&self, bouquet: &str) -> anyhow::Result<Vec<DemandeRecord>>;
    async fn demande_people(&self, id: Uuid) -> anyhow::Result<Vec<DemandePerson>>;
    /// The demande's history, in order.
    async fn demande_events(&self, id: Uuid) -> anyhow::Result<Vec<DemandeEvent>>;
    /// Adds items, skipping those whose `dedup` is already taken; how many were added.
    async fn enqueue(&self, items: &[OutboxItem]) -> anyhow::Result<u64>;
    /// Items due at `now` (neither done nor dead), oldest first.
    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<OutboxItem>>;
    /// Records an attempt's outcome (attempts, next time, done or dead, error).
    async fn settle_outbox(&self, item: &OutboxItem) -> anyhow::Result<()>;
    /// Takes `item` for its caller until `until`: moves its `next_at` there if the
    /// stored item is still as read (same `next_at`, neither done nor dead). True
    /// when this call took it; false when another (a dispatcher on another replica)
    /// took or settled it first.
    async fn claim_outbox(&self, item: &OutboxItem, until: DateTime<Utc>) -> anyhow::Result<bool>;
    /// The newest items of `channel`.
    async fn outbox(&self, channel: &str, limit: u32) -> anyhow::Result<Vec<OutboxItem>>;
    async fn put_session(&self, session: &WebSession) -> anyhow::Result<()>;
    /// The session, unless it has expired at `now`.
    async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> anyhow::Result<Option<WebSession>>;
    async fn drop_session(&self, id_hash: &str) -> anyhow::Result<()>;
    /// Deletes the sessions expired at `now`; how many.
    async fn purge_sessions(&self, now: DateTime<Utc>) -> anyhow::Result<u64>;
    async fn put_token_link(&self, link: &TokenLink) -> anyhow::Result<()>;
    /// The link, used up: only its first opening before its end gets it.
    async fn open_token_link(&self, code_hash: &str, now: DateTime<Utc>) -> anyhow::Result<Option<TokenLink>>;
}

/// The deliveries of DataPass's webhook and the demande each DataPass demande became.
#[async_trait]
pub trait DataPassStore: Send + Sync {
    /// In one transaction: claims `delivery.key`; unless its `fired_at` is older than
    /// the newest applied to its model, links the model to `change`'s demande and
    /// writes `change` as `commit_demande` does. A failure writes nothing, the key
    /// included, and neither do `Duplicate` and `Conflict`. Copies delivered concurrently
    /// apply once: the key is a primary key, and the model's newest `fired_at` moves
    /// by a guarded update of its link.
    async fn apply_datapass(
        &self,
        delivery: &DataPassDelivery,
        change: &DemandeChange,
    ) -> anyhow::Result<DeliveryOutcome>;
    /// Our demande for DataPass's demande `model_id` of `bouquet`.
    async fn datapass_demande(&self, bouquet: &str, model_id: i64) -> anyhow::Result<Option<Uuid>>;
}

/// Everything a backend keeps; what the gateway and the CLI hold.
#[async_trait]
pub trait Store:
    KeyStore
    + TokenStore
    + IpBanStore
    + JournalWriter
    + JournalAudit
    + HabilitationStore
    + DataPassStore
    + StatusStore
    + UsageStore
    + DelegationStore
    + OperatorStore
    + AuditStore
    + AlertStore
{
    async fn migrate(&self) -> anyhow::Result<()>;
}
