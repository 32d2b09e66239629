//! The journal: its hash chain (`chain`), the gateway's writer (`Journal`), and what
//! auditors and operators run on a store: `verify`, `export`, `purge`, and `heads`,
//! which checks a chain against the signed heads the writer sent out of the database.
//!
//! `open` is the one place that knows both store backends.

pub mod chain;
mod export;
pub mod heads;
mod purge;
mod sink;
mod verify;
mod writer;

#[cfg(test)]
mod testing;

use std::sync::Arc;

use passerelle_store::Store;
use passerelle_store_postgres::PostgresStore;
use passerelle_store_sqlite::SqliteStore;

pub use export::{export, export_line};
pub use purge::purge;
pub use verify::{verify, Report};
pub use writer::{Journal, JournalSettings};

/// Rows read per page by the audits.
const PAGE: u32 = 5000;

/// What a long audit tells as it goes (the CLI draws a progress bar with it).
pub trait Progress: Sync {
    /// The rows the audit will go through.
    fn total(&self, _rows: u64) {}
    /// Rows done since the last call.
    fn advance(&self, _rows: u64) {}
}

/// No progress shown.
impl Progress for () {}

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
