//! Storage behind one trait. SQLite is the embedded default; the trait is what the
//! gateway and the CLI use, so another backend plugs in without touching them.

mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

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

#[async_trait]
pub trait Store: Send + Sync {
    async fn migrate(&self) -> anyhow::Result<()>;
    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>>;
    async fn insert_signing_key(&self, key: &SigningKey) -> anyhow::Result<()>;
    /// The secret called `name`, created from `make` on first use (first writer wins).
    async fn secret_or_insert(&self, name: &str, make: Vec<u8>) -> anyhow::Result<Vec<u8>>;
    async fn insert_token(&self, token: &TokenRecord) -> anyhow::Result<()>;
    async fn token(&self, jti: Uuid) -> anyhow::Result<Option<TokenRecord>>;
    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>>;
    /// Marks the token revoked at `at`; false when there is no such token.
    async fn revoke_token(&self, jti: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool>;
    async fn set_token_expiry(&self, jti: Uuid, expires_at: DateTime<Utc>) -> anyhow::Result<bool>;
    /// Writes the rows in one transaction: all are durable when this returns.
    async fn append_journal(&self, rows: &[JournalRow]) -> anyhow::Result<()>;
    /// The newest `limit` rows, newest first.
    async fn recent_journal(&self, limit: u32) -> anyhow::Result<Vec<JournalRow>>;
}

/// Opens the store named by `url` (`sqlite://path`), running its migrations.
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::connect(url).await?;
        store.migrate().await?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        anyhow::bail!("the PostgreSQL backend is not built yet (tracked in issue 5); use sqlite://")
    } else {
        anyhow::bail!(
            "unsupported database URL (expected sqlite://…): {}",
            url.split(':').next().unwrap_or("")
        )
    }
}
