//! One contract, two backends: every test below runs on SQLite (a temp file) and on
//! PostgreSQL (a fresh database per test on `PASSERELLE_TEST_POSTGRES_URL`, by
//! default postgres://postgres@127.0.0.1:5432/test, dropped afterwards).
//!
//! Under `CI=true` an unreachable PostgreSQL fails the tests; elsewhere they skip with
//! a message.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use passerelle_store::chain::{self, GENESIS};
use passerelle_store::{ChainedRow, JournalRow, SealKind, SigningKey, Store, TimeRange, TokenRecord};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sqlx::Connection;
use uuid::Uuid;

/// A store for one test, and what must be cleaned after it.
struct Backend {
    store: Arc<dyn Store>,
    url: String,
    _cleanup: Cleanup,
}

enum Cleanup {
    File(#[allow(dead_code)] tempfile::TempDir),
    Database { admin_url: String, name: String },
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Database { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            // Drop runs outside any runtime we may block: use a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut c)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    Backend {
        store: passerelle_store::open(&url).await.unwrap(),
        url,
        _cleanup: Cleanup::File(dir),
    }
}

fn admin_url() -> String {
    std::env::var("PASSERELLE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// A fresh database, or `None` (skip) when PostgreSQL is unreachable outside CI.
async fn postgres() -> Option<Backend> {
    let admin = admin_url();
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("PostgreSQL is unreachable at {admin} under CI: {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED: PostgreSQL is unreachable at {admin} ({e}); set CI=true to make this fail");
            return None;
        }
    };
    let name = format!("contract_{}", Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    Some(Backend {
        store: passerelle_store::open(&url).await.unwrap(),
        url,
        _cleanup: Cleanup::Database { admin_url: admin, name },
    })
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::sqlite().await).await;
                }
            )*
        }
        mod on_postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(backend) = super::postgres().await {
                        super::$name(backend).await;
                    }
                }
            )*
        }
    };
}

contract!(
    migrations_are_idempotent,
    tokens_round_trip_and_change,
    signing_keys_round_trip,
    secrets_keep_their_first_value_under_concurrency,
    journal_batches_chain_and_read_back,
    journal_pages_by_time_range,
    journal_seals_round_trip_and_verify,
    purge_keeps_the_rest_and_anchors_it,
    call_counts_group_by_token_endpoint_status,
    large_batches_are_split_under_the_parameter_limit,
);

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

fn token() -> TokenRecord {
    let now = at("2026-01-01T00:00:00Z");
    TokenRecord {
        jti: Uuid::new_v4(),
        name: "Mairie".into(),
        siret: "13002526500013".into(),
        scopes: vec!["a".into(), "b".into()],
        issued_at: now,
        expires_at: now + Duration::days(30),
        revoked_at: None,
        rate_limit_per_minute: Some(60),
        allowed_ips: vec!["10.0.0.0/8".into()],
    }
}

fn key() -> SigningKey {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    SigningKey {
        kid: Uuid::new_v4().simple().to_string()[..16].to_string(),
        algorithm: "EdDSA".into(),
        private_der: pkcs8.as_ref().to_vec(),
        public_der: pair.public_key().as_ref().to_vec(),
        created_at: at("2026-01-01T00:00:00.123456Z"),
    }
}

fn call(i: usize, when: DateTime<Utc>, jti: Option<Uuid>) -> JournalRow {
    JournalRow {
        request_id: format!("req-{i}"),
        at: when,
        jti,
        recipient: Some("13002526500013".into()),
        endpoint: if i.is_multiple_of(3) { "/v3/a" } else { "/v3/b" }.into(),
        status: if i.is_multiple_of(2) { 200 } else { 404 },
        duration_ms: 1.0 / (i as f64 + 3.0),
        params_hash: (!i.is_multiple_of(5)).then(|| format!("{i:0128}")),
        cached: i.is_multiple_of(4),
    }
}

