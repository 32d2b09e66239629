//! Storage behind one trait. SQLite is the embedded default, PostgreSQL serves several
//! replicas; the trait is what the gateway and the CLI use, and one contract test
//! suite (`tests/contract.rs`) runs on both.

pub mod chain;
mod postgres;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// A token and the habilitation behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub jti: Uuid,
    /// Title of the habilitation (the JWT's `sub`).
    pub name: String,
    pub siret: String,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rate_limit_per_minute: Option<u32>,
    /// IPs or CIDR blocks; empty means any.
    pub allowed_ips: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SigningKey {
    pub kid: String,
    pub algorithm: String,
    pub private_der: Vec<u8>,
    pub public_der: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

/// One call, as the journal keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalRow {
    pub request_id: String,
    pub at: DateTime<Utc>,
    pub jti: Option<Uuid>,
    pub recipient: Option<String>,
    pub endpoint: String,
    pub status: u16,
    pub duration_ms: f64,
    /// Salted SHA-512 of the parameters, hex.
    pub params_hash: Option<String>,
    pub cached: bool,
}

/// A journal row in its writer's hash chain (see `chain`).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedRow {
    pub row: JournalRow,
    /// The gateway process that wrote it (a UUID made at start).
    pub writer: Uuid,
    /// Position in the writer's chain, from 1.
    pub seq: i64,
    /// Hash of row `seq - 1` (`chain::GENESIS` for the first), hex.
    pub prev_hash: String,
    /// SHA-256 of the row's canonical encoding and `prev_hash`, hex.
    pub hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealKind {
    /// Signs a chain's head as it was written.
    Checkpoint,
    /// Signs the last row a purge removed, so the chain verifies from the first kept row.
    Anchor,
}

impl SealKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SealKind::Checkpoint => "checkpoint",
            SealKind::Anchor => "anchor",
        }
    }

    pub fn parse(text: &str) -> anyhow::Result<SealKind> {
        match text {
            "checkpoint" => Ok(SealKind::Checkpoint),
            "anchor" => Ok(SealKind::Anchor),
            other => anyhow::bail!("unknown seal kind `{other}`"),
        }
    }
}

/// A chain position `(writer, seq, hash)` signed with one of the gateway's keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Seal {
    pub kind: SealKind,
    pub writer: Uuid,
    pub seq: i64,
    pub hash: String,
    pub at: DateTime<Utc>,
    pub kid: String,
    /// Ed25519 signature, hex.
    pub signature: String,
}

/// A time range; open ends are unbounded. `since` is included, `until` is not.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimeRange {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// What the store holds of one writer's chain.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterSpan {
    pub writer: Uuid,
    pub first_seq: i64,
    pub last_seq: i64,
    pub rows: i64,
}

/// Where a purge cuts a writer's chain: rows up to `seq` go, `hash` is row `seq`'s.
#[derive(Debug, Clone, PartialEq)]
pub struct PurgePoint {
    pub writer: Uuid,
    pub seq: i64,
    pub hash: String,
}

/// Calls of one token to one endpoint that ended with one status, over a period.
#[derive(Debug, Clone, PartialEq)]
pub struct CallCount {
    pub jti: Option<Uuid>,
    pub endpoint: String,
    pub status: u16,
    pub calls: i64,
}

/// Rows written before the journal was chained sit under this writer, unverifiable.
pub const LEGACY_WRITER: Uuid = Uuid::nil();

#[async_trait]
pub trait Store: Send + Sync {
    async fn migrate(&self) -> anyhow::Result<()>;
    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>>;
    async fn insert_signing_key(&self, key: &SigningKey) -> anyhow::Result<()>;
    /// The secret called `name`, if it exists.
    async fn secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>>;
    /// The secret called `name`, created from `make` on first use (first writer wins).
    async fn secret_or_insert(&self, name: &str, make: Vec<u8>) -> anyhow::Result<Vec<u8>>;
    async fn insert_token(&self, token: &TokenRecord) -> anyhow::Result<()>;
    async fn token(&self, jti: Uuid) -> anyhow::Result<Option<TokenRecord>>;
    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>>;
    /// Marks the token revoked at `at`; false when there is no such token.
    async fn revoke_token(&self, jti: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool>;
    async fn set_token_expiry(&self, jti: Uuid, expires_at: DateTime<Utc>) -> anyhow::Result<bool>;
    /// Writes the rows (and the seal, if any) in one transaction: all are durable
    /// when this returns, or none is written.
    async fn append_journal(&self, rows: &[ChainedRow], seal: Option<&Seal>) -> anyhow::Result<()>;
    /// The newest `limit` rows, newest first.
    async fn recent_journal(&self, limit: u32) -> anyhow::Result<Vec<JournalRow>>;
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
    /// Calls per token, endpoint and status over `range`, most calls first.
    async fn call_counts(&self, range: TimeRange) -> anyhow::Result<Vec<CallCount>>;
}

/// Opens the store named by `url` (`sqlite://path`, `postgres://…`), running its migrations.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    let store: Arc<dyn Store> = if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(url).await?)
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Arc::new(PostgresStore::connect(url).await?)
    } else {
        anyhow::bail!(
            "unsupported database URL (expected sqlite://… or postgres://…): {}",
            url.split(':').next().unwrap_or("")
        )
    };
    store.migrate().await?;
    Ok(store)
}
