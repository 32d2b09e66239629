//! The store contract (`crates/store/contract/suite.rs`) on PostgreSQL, a fresh
//! database per test (see `scratch`: under `CI=true` an unreachable server fails).

#[macro_use]
#[path = "../../store/contract/suite.rs"]
mod suite;

use std::sync::Arc;

use passerelle_store::Store;
use passerelle_store_postgres::scratch::TestDb;
use passerelle_store_postgres::PostgresStore;
use suite::Backend;

fn open(url: String) -> std::pin::Pin<Box<dyn std::future::Future<Output = Arc<dyn Store>> + Send>> {
    Box::pin(async move {
        let store = PostgresStore::connect(&url).await.expect("PostgreSQL connects");
        store.migrate().await.expect("migrations run");
        Arc::new(store) as Arc<dyn Store>
    })
}

async fn fresh() -> Option<Backend> {
    let db = TestDb::create().await?;
    Some(Backend {
        store: open(db.url.clone()).await,
        url: db.url.clone(),
        reopen: open,
        _keep: Box::new(db),
    })
}

contract!(fresh);
