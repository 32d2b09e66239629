//! The store contract (`crates/store/contract/suite.rs`) on SQLite, a temp file per test.

#[macro_use]
#[path = "../../store/contract/suite.rs"]
mod suite;

use passerelle_store_sqlite::SqliteStore;

async fn temp_file() -> Option<suite::Place> {
    let dir = tempfile::tempdir().unwrap();
    Some((format!("sqlite://{}", dir.path().join("t.db").display()), Box::new(dir)))
}

contract!(SqliteStore, temp_file);
