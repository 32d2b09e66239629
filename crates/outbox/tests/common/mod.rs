//! A fresh store per backend: SQLite on a temp file always, PostgreSQL when the test
//! server answers (under `CI=true` it must: see `passerelle_store_postgres::scratch`).

#![allow(dead_code)] // each test binary uses its own part

use std::sync::Arc;

use passerelle_store::{OutboxItem, Store};
use passerelle_store_postgres::scratch::TestDb;
use passerelle_store_postgres::PostgresStore;
use passerelle_store_sqlite::SqliteStore;

pub struct Place {
    pub backend: &'static str,
    pub store: Arc<dyn Store>,
    /// The temp directory or database, dropped after the store.
    _keep: Box<dyn Send>,
}

/// A migrated, empty store on each backend available.
pub async fn places() -> Vec<Place> {
    let mut places = vec![sqlite().await];
    places.extend(postgres().await);
    places
}

async fn sqlite() -> Place {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("outbox.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    Place {
        backend: "sqlite",
        store: Arc::new(store),
        _keep: Box::new(dir),
    }
}

async fn postgres() -> Option<Place> {
    let db = TestDb::create().await?;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    store.migrate().await.unwrap();
    Some(Place {
        backend: "postgres",
        store: Arc::new(store),
        _keep: Box::new(db),
    })
}

/// The one item of `channel`.
pub async fn only(store: &dyn Store, channel: &str) -> OutboxItem {
    let mut items = store.outbox(channel, 10).await.unwrap();
    assert_eq!(items.len(), 1, "one {channel} item");
    items.remove(0)
}
