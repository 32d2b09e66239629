//! The gateway's hot pieces, one by one: JWT verification, the rate limiter decision
//! and the group-commit journal writer. Run with `cargo bench -p passerelle-gateway`
//! (or `bench/run`).

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use passerelle_gateway::limits::{LocalLimiter, Quota};
use passerelle_journal::{Journal, JournalSettings};
use passerelle_store::{JournalRow, Store};
use passerelle_tokens::{Claims, KeyRing};
use tokio::runtime::Runtime;
use uuid::Uuid;

/// A fresh folder for the bench's SQLite store (removed at the end).
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "passerelle-bench-{name}-{}-{}",
        std::process::id(),
        Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn jwt(c: &mut Criterion) {
    let rt = runtime();
    let dir = scratch_dir("jwt");
    let store = rt
        .block_on(passerelle_journal::open(&format!("sqlite://{}/b.db", dir.display())))
        .expect("store");
    let keys = rt.block_on(KeyRing::load_or_create(&*store)).expect("keys");
    let now = Utc::now().timestamp();
    let claims = Claims {
        uid: Uuid::new_v4().to_string(),
        jti: Uuid::new_v4().to_string(),
        scopes: passerelle_catalogue::all_scopes()
            .into_iter()
            .map(str::to_string)
            .collect(),
        sub: "13002526500013".into(),
        iat: now,
        exp: now + 548 * 86_400,
        version: "1.0".into(),
    };
    let token = keys.sign(&claims).expect("sign");
    assert_eq!(keys.verify(&token).as_ref(), Some(&claims));
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(keys.verify(&forged).is_none());

    c.bench_function("jwt/verify (Ed25519, every scope)", |b| {
        b.iter(|| keys.verify(black_box(&token)))
    });
    c.bench_function("jwt/verify, bad signature", |b| {
        b.iter(|| keys.verify(black_box(&forged)))
    });
    c.bench_function("jwt/sign", |b| b.iter(|| keys.sign(black_box(&claims))));
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

fn limiter(c: &mut Criterion) {
    let limiter = LocalLimiter::new();
    let key = Uuid::new_v4().to_string();
    // After the first 20 calls of the burst, every decision is a refusal.
    c.bench_function("limits/check, Quota::per_second(20)", |b| {
        b.iter(|| limiter.check(black_box(&key), Quota::per_second(20)))
    });
    // What the load test does: a per-minute limit so high that every call is allowed.
    c.bench_function("limits/check, allowed (per_minute 600000000)", |b| {
        b.iter(|| limiter.check(black_box(&key), Quota::per_minute(600_000_000)))
    });
    let crowded = LocalLimiter::new();
    let keys: Vec<String> = (0..10_000).map(|_| Uuid::new_v4().to_string()).collect();
    for k in &keys {
        crowded.check(k, Quota::per_second(20));
    }
    let mut i = 0;
    c.bench_function("limits/check, 10000 tokens in the table", |b| {
        b.iter(|| {
            i = (i + 1) % keys.len();
            crowded.check(black_box(&keys[i]), Quota::per_second(20))
        })
    });
}

/// The group-commit writer of the pipeline: `Journal::record` returns once the row is
/// durable (SQLite WAL, synchronous=FULL, in the system's temp folder).
fn journal(c: &mut Criterion) {
    let rt = runtime();
    let dir = scratch_dir("journal");
    let store: Arc<dyn Store> = rt
        .block_on(passerelle_journal::open(&format!("sqlite://{}/b.db", dir.display())))
        .expect("store");
    rt.block_on(KeyRing::load_or_create(store.as_ref())).expect("keys");
    let journal = rt
        .block_on(Journal::start(store.clone(), &JournalSettings::default()))
        .expect("journal");

    let mut group = c.benchmark_group("journal");
    group.sampling_mode(SamplingMode::Flat).sample_size(20);
    group.bench_function("record 1 call (group commit, alone)", |b| {
        b.iter(|| rt.block_on(journal.record(JournalRow::example())))
    });
    group.bench_function("record 32 concurrent calls (one batch)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut set = tokio::task::JoinSet::new();
                for _ in 0..32 {
                    let journal = journal.clone();
                    set.spawn(async move { journal.record(JournalRow::example()).await });
                }
                while let Some(written) = set.join_next().await {
                    assert!(written.expect("task"));
                }
            })
        })
    });
    group.finish();
    drop(journal);
    drop(store);
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = jwt, limiter, journal
}
criterion_main!(benches);
