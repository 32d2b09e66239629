//! `JournalWriter::append_journal` on the embedded SQLite store (WAL, synchronous=FULL): one
//! row per transaction, and a batch of 64 chained rows in one multi-row INSERT (what
//! the gateway's group commit does under load). The store lives in the system's temp folder, so
//! the figures include that disk's fsync. Run with `cargo bench -p passerelle-store-sqlite`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use passerelle_store::{ChainedRow, JournalRow, JournalWriter, RowFormat, Store};
use passerelle_store_sqlite::SqliteStore;
use uuid::Uuid;

/// `size` rows in one chain (the store keeps hashes, it does not check them).
fn chained(size: usize) -> Vec<ChainedRow> {
    let writer = Uuid::new_v4();
    (1..=size as i64)
        .map(|seq| ChainedRow {
            row: JournalRow::example(),
            format: RowFormat::V2,
            writer,
            seq,
            prev_hash: format!("{:064x}", seq - 1),
            hash: format!("{seq:064x}"),
        })
        .collect()
}

fn append(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let store = rt
        .block_on(SqliteStore::connect(&format!("sqlite://{}/b.db", dir.path().display())))
        .expect("store");
    rt.block_on(store.migrate()).expect("migrations");

    let mut group = c.benchmark_group("append_journal");
    group.sampling_mode(SamplingMode::Flat).sample_size(20);
    for size in [1usize, 64] {
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(format!("{size} row(s) in one transaction"), |b| {
            b.iter_batched(
                || chained(size),
                |rows| rt.block_on(store.append_journal(&rows, None)).expect("append"),
                criterion::BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = append
}
criterion_main!(benches);
