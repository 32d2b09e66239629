//! The store contract (`crates/store/contract/suite.rs`) on SQLite, a temp file per test.

#[macro_use]
#[path = "../../store/contract/suite.rs"]
mod suite;

use std::sync::Arc;

use passerelle_store::Store;
use passerelle_store_sqlite::SqliteStore;
use suite::Backend;

fn open(url: String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Arc<dyn Store>> + Send>> {
    Box::pin(async move {
        let store = SqliteStore::connect(&url).await.expect("SQLite opens");
        store.migrate().await.expect("migrations run");
        Arc::new(store) as Arc<dyn Store>
    })
}

async fn fresh() -> Option<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    Some(Backend {
        store: open(url.clone()).await,
        url,
        reopen: open,
        _keep: Box::new(dir),
    })
}

contract!(fresh);