/// `rows` chained for `writer` from `(seq, prev)`.
fn chained(writer: Uuid, from_seq: i64, prev: &str, rows: Vec<JournalRow>) -> Vec<ChainedRow> {
    let mut prev = prev.to_string();
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let linked = chain::link(writer, from_seq + i as i64, &prev, row);
            prev = linked.hash.clone();
            linked
        })
        .collect()
}

async fn migrations_are_idempotent(b: Backend) {
    b.store.migrate().await.unwrap();
    b.store.migrate().await.unwrap();
    let again = passerelle_store::open(&b.url).await.unwrap();
    again.insert_token(&token()).await.unwrap();
    assert_eq!(b.store.tokens().await.unwrap().len(), 1);
}

async fn tokens_round_trip_and_change(b: Backend) {
    let store = &b.store;
    let t = token();
    store.insert_token(&t).await.unwrap();
    assert_eq!(store.token(t.jti).await.unwrap(), Some(t.clone()));
    assert_eq!(store.token(Uuid::new_v4()).await.unwrap(), None);
    let mut unlimited = token();
    unlimited.rate_limit_per_minute = None;
    unlimited.allowed_ips = vec![];
    unlimited.issued_at += Duration::seconds(1);
    store.insert_token(&unlimited).await.unwrap();
    assert!(store.insert_token(&t).await.is_err(), "a jti is unique");

    let later = t.expires_at + Duration::days(1);
    assert!(store.set_token_expiry(t.jti, later).await.unwrap());
    assert!(store.revoke_token(t.jti, later).await.unwrap());
    let changed = store.token(t.jti).await.unwrap().unwrap();
    assert_eq!((changed.expires_at, changed.revoked_at), (later, Some(later)));
    assert!(!store.revoke_token(Uuid::new_v4(), later).await.unwrap());
    assert!(!store.set_token_expiry(Uuid::new_v4(), later).await.unwrap());
    let listed = store.tokens().await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.jti).collect::<Vec<_>>(),
        vec![t.jti, unlimited.jti]
    );
    assert_eq!(listed[1], unlimited);
}

async fn signing_keys_round_trip(b: Backend) {
    let (first, mut second) = (key(), key());
    second.created_at += Duration::days(1);
    b.store.insert_signing_key(&second).await.unwrap();
    b.store.insert_signing_key(&first).await.unwrap();
    assert_eq!(b.store.signing_keys().await.unwrap(), vec![first, second]);
}

async fn secrets_keep_their_first_value_under_concurrency(b: Backend) {
    let racers = (0..16u8).map(|i| {
        let store = b.store.clone();
        tokio::spawn(async move { store.secret_or_insert("salt", vec![i; 32]).await.unwrap() })
    });
    let mut seen = Vec::new();
    for r in racers {
        seen.push(r.await.unwrap());
    }
    assert!(seen.iter().all(|v| v == &seen[0]), "every caller sees the one winner");
    assert_eq!(b.store.secret_or_insert("salt", vec![99]).await.unwrap(), seen[0]);
    assert_eq!(b.store.secret("salt").await.unwrap(), Some(seen[0].clone()));
    assert_eq!(b.store.secret("absent").await.unwrap(), None);
}

