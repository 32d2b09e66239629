//! The store contract (`crates/store/contract/suite.rs`) on PostgreSQL, a fresh
//! database per test (see `scratch`: under `CI=true` an unreachable server fails).

#[macro_use]
#[path = "../../store/contract/suite.rs"]
mod suite;

use passerelle_store_postgres::scratch::TestDb;
use passerelle_store_postgres::PostgresStore;

async fn fresh_database() -> Option<suite::Place> {
    let db = TestDb::create().await?;
    Some((db.url.clone(), Box::new(db)))
}

contract!(PostgresStore, fresh_database);
