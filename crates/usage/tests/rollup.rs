//! The rollup job on a real (SQLite) store: it counts what the journal receives, one
//! job per store, failures retried, and it stops once the store is gone.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use passerelle_store::{CallerId, ChainedRow, Grouping, JournalRow, RowFormat, Store, TimeRange};
use passerelle_store_sqlite::SqliteStore;
use uuid::Uuid;

async fn open(dir: &tempfile::TempDir) -> (Arc<dyn Store>, String) {
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    (Arc::new(store), url)
}

fn rows(n: usize) -> Vec<ChainedRow> {
    let writer = Uuid::new_v4();
    (0..n)
        .map(|i| ChainedRow {
            row: JournalRow {
                request_id: format!("r{i}"),
                at: Utc::now() - chrono::Duration::seconds(1),
                bouquet: "particulier".into(),
                caller: Some(CallerId::Token(Uuid::new_v4())),
                purpose: Default::default(),
                endpoint: "/v3/a".into(),
                status: 200,
                duration_ms: 12.0,
                params_hash: None,
                cached: false,
                body_sha256: None,
                subject: None,
            },
            format: RowFormat::V4,
            writer,
            seq: i as i64 + 1,
            prev_hash: format!("{i:064}"),
            hash: format!("{:064}", i + 1),
        })
        .collect()
}

async fn counted(store: &Arc<dyn Store>) -> u64 {
    let all = Grouping {
        period: None,
        endpoint: false,
    };
    let lines = store
        .bouquet_usage("particulier", TimeRange::default(), all)
        .await
        .unwrap();
    lines.iter().map(|l| l.counts.calls).sum()
}

/// Waits (at most 10 s) until `done` holds.
async fn eventually<F: std::future::Future<Output = bool>>(mut done: impl FnMut() -> F) -> bool {
    for _ in 0..200 {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn the_job_counts_what_the_journal_receives_and_is_one_per_store() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir).await;
    let job = passerelle_usage::spawn(&store, Duration::from_secs(1));
    assert!(Arc::ptr_eq(
        &job,
        &passerelle_usage::spawn(&store, Duration::from_secs(1))
    ));
    store.append_journal(&rows(25), None).await.unwrap();
    assert!(eventually(|| async { counted(&store).await == 25 }).await);
    // The generation moves once the step's commit is seen: a moment after the counts.
    assert!(eventually(|| async { job.generation() > 0 }).await);
    let seen = job.generation();
    // Nothing new: the generation stays.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(job.generation(), seen);

    let other = tempfile::tempdir().unwrap();
    let (second, _) = open(&other).await;
    assert!(!Arc::ptr_eq(
        &job,
        &passerelle_usage::spawn(&second, Duration::from_secs(1))
    ));
}

#[tokio::test]
async fn a_failed_run_is_retried_at_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let (store, url) = open(&dir).await;
    // Another connection hides the watermark: runs fail until it is back.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query("ALTER TABLE usage_watermark RENAME TO hidden")
        .execute(&pool)
        .await
        .unwrap();
    let job = passerelle_usage::spawn(&store, Duration::from_secs(1));
    store.append_journal(&rows(5), None).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(job.generation(), 0);
    sqlx::query("ALTER TABLE hidden RENAME TO usage_watermark")
        .execute(&pool)
        .await
        .unwrap();
    assert!(eventually(|| async { counted(&store).await == 5 }).await);
}

#[tokio::test]
async fn the_job_stops_once_the_store_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir).await;
    let job = passerelle_usage::spawn(&store, Duration::from_secs(1));
    drop(store);
    // The job's task held the only other reference to it.
    assert!(eventually(|| async { Arc::strong_count(&job) == 1 }).await);
}

#[tokio::test]
async fn catching_up_takes_every_row_in_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir).await;
    // More than one SQLite step (20 000 rows).
    for _ in 0..5 {
        store.append_journal(&rows(10_000), None).await.unwrap();
    }
    let rows = passerelle_usage::catch_up(store.as_ref(), Utc::now()).await.unwrap();
    assert_eq!(rows, 50_000);
    assert_eq!(passerelle_usage::catch_up(store.as_ref(), Utc::now()).await.unwrap(), 0);
    assert_eq!(counted(&store).await, 50_000);
}