async fn journal_batches_chain_and_read_back(b: Backend) {
    let writer = Uuid::new_v4();
    let now = at("2026-03-01T12:00:00.123456789Z");
    let first = chained(
        writer,
        1,
        GENESIS,
        (0..3).map(|i| call(i, now, Some(Uuid::new_v4()))).collect(),
    );
    let second = chained(writer, 4, &first[2].hash, (3..5).map(|i| call(i, now, None)).collect());
    b.store.append_journal(&first, None).await.unwrap();
    b.store.append_journal(&second, None).await.unwrap();
    // A chain position is taken once: a second writer of seq 4 is refused, whole.
    let clash = chained(writer, 4, &first[2].hash, vec![call(9, now, None)]);
    assert!(b.store.append_journal(&clash, None).await.is_err());

    let back = b.store.writer_rows(writer, 0, 100).await.unwrap();
    let written: Vec<_> = first.iter().chain(&second).cloned().collect();
    assert_eq!(back, written, "rows read back exactly as chained");
    for r in &back {
        assert_eq!(chain::row_hash(writer, r.seq, &r.prev_hash, &r.row), r.hash);
    }
    assert_eq!(
        b.store.writer_rows(writer, 3, 1).await.unwrap(),
        vec![second[0].clone()]
    );
    let spans = b.store.journal_writers().await.unwrap();
    assert_eq!(
        (spans.len(), spans[0].first_seq, spans[0].last_seq, spans[0].rows),
        (1, 1, 5, 5)
    );
    let recent = b.store.recent_journal(2).await.unwrap();
    assert_eq!(recent, vec![second[1].row.clone(), second[0].row.clone()]);
}

async fn journal_pages_by_time_range(b: Backend) {
    let writer = Uuid::new_v4();
    let start = at("2026-03-01T00:00:00Z");
    let rows = (0..10)
        .map(|i| call(i, start + Duration::hours(i as i64), None))
        .collect();
    b.store
        .append_journal(&chained(writer, 1, GENESIS, rows), None)
        .await
        .unwrap();
    let range = TimeRange {
        since: Some(start + Duration::hours(2)),
        until: Some(start + Duration::hours(7)),
    };
    assert_eq!(b.store.journal_count(range).await.unwrap(), 5);
    assert_eq!(b.store.journal_count(TimeRange::default()).await.unwrap(), 10);
    let mut ids = Vec::new();
    let mut after = 0;
    loop {
        let page = b.store.journal_page(range, after, 2).await.unwrap();
        let Some((last, _)) = page.last() else { break };
        after = *last;
        ids.extend(page.into_iter().map(|(_, r)| r.row.request_id));
    }
    assert_eq!(ids, vec!["req-2", "req-3", "req-4", "req-5", "req-6"]);
}

async fn journal_seals_round_trip_and_verify(b: Backend) {
    let k = key();
    b.store.insert_signing_key(&k).await.unwrap();
    let writer = Uuid::new_v4();
    let rows = chained(writer, 1, GENESIS, (0..3).map(|i| call(i, Utc::now(), None)).collect());
    let seal = chain::seal(SealKind::Checkpoint, writer, 3, &rows[2].hash, &k).unwrap();
    b.store.append_journal(&rows, Some(&seal)).await.unwrap();
    // A seal alone (a checkpoint on a quiet chain) is a valid write too.
    let again = chain::seal(SealKind::Checkpoint, writer, 3, &rows[2].hash, &k).unwrap();
    b.store.append_journal(&[], Some(&again)).await.unwrap();
    let seals = b.store.journal_seals().await.unwrap();
    assert_eq!(seals, vec![seal.clone(), again]);
    let keys = b.store.signing_keys().await.unwrap();
    assert!(chain::seal_is_signed(&seals[0], &keys));
    let mut forged = seals[0].clone();
    forged.hash = rows[1].hash.clone();
    assert!(!chain::seal_is_signed(&forged, &keys));
}

async fn purge_keeps_the_rest_and_anchors_it(b: Backend) {
    let k = key();
    let (old, recent) = (at("2020-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"));
    let (w1, w2, w3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    // w1: 3 old rows then 2 recent; w2: recent only; w3: old only.
    let mut calls: Vec<_> = (0..3).map(|i| call(i, old, None)).collect();
    calls.extend((3..5).map(|i| call(i, recent, None)));
    let r1 = chained(w1, 1, GENESIS, calls);
    let cp = chain::seal(SealKind::Checkpoint, w1, 2, &r1[1].hash, &k).unwrap();
    b.store.append_journal(&r1, Some(&cp)).await.unwrap();
    b.store
        .append_journal(&chained(w2, 1, GENESIS, vec![call(5, recent, None)]), None)
        .await
        .unwrap();
    let r3 = chained(w3, 1, GENESIS, vec![call(6, old, None), call(7, old, None)]);
    b.store.append_journal(&r3, None).await.unwrap();

    let mut points = b.store.purge_points(at("2024-01-01T00:00:00Z")).await.unwrap();
    points.sort_by_key(|p| p.writer != w1);
    assert_eq!(points.len(), 2, "w2 has nothing to purge");
    assert_eq!(
        (points[0].writer, points[0].seq, points[0].hash.as_str()),
        (w1, 3, r1[2].hash.as_str())
    );
    assert_eq!(
        (points[1].writer, points[1].seq, points[1].hash.as_str()),
        (w3, 2, r3[1].hash.as_str())
    );

    let mut deleted = 0;
    for p in &points {
        let anchor = chain::seal(SealKind::Anchor, p.writer, p.seq, &p.hash, &k).unwrap();
        deleted += b.store.purge_writer(&anchor).await.unwrap();
    }
    assert_eq!(deleted, 5);
    let kept = b.store.writer_rows(w1, 0, 10).await.unwrap();
    assert_eq!(kept, r1[3..].to_vec());
    assert_eq!(kept[0].prev_hash, points[0].hash, "the anchor links the first kept row");
    let seals = b.store.journal_seals().await.unwrap();
    assert!(
        seals.iter().all(|s| s.kind == SealKind::Anchor),
        "the covered checkpoint went"
    );
    assert_eq!(seals.len(), 2);
    assert_eq!(b.store.journal_count(TimeRange::default()).await.unwrap(), 3);
    assert!(b
        .store
        .purge_points(at("2024-01-01T00:00:00Z"))
        .await
        .unwrap()
        .is_empty());
}

async fn call_counts_group_by_token_endpoint_status(b: Backend) {
    let (t1, t2) = (Uuid::new_v4(), Uuid::new_v4());
    let day = at("2026-05-01T10:00:00Z");
    let mut rows: Vec<_> = (0..6).map(|i| call(i, day, Some(t1))).collect();
    rows.push(call(0, day, Some(t2)));
    rows.push(call(0, day - Duration::days(2), Some(t2)));
    b.store
        .append_journal(&chained(Uuid::new_v4(), 1, GENESIS, rows), None)
        .await
        .unwrap();
    let range = TimeRange {
        since: Some(day - Duration::hours(1)),
        until: None,
    };
    let counts = b.store.call_counts(range).await.unwrap();
    let get = |jti, endpoint: &str, status| {
        counts
            .iter()
            .find(|c| c.jti == Some(jti) && c.endpoint == endpoint && c.status == status)
            .map(|c| c.calls)
    };
    // t1: i = 0..6 → /v3/a for 0 and 3; 200 for even i.
    assert_eq!(get(t1, "/v3/a", 200), Some(1));
    assert_eq!(get(t1, "/v3/a", 404), Some(1));
    assert_eq!(get(t1, "/v3/b", 200), Some(2));
    assert_eq!(get(t1, "/v3/b", 404), Some(2));
    assert_eq!(get(t2, "/v3/a", 200), Some(1), "the older call is outside the range");
    assert_eq!(counts.iter().map(|c| c.calls).sum::<i64>(), 7);
    assert!(counts.windows(2).all(|w| w[0].calls >= w[1].calls), "most calls first");
}

async fn large_batches_are_split_under_the_parameter_limit(b: Backend) {
    // 13 values per row: 6000 rows exceed both backends' limit in one statement.
    let writer = Uuid::new_v4();
    let rows = chained(
        writer,
        1,
        GENESIS,
        (0..6000).map(|i| call(i, Utc::now(), None)).collect(),
    );
    b.store.append_journal(&rows, None).await.unwrap();
    assert_eq!(b.store.journal_count(TimeRange::default()).await.unwrap(), 6000);
    let back = b.store.writer_rows(writer, 5990, 100).await.unwrap();
    assert_eq!(back, rows[5990..].to_vec());
}
