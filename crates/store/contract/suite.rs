//! The store contract: what every backend must do, whatever it stores things in.
//!
//! Each backend's `tests/contract.rs` includes this file and runs `contract!` with its
//! store type and a function that makes a fresh place for it (a temp SQLite file; a
//! fresh PostgreSQL database per test). Hashes and signatures here are stand-ins: the
//! store keeps them, the journal crate checks them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use passerelle_store::{
    CallerId, ChainedRow, DemandeChange, DemandeEvent, DemandePerson, DemandeRecord, IpBan, JournalRow, OutboxItem,
    Purpose, RowFormat, Seal, SealKind, SigningKey, Store, TimeRange, TokenChange, TokenRecord, WebSession,
    KEYS_FOR_ANSWERS, KEYS_FOR_TOKENS, PARTICULIER,
};
use uuid::Uuid;

/// Opens (and migrates) the store at a URL: a second pool on the same data.
pub type Open = fn(String) -> Pin<Box<dyn Future<Output = Arc<dyn Store>> + Send>>;

/// Where a fresh store lives, and what must live as long as it (a temp folder, a database).
pub type Place = (String, Box<dyn std::any::Any + Send>);

/// A store for one test.
pub struct Backend {
    pub store: Arc<dyn Store>,
    pub url: String,
    pub reopen: Open,
    _keep: Box<dyn std::any::Any + Send>,
}

impl Backend {
    pub async fn open((url, keep): Place, open: Open) -> Backend {
        Backend {
            store: open(url.clone()).await,
            url,
            reopen: open,
            _keep: keep,
        }
    }
}

/// Every contract test, on a `$store` (with `connect(url)`) in the place `$fresh().await`
/// makes (`None`: skipped).
macro_rules! contract {
    ($store:ty, $fresh:path) => {
        fn open(url: String) -> std::pin::Pin<Box<dyn std::future::Future<Output = std::sync::Arc<dyn passerelle_store::Store>> + Send>> {
            Box::pin(async move {
                let store = <$store>::connect(&url).await.expect("the store opens");
                passerelle_store::Store::migrate(&store).await.expect("migrations run");
                std::sync::Arc::new(store) as std::sync::Arc<dyn passerelle_store::Store>
            })
        }
        contract!(@each $fresh;
            migrations_are_idempotent,
            tokens_round_trip_and_change,
            tokens_keep_their_bouquet,
            signing_keys_round_trip,
            ip_bans_in_force_and_lifted,
            secrets_keep_their_first_value_under_concurrency,
            journal_batches_chain_and_read_back,
            journal_rows_keep_bouquet_caller_and_purpose,
            journal_pages_by_time_range,
            calls_about_a_person_are_hers_only_newest_first,
            a_tokens_last_calls_are_its_own_newest_first,
            journal_seals_round_trip,
            purge_keeps_the_rest_and_anchors_it,
            call_counts_group_by_bouquet_caller_endpoint_status,
            large_batches_are_split_under_the_parameter_limit,
            demandes_commit_whole_and_guard_their_version,
            demandes_list_by_organisation_person_and_bouquet,
            tokens_rotate_and_restrict_with_their_demande,
            outbox_skips_duplicates_and_settles,
            outbox_items_are_claimed_once,
            web_sessions_expire_and_drop,
            expired_web_sessions_are_purged,
            token_links_open_once_and_in_time,
            datapass_deliveries_apply_once_and_in_order,
            datapass_failures_and_conflicts_write_nothing,
            datapass_concurrent_copies_apply_once,
            // status (status.rs)
            status_checks_roll_up_by_day_and_keep_the_newest,
            status_checks_from_many_replicas_all_count,
            status_notices_open_take_notes_and_close_once,
            status_recent_notices_are_the_open_ones_and_those_ended_since,
            // usage (usage.rs)
            usage_rows_roll_up_once,
            usage_rollup_steps_are_bounded,
            usage_rollup_waits_for_the_lag,
            concurrent_usage_rollups_count_each_row_once,
            usage_queries_by_range_period_and_endpoint,
            // alerts (alerts.rs)
            token_addresses_keep_their_first_and_last_sight_and_add_calls,
            fresh_addresses_skip_the_pairs_already_alerted,
            alerts_are_raised_once_per_mark_and_again_after_their_quiet_time,
            concurrent_replicas_raise_an_alert_once,
            alert_settings_round_trip_and_replace,
            // audit notices (audit.rs)
            audit_calls_are_those_of_the_given_tokens_only_newest_first,
            audit_events_of_a_kind_list_newest_first_across_demandes,
            // delegations (delegations.rs)
            delegations_are_granted_listed_and_revoked_with_their_demande,
            delegated_tokens_are_issued_and_revoked_with_their_demande,
            // operator (operator.rs)
            operator_actions_are_kept_and_read_newest_first,
            operator_commits_write_the_demande_its_replacement_and_the_action_or_nothing,
            every_demande_and_an_organisations_own_are_listed,
            a_demande_is_read_by_number_and_tokens_by_their_ids,
        );
    };
    (@each $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(place) = $fresh().await {
                    crate::suite::$name(crate::suite::Backend::open(place, open).await).await;
                }
            }
        )*
    };
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
}

/// Now, at the microsecond both backends keep.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp_micros(Utc::now().timestamp_micros()).unwrap()
}

fn token() -> TokenRecord {
    let now = at("2026-01-01T00:00:00Z");
    TokenRecord {
        jti: Uuid::new_v4(),
        name: "Mairie".into(),
        siret: "13002526500013".into(),
        bouquet: PARTICULIER.into(),
        scopes: vec!["a".into(), "b".into()],
        issued_at: now,
        expires_at: now + Duration::days(30),
        revoked_at: None,
        rate_limit_per_minute: Some(60),
        allowed_ips: vec!["10.0.0.0/8".into()],
        dpo_email: Some("dpd@mairie.example".into()),
    }
}

fn key(created_at: DateTime<Utc>, purpose: &str) -> SigningKey {
    SigningKey {
        kid: Uuid::new_v4().simple().to_string()[..16].to_string(),
        algorithm: "EdDSA".into(),
        purpose: purpose.into(),
        private_der: (0..48).collect(),
        public_der: (0..32).rev().collect(),
        created_at,
    }
}

fn recipient() -> Purpose {
    [("recipient".to_string(), "13002526500013".to_string())].into()
}

fn call(i: usize, when: DateTime<Utc>, caller: Option<CallerId>) -> JournalRow {
    JournalRow {
        request_id: format!("req-{i}"),
        at: when,
        bouquet: PARTICULIER.into(),
        caller,
        purpose: recipient(),
        endpoint: if i.is_multiple_of(3) { "/v3/a" } else { "/v3/b" }.into(),
        status: if i.is_multiple_of(2) { 200 } else { 404 },
        duration_ms: 1.0 / (i as f64 + 3.0),
        params_hash: (!i.is_multiple_of(5)).then(|| format!("{i:0128}")),
        cached: i.is_multiple_of(4),
        body_sha256: i.is_multiple_of(3).then(|| format!("{i:064x}")),
        subject: None,
    }
}

fn token_caller() -> Option<CallerId> {
    Some(CallerId::Token(Uuid::new_v4()))
}

/// `rows` in `writer`'s chain from `from_seq` after `prev`, with stand-in hashes.
fn chained(writer: Uuid, from_seq: i64, prev: &str, rows: Vec<JournalRow>) -> Vec<ChainedRow> {
    let mut prev = prev.to_string();
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let seq = from_seq + i as i64;
            let hash = format!("{}{seq:032x}", writer.simple());
            ChainedRow {
                row,
                format: RowFormat::V3,
                writer,
                seq,
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
            }
        })
        .collect()
}

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

fn seal(kind: SealKind, row: &ChainedRow) -> Seal {
    Seal {
        kind,
        writer: row.writer,
        seq: row.seq,
        hash: row.hash.clone(),
        at: now(),
        kid: "k1".into(),
        signature: "ab".repeat(64),
    }
}

pub async fn migrations_are_idempotent(b: Backend) {
    b.store.migrate().await.unwrap();
    b.store.migrate().await.unwrap();
    let again = (b.reopen)(b.url.clone()).await;
    again.insert_token(&token()).await.unwrap();
    assert_eq!(b.store.tokens().await.unwrap().len(), 1);
}

pub async fn tokens_round_trip_and_change(b: Backend) {
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
    // The earliest revocation wins: an earlier one moves it, a later one never.
    let sooner = later - Duration::days(2);
    assert!(store.revoke_token(t.jti, sooner).await.unwrap());
    assert!(store.revoke_token(t.jti, later).await.unwrap());
    let revoked = store.token(t.jti).await.unwrap().unwrap().revoked_at;
    assert_eq!(revoked, Some(sooner));
    assert!(!store.revoke_token(Uuid::new_v4(), later).await.unwrap());
    assert!(!store.set_token_expiry(Uuid::new_v4(), later).await.unwrap());
    let listed = store.tokens().await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.jti).collect::<Vec<_>>(),
        vec![t.jti, unlimited.jti]
    );
    assert_eq!(listed[1], unlimited);
}

pub async fn tokens_keep_their_bouquet(b: Backend) {
    let mut entreprise = token();
    entreprise.bouquet = "entreprise".into();
    let particulier = token();
    b.store.insert_token(&entreprise).await.unwrap();
    b.store.insert_token(&particulier).await.unwrap();
    let bouquet = |t: Option<TokenRecord>| t.unwrap().bouquet;
    assert_eq!(bouquet(b.store.token(entreprise.jti).await.unwrap()), "entreprise");
    assert_eq!(bouquet(b.store.token(particulier.jti).await.unwrap()), PARTICULIER);
}

pub async fn signing_keys_round_trip(b: Backend) {
    let first = key(at("2026-01-01T00:00:00.123456Z"), KEYS_FOR_TOKENS);
    let second = key(first.created_at + Duration::days(1), KEYS_FOR_ANSWERS);
    b.store.insert_signing_key(&second).await.unwrap();
    b.store.insert_signing_key(&first).await.unwrap();
    assert_eq!(b.store.signing_keys().await.unwrap(), vec![first, second]);
}

pub async fn ip_bans_in_force_and_lifted(b: Backend) {
    let now = at("2026-12-05T10:00:00.123456Z");
    let ban = |ip: &str, banned_at: DateTime<Utc>, hours: i64| IpBan {
        ip: ip.into(),
        banned_at,
        until: banned_at + Duration::hours(hours),
        reason: "appels répétés malgré les refus".into(),
        lifted_at: None,
    };
    let over = ban("192.0.2.1", now - Duration::hours(13), 12);
    let first = ban("192.0.2.2", now - Duration::hours(2), 12);
    let second = ban("2001:db8::7", now - Duration::hours(1), 12);
    for b_ in [&over, &first, &second] {
        b.store.insert_ip_ban(b_).await.unwrap();
    }
    assert_eq!(
        b.store.ip_bans(Some(now)).await.unwrap(),
        vec![second.clone(), first.clone()]
    );
    assert_eq!(b.store.ip_bans(None).await.unwrap().len(), 3);

    let lifted_at = now + Duration::minutes(5);
    assert_eq!(b.store.lift_ip_ban("192.0.2.2", lifted_at).await.unwrap(), 1);
    assert_eq!(b.store.lift_ip_ban("192.0.2.2", lifted_at).await.unwrap(), 0, "once");
    assert_eq!(
        b.store.lift_ip_ban("192.0.2.1", lifted_at).await.unwrap(),
        0,
        "already over"
    );
    assert_eq!(b.store.ip_bans(Some(lifted_at)).await.unwrap(), vec![second]);
    let all = b.store.ip_bans(None).await.unwrap();
    let lifted = all.iter().find(|x| x.ip == "192.0.2.2").unwrap();
    assert_eq!(lifted.lifted_at, Some(lifted_at));
}

pub async fn secrets_keep_their_first_value_under_concurrency(b: Backend) {
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

pub async fn journal_batches_chain_and_read_back(b: Backend) {
    let writer = Uuid::new_v4();
    let now = at("2026-03-01T12:00:00.123456Z");
    let first = chained(
        writer,
        1,
        GENESIS,
        (0..3).map(|i| call(i, now, token_caller())).collect(),
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

pub async fn journal_rows_keep_bouquet_caller_and_purpose(b: Backend) {
    let writer = Uuid::new_v4();
    let mut rows = vec![call(0, now(), Some(CallerId::Citizen("c0ffee".repeat(10))))];
    rows.push(call(1, now(), None));
    rows[1].purpose.clear();
    rows.push(call(2, now(), token_caller()));
    rows[2].bouquet = "entreprise".into();
    rows[2].purpose = [
        ("context", "Aides publiques"),
        ("object", "Dossier 12"),
        ("recipient", "1300"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into();
    let mut rows = chained(writer, 1, GENESIS, rows);
    rows[1].format = RowFormat::V1;
    b.store.append_journal(&rows, None).await.unwrap();
    assert_eq!(b.store.writer_rows(writer, 0, 10).await.unwrap(), rows);
    let page = b.store.journal_page(TimeRange::default(), 0, 10).await.unwrap();
    assert_eq!(page.into_iter().map(|(_, r)| r).collect::<Vec<_>>(), rows);
}

pub async fn calls_about_a_person_are_hers_only_newest_first(b: Backend) {
    let (writer, hers, other) = (Uuid::new_v4(), "ab".repeat(32), "cd".repeat(32));
    let rows: Vec<JournalRow> = (0..6)
        .map(|i| {
            let mut row = call(
                i,
                at("2026-03-01T10:00:00Z") + chrono::Duration::minutes(i as i64),
                token_caller(),
            );
            row.subject = match i % 3 {
                0 => Some(hers.clone()),
                1 => Some(other.clone()),
                _ => None,
            };
            row
        })
        .collect();
    // Her own read of her record: her key, no caller.
    let mut read = call(6, at("2026-03-01T11:00:00Z"), None);
    read.subject = Some(hers.clone());
    let mut rows = chained(writer, 1, GENESIS, [rows, vec![read]].concat());
    rows.iter_mut().for_each(|r| r.format = RowFormat::V4);
    b.store.append_journal(&rows, None).await.unwrap();
    let found = b.store.calls_about(&hers, 10).await.unwrap();
    let ids: Vec<_> = found.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["req-3", "req-0"], "her calls, not her own read");
    assert_eq!(found[0], rows[3].row);
    assert_eq!(b.store.calls_about(&hers, 1).await.unwrap().len(), 1);
    assert!(b.store.calls_about(&"ef".repeat(32), 10).await.unwrap().is_empty());
    assert_eq!(b.store.writer_rows(writer, 0, 10).await.unwrap(), rows);
}

pub async fn a_tokens_last_calls_are_its_own_newest_first(b: Backend) {
    let (mine, theirs) = (Uuid::new_v4(), Uuid::new_v4());
    let start = at("2026-03-01T10:00:00Z");
    let rows = (0..7)
        .map(|i| {
            let caller = if i % 2 == 0 { mine } else { theirs };
            call(i, start + Duration::minutes(i as i64), Some(CallerId::Token(caller)))
        })
        .collect();
    let rows = chained(Uuid::new_v4(), 1, GENESIS, rows);
    b.store.append_journal(&rows, None).await.unwrap();
    let found = b.store.token_calls(mine, 3).await.unwrap();
    let ids: Vec<_> = found.iter().map(|r| r.request_id.as_str()).collect();
    assert_eq!(ids, ["req-6", "req-4", "req-2"]);
    assert_eq!(found[0], rows[6].row);
    assert!(b.store.token_calls(Uuid::new_v4(), 3).await.unwrap().is_empty());
}

pub async fn journal_pages_by_time_range(b: Backend) {
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

pub async fn journal_seals_round_trip(b: Backend) {
    let writer = Uuid::new_v4();
    let rows = chained(writer, 1, GENESIS, (0..3).map(|i| call(i, now(), None)).collect());
    let checkpoint = seal(SealKind::Checkpoint, &rows[2]);
    b.store.append_journal(&rows, Some(&checkpoint)).await.unwrap();
    // A seal alone (a checkpoint on a quiet chain) is a valid write too.
    let again = seal(SealKind::Checkpoint, &rows[2]);
    b.store.append_journal(&[], Some(&again)).await.unwrap();
    assert_eq!(b.store.journal_seals().await.unwrap(), vec![checkpoint, again]);
}

pub async fn purge_keeps_the_rest_and_anchors_it(b: Backend) {
    let (old, recent) = (at("2020-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"));
    let (w1, w2, w3) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    // w1: 3 old rows then 2 recent; w2: recent only; w3: old only.
    let mut calls: Vec<_> = (0..3).map(|i| call(i, old, None)).collect();
    calls.extend((3..5).map(|i| call(i, recent, None)));
    let r1 = chained(w1, 1, GENESIS, calls);
    let checkpoint = seal(SealKind::Checkpoint, &r1[1]);
    b.store.append_journal(&r1, Some(&checkpoint)).await.unwrap();
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

    let (a1, a3) = (seal(SealKind::Anchor, &r1[2]), seal(SealKind::Anchor, &r3[1]));
    let deleted = b.store.purge_writer(&a1).await.unwrap() + b.store.purge_writer(&a3).await.unwrap();
    assert_eq!(deleted, 5);
    let kept = b.store.writer_rows(w1, 0, 10).await.unwrap();
    assert_eq!(kept, r1[3..].to_vec());
    let seals = b.store.journal_seals().await.unwrap();
    let mut expected = vec![a1, a3];
    expected.sort_by_key(|s| s.writer);
    assert_eq!(seals, expected, "the anchors replace the checkpoint they cover");
    assert_eq!(b.store.journal_count(TimeRange::default()).await.unwrap(), 3);
    assert!(b
        .store
        .purge_points(at("2024-01-01T00:00:00Z"))
        .await
        .unwrap()
        .is_empty());
}

pub async fn call_counts_group_by_bouquet_caller_endpoint_status(b: Backend) {
    let (t1, t2) = (CallerId::Token(Uuid::new_v4()), CallerId::Token(Uuid::new_v4()));
    let citizen = CallerId::Citizen("ab".repeat(32));
    let day = at("2026-05-01T10:00:00Z");
    let mut rows: Vec<_> = (0..6).map(|i| call(i, day, Some(t1.clone()))).collect();
    rows.push(call(0, day, Some(t2.clone())));
    rows.push(call(0, day - Duration::days(2), Some(t2.clone())));
    rows.push(call(0, day, Some(citizen.clone())));
    let mut entreprise = call(0, day, Some(t1.clone()));
    entreprise.bouquet = "entreprise".into();
    rows.push(entreprise);
    b.store
        .append_journal(&chained(Uuid::new_v4(), 1, GENESIS, rows), None)
        .await
        .unwrap();
    let range = TimeRange {
        since: Some(day - Duration::hours(1)),
        until: None,
    };
    let counts = b.store.call_counts(range).await.unwrap();
    let get = |bouquet: &str, caller: &CallerId, endpoint: &str, status| {
        counts
            .iter()
            .find(|c| {
                (c.bouquet.as_str(), c.caller.as_ref(), c.endpoint.as_str(), c.status)
                    == (bouquet, Some(caller), endpoint, status)
            })
            .map(|c| c.calls)
    };
    // t1: i = 0..6 → /v3/a for 0 and 3; 200 for even i.
    assert_eq!(get(PARTICULIER, &t1, "/v3/a", 200), Some(1));
    assert_eq!(get(PARTICULIER, &t1, "/v3/a", 404), Some(1));
    assert_eq!(get(PARTICULIER, &t1, "/v3/b", 200), Some(2));
    assert_eq!(get(PARTICULIER, &t1, "/v3/b", 404), Some(2));
    assert_eq!(get("entreprise", &t1, "/v3/a", 200), Some(1));
    assert_eq!(get(PARTICULIER, &citizen, "/v3/a", 200), Some(1));
    assert_eq!(
        get(PARTICULIER, &t2, "/v3/a", 200),
        Some(1),
        "the older call is outside the range"
    );
    assert_eq!(counts.iter().map(|c| c.calls).sum::<i64>(), 9);
    assert!(counts.windows(2).all(|w| w[0].calls >= w[1].calls), "most calls first");
}

pub async fn large_batches_are_split_under_the_parameter_limit(b: Backend) {
    // 16 values per row: 6000 rows exceed both backends' limit in one statement.
    let writer = Uuid::new_v4();
    let rows = chained(writer, 1, GENESIS, (0..6000).map(|i| call(i, now(), None)).collect());
    b.store.append_journal(&rows, None).await.unwrap();
    assert_eq!(b.store.journal_count(TimeRange::default()).await.unwrap(), 6000);
    let back = b.store.writer_rows(writer, 5990, 100).await.unwrap();
    assert_eq!(back, rows[5990..].to_vec());
}

fn demande(siret: &str, version: i64, now: DateTime<Utc>) -> DemandeRecord {
    DemandeRecord {
        id: Uuid::new_v4(),
        number: 0,
        bouquet: PARTICULIER.into(),
        form_id: "api-particulier-libre".into(),
        siret: siret.into(),
        state: "draft".into(),
        reopening: false,
        version,
        body: r#"{"fields":{"intitule":"Cantine"}}"#.into(),
        created_at: now,
        updated_at: now,
        submitted_at: None,
        decided_at: None,
    }
}

fn change(demande: &DemandeRecord, kind: &str, people: &[(&str, &str)]) -> DemandeChange {
    DemandeChange {
        demande: demande.clone(),
        people: people
            .iter()
            .map(|(email, role)| DemandePerson {
                email: email.to_string(),
                role: role.to_string(),
            })
            .collect(),
        event: DemandeEvent {
            demande_id: demande.id,
            seq: demande.version,
            at: demande.updated_at,
            actor: "camille@ville.example".into(),
            kind: kind.into(),
            body: "{}".into(),
        },
        outbox: vec![OutboxItem::new(
            "mail",
            format!("{{\"event\":\"{kind}\"}}"),
            demande.updated_at,
        )],
        token: None,
    }
}

pub async fn demandes_commit_whole_and_guard_their_version(b: Backend) {
    let now = at("2026-12-06T08:00:00.123456Z");
    let mut d = demande("21000000000019", 1, now);
    let applicant = [("camille@ville.example", "applicant")];
    assert!(b.store.commit_demande(&change(&d, "create", &applicant)).await.unwrap());
    let stored = b.store.demande(d.id).await.unwrap().unwrap();
    assert_eq!(stored.number, 1);
    d.number = 1;
    assert_eq!(stored, d);
    assert!(
        !b.store
            .commit_demande(&change(&d, "create", &applicant))
            .await
            .unwrap_or(false),
        "created once"
    );

    // Approval: the demande, its event, its outbox and its token, together.
    let later = now + Duration::hours(2);
    let approved = DemandeRecord {
        state: "validated".into(),
        version: 2,
        updated_at: later,
        submitted_at: Some(now),
        decided_at: Some(later),
        ..d.clone()
    };
    let mut approval = change(&approved, "approve", &applicant);
    let issued = token();
    let jti = issued.jti;
    approval.token = Some(TokenChange::Issue(issued));
    assert!(b.store.commit_demande(&approval).await.unwrap());
    assert_eq!(b.store.demande(d.id).await.unwrap().unwrap(), approved);
    assert!(b.store.token(jti).await.unwrap().is_some());

    // A writer still at version 1 writes nothing at all.
    let stale = DemandeRecord {
        state: "refused".into(),
        version: 2,
        ..d.clone()
    };
    let mut late = change(&stale, "refuse", &applicant);
    late.token = Some(TokenChange::Revoke {
        jti,
        at: later,
        also: Vec::new(),
    });
    assert!(!b.store.commit_demande(&late).await.unwrap());
    assert_eq!(b.store.demande(d.id).await.unwrap().unwrap().state, "validated");
    assert_eq!(b.store.token(jti).await.unwrap().unwrap().revoked_at, None);
    let kinds: Vec<String> = b
        .store
        .demande_events(d.id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["create", "approve"]);
    assert_eq!(b.store.outbox("mail", 10).await.unwrap().len(), 2);

    // A reopening's approval changes the same token's scopes.
    let reopened = DemandeRecord {
        version: 3,
        ..approved.clone()
    };
    let mut update = change(&reopened, "approve", &applicant);
    let until = later + Duration::days(548);
    update.token = Some(TokenChange::Update {
        jti,
        scopes: vec!["cnaf_enfants".into()],
        expires_at: until,
        also: Vec::new(),
    });
    assert!(b.store.commit_demande(&update).await.unwrap());
    let kept = b.store.token(jti).await.unwrap().unwrap();
    assert_eq!(
        (kept.scopes, kept.expires_at),
        (vec!["cnaf_enfants".to_string()], until)
    );
}

pub async fn tokens_rotate_and_restrict_with_their_demande(b: Backend) {
    let now = at("2026-12-06T08:00:00Z");
    let applicant = [("camille@ville.example", "applicant")];
    let d = demande("21000000000019", 1, now);
    let mut approval = change(&d, "approve", &applicant);
    let first = token();
    approval.token = Some(TokenChange::Issue(first.clone()));
    assert!(b.store.commit_demande(&approval).await.unwrap());

    // Rotation: the new token and the old one's end, with the demande, or nothing.
    let overlap_end = now + Duration::days(7);
    let new = TokenRecord {
        jti: Uuid::new_v4(),
        ..first.clone()
    };
    let rotated = DemandeRecord {
        version: 2,
        ..d.clone()
    };
    let mut rotation = change(&rotated, "token", &applicant);
    rotation.token = Some(TokenChange::Rotate {
        new: new.clone(),
        old: first.jti,
        old_expires_at: overlap_end,
    });
    assert!(b.store.commit_demande(&rotation).await.unwrap());
    assert_eq!(b.store.token(new.jti).await.unwrap().unwrap(), new);
    assert_eq!(b.store.token(first.jti).await.unwrap().unwrap().expires_at, overlap_end);

    let mut stale = change(&rotated, "token", &applicant);
    stale.token = Some(TokenChange::Restrict {
        jti: new.jti,
        allowed_ips: vec!["192.0.2.0/24".into()],
        rate_limit_per_minute: Some(60),
    });
    assert!(
        !b.store.commit_demande(&stale).await.unwrap(),
        "a stale page writes nothing"
    );
    assert_eq!(b.store.token(new.jti).await.unwrap().unwrap(), new);

    let mut fresh = change(
        &DemandeRecord {
            version: 3,
            ..d.clone()
        },
        "token",
        &applicant,
    );
    fresh.token = stale.token.clone();
    assert!(b.store.commit_demande(&fresh).await.unwrap());
    let restricted = b.store.token(new.jti).await.unwrap().unwrap();
    assert_eq!(
        (restricted.allowed_ips, restricted.rate_limit_per_minute),
        (vec!["192.0.2.0/24".to_string()], Some(60))
    );
    let mut lifted = change(
        &DemandeRecord {
            version: 4,
            ..d.clone()
        },
        "token",
        &applicant,
    );
    lifted.token = Some(TokenChange::Restrict {
        jti: new.jti,
        allowed_ips: Vec::new(),
        rate_limit_per_minute: None,
    });
    assert!(b.store.commit_demande(&lifted).await.unwrap());
    let back = b.store.token(new.jti).await.unwrap().unwrap();
    assert_eq!((back.allowed_ips.len(), back.rate_limit_per_minute), (0, None));
}

pub async fn demandes_list_by_organisation_person_and_bouquet(b: Backend) {
    let now = at("2026-12-06T08:00:00Z");
    let mine = demande("21000000000019", 1, now);
    let other = demande("21000000000027", 1, now + Duration::minutes(1));
    let named = demande("21000000000035", 1, now + Duration::minutes(2));
    b.store
        .commit_demande(&change(&mine, "create", &[("camille@a.example", "applicant")]))
        .await
        .unwrap();
    b.store
        .commit_demande(&change(&other, "create", &[("lou@b.example", "applicant")]))
        .await
        .unwrap();
    let people = [
        ("sam@c.example", "applicant"),
        ("camille@a.example", "contact_technique"),
    ];
    b.store
        .commit_demande(&change(&named, "create", &people))
        .await
        .unwrap();

    let seen: Vec<Uuid> = b
        .store
        .demandes_of("21000000000019", "camille@a.example")
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(
        seen,
        [named.id, mine.id],
        "the organisation's, and those naming her, newest first"
    );
    let people = b.store.demande_people(named.id).await.unwrap();
    assert_eq!(people.len(), 2);

    assert!(
        b.store.demandes_in(PARTICULIER).await.unwrap().is_empty(),
        "drafts are not instructed"
    );
    let submitted = DemandeRecord {
        state: "submitted".into(),
        version: 2,
        submitted_at: Some(now + Duration::hours(1)),
        ..other.clone()
    };
    b.store
        .commit_demande(&change(&submitted, "submit", &[("lou@b.example", "applicant")]))
        .await
        .unwrap();
    let queue = b.store.demandes_in(PARTICULIER).await.unwrap();
    assert_eq!(queue.iter().map(|d| d.id).collect::<Vec<_>>(), [other.id]);
    assert!(b.store.demandes_in("entreprise").await.unwrap().is_empty());
}

pub async fn outbox_skips_duplicates_and_settles(b: Backend) {
    let now = at("2026-12-06T08:00:00Z");
    let notice = |to: &str| OutboxItem {
        dedup: Some(format!("expiry:15:{to}")),
        ..OutboxItem::new("mail", "{}".into(), now)
    };
    assert_eq!(
        b.store
            .enqueue(&[notice("a@x.example"), notice("b@x.example")])
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        b.store.enqueue(&[notice("a@x.example")]).await.unwrap(),
        0,
        "never twice"
    );
    let later = OutboxItem {
        next_at: now + Duration::minutes(5),
        ..OutboxItem::new("webhook", "{}".into(), now)
    };
    b.store.enqueue(std::slice::from_ref(&later)).await.unwrap();
    let due = b.store.due_outbox(now, 10).await.unwrap();
    assert_eq!(due.len(), 2);

    let mut sent = due[0].clone();
    sent.attempts = 1;
    sent.done_at = Some(now);
    b.store.settle_outbox(&sent).await.unwrap();
    let mut failed = due[1].clone();
    failed.attempts = 1;
    failed.next_at = now + Duration::minutes(1);
    failed.last_error = Some("421 try later".into());
    b.store.settle_outbox(&failed).await.unwrap();
    assert!(b.store.due_outbox(now, 10).await.unwrap().is_empty());
    let retried = b.store.due_outbox(now + Duration::minutes(10), 10).await.unwrap();
    assert_eq!(retried.iter().map(|i| i.id).collect::<Vec<_>>(), [failed.id, later.id]);
    assert_eq!(retried[0].last_error.as_deref(), Some("421 try later"));
    assert_eq!(b.store.outbox("webhook", 10).await.unwrap(), vec![later]);
}

pub async fn outbox_items_are_claimed_once(b: Backend) {
    // A time with microseconds, as the dispatcher's `Utc::now()` has.
    let now = at("2026-12-06T08:00:00.123456Z");
    let items = [
        OutboxItem::new("mail", "{}".into(), now),
        OutboxItem::new("mail", "{}".into(), now),
        OutboxItem::new("webhook", "{}".into(), now),
    ];
    assert_eq!(b.store.enqueue(&items).await.unwrap(), 3);
    let due = b.store.due_outbox(now, 10).await.unwrap();
    assert_eq!(due.len(), 3);
    let until = now + Duration::minutes(15);

    // Two dispatchers read the same item: one claim holds.
    let (first, second) = (&due[0], due[0].clone());
    let (one, two) = tokio::join!(b.store.claim_outbox(first, until), b.store.claim_outbox(&second, until));
    let mut outcomes = [one.unwrap(), two.unwrap()];
    outcomes.sort();
    assert_eq!(outcomes, [false, true], "one claim of two");
    assert!(!b.store.claim_outbox(first, until).await.unwrap(), "not again");
    let due_now = b.store.due_outbox(now, 10).await.unwrap();
    assert!(due_now.iter().all(|i| i.id != first.id), "claimed: not due");
    let after = b.store.due_outbox(until, 10).await.unwrap();
    let claimed = after.iter().find(|i| i.id == first.id).unwrap();
    assert_eq!(claimed.next_at, until);
    assert!(
        b.store
            .claim_outbox(claimed, until + Duration::minutes(15))
            .await
            .unwrap(),
        "claimable again, as read after the lease"
    );

    // Done and dead items are not claimed, even as read before they were settled.
    let mut done = due[1].clone();
    done.attempts = 1;
    done.done_at = Some(now);
    b.store.settle_outbox(&done).await.unwrap();
    assert!(!b.store.claim_outbox(&due[1], until).await.unwrap(), "done");
    let mut dead = due[2].clone();
    dead.attempts = 1;
    dead.dead_at = Some(now);
    dead.last_error = Some("refused".into());
    b.store.settle_outbox(&dead).await.unwrap();
    assert!(!b.store.claim_outbox(&due[2], until).await.unwrap(), "dead");
    assert!(!b.store.claim_outbox(&dead, until).await.unwrap(), "dead, as settled");
    let mails = b.store.outbox("mail", 10).await.unwrap();
    let done_now = mails.iter().find(|i| i.id == done.id).unwrap();
    assert_eq!(done_now.next_at, now, "untouched");
}

pub async fn token_links_open_once_and_in_time(b: Backend) {
    let now = at("2026-12-06T08:00:00Z");
    let link = passerelle_store::TokenLink {
        code_hash: "ab".repeat(32),
        demande_id: Uuid::new_v4(),
        jti: Uuid::new_v4(),
        recipient: "dev@editeur.example".into(),
        created_at: now,
        expires_at: now + Duration::hours(4),
    };
    b.store.put_token_link(&link).await.unwrap();
    let late = passerelle_store::TokenLink {
        code_hash: "cd".repeat(32),
        ..link.clone()
    };
    b.store.put_token_link(&late).await.unwrap();
    assert_eq!(b.store.open_token_link(&"ef".repeat(32), now).await.unwrap(), None);
    assert_eq!(
        b.store
            .open_token_link(&late.code_hash, now + Duration::hours(4))
            .await
            .unwrap(),
        None,
        "its end is excluded"
    );
    let (first, second) = tokio::join!(
        b.store.open_token_link(&link.code_hash, now + Duration::hours(1)),
        b.store.open_token_link(&link.code_hash, now + Duration::hours(1)),
    );
    let opened: Vec<_> = [first.unwrap(), second.unwrap()].into_iter().flatten().collect();
    assert_eq!(opened, std::slice::from_ref(&link), "one opening gets it");
    assert_eq!(
        b.store
            .open_token_link(&link.code_hash, now + Duration::hours(2))
            .await
            .unwrap(),
        None
    );
}

pub async fn expired_web_sessions_are_purged(b: Backend) {
    let now = at("2026-12-06T08:00:00.250001Z");
    let session = |id: &str, expires_at| WebSession {
        id_hash: id.into(),
        body: "{}".into(),
        expires_at,
    };
    let sessions = [
        session("long-gone", now - Duration::days(3)),
        session("just-gone", now - Duration::microseconds(1)),
        session("at-now", now),
        session("live", now + Duration::microseconds(1)),
        session("tomorrow", now + Duration::days(1)),
    ];
    for s in &sessions {
        b.store.put_session(s).await.unwrap();
    }
    assert_eq!(b.store.purge_sessions(now).await.unwrap(), 3);
    assert_eq!(b.store.purge_sessions(now).await.unwrap(), 0, "nothing left to purge");
    let before = now - Duration::days(7);
    for s in &sessions {
        let kept = b.store.session(&s.id_hash, before).await.unwrap();
        assert_eq!(kept.is_some(), s.expires_at > now, "{}", s.id_hash);
    }
    assert_eq!(b.store.session("live", now).await.unwrap(), Some(sessions[3].clone()));
    assert_eq!(b.store.purge_sessions(now + Duration::days(2)).await.unwrap(), 2);
    assert_eq!(b.store.session("tomorrow", before).await.unwrap(), None);
}

pub async fn web_sessions_expire_and_drop(b: Backend) {
    let now = at("2026-12-06T08:00:00Z");
    let session = WebSession {
        id_hash: "abc".into(),
        body: r#"{"email":"camille@ville.example"}"#.into(),
        expires_at: now + Duration::hours(8),
    };
    b.store.put_session(&session).await.unwrap();
    assert_eq!(b.store.session("abc", now).await.unwrap(), Some(session.clone()));
    assert_eq!(b.store.session("abc", now + Duration::hours(9)).await.unwrap(), None);
    let renewed = WebSession {
        expires_at: now + Duration::hours(10),
        ..session
    };
    b.store.put_session(&renewed).await.unwrap();
    assert!(b
        .store
        .session("abc", now + Duration::hours(9))
        .await
        .unwrap()
        .is_some());
    b.store.drop_session("abc").await.unwrap();
    assert_eq!(b.store.session("abc", now).await.unwrap(), None);
}

fn delivery(key: &str, model_id: i64, event: &str, fired_at: i64) -> passerelle_store::DataPassDelivery {
    passerelle_store::DataPassDelivery {
        key: format!("{key:0>64}"),
        bouquet: PARTICULIER.into(),
        model_id,
        event: event.into(),
        fired_at,
        received_at: at("2026-12-06T08:00:00Z"),
        token_id: None,
    }
}

/// `d` at its next version, in `state`.
fn next(d: &DemandeRecord, state: &str) -> DemandeRecord {
    DemandeRecord {
        state: state.into(),
        version: d.version + 1,
        ..d.clone()
    }
}

async fn history(b: &Backend, id: Uuid) -> Vec<String> {
    let events = b.store.demande_events(id).await.unwrap();
    events.into_iter().map(|e| e.kind).collect()
}

pub async fn datapass_deliveries_apply_once_and_in_order(b: Backend) {
    use passerelle_store::{DataPassDelivery, DeliveryAnswer, DeliveryOutcome};
    let people = [("camille@ville.example", "applicant")];
    let created = demande("21000000000019", 1, at("2026-12-06T08:00:00Z"));
    let submit = delivery("a", 7, "submit", 100);
    let outcome = b
        .store
        .apply_datapass(&submit, &change(&created, "submit", &people))
        .await;
    assert_eq!(outcome.unwrap(), DeliveryOutcome::Applied);
    assert_eq!(
        b.store.datapass_demande(PARTICULIER, 7).await.unwrap(),
        Some(created.id)
    );
    assert_eq!(b.store.datapass_demande("entreprise", 7).await.unwrap(), None);

    // A copy writes nothing, whatever change comes with it.
    let validated = next(&created, "validated");
    let copy = b
        .store
        .apply_datapass(&submit, &change(&validated, "submit", &people))
        .await;
    assert_eq!(copy.unwrap(), DeliveryOutcome::Duplicate(DeliveryAnswer::default()));
    assert_eq!(b.store.demande(created.id).await.unwrap().unwrap().version, 1);

    let issued = token();
    let approve = DataPassDelivery {
        token_id: Some(issued.jti.to_string()),
        ..delivery("b", 7, "approve", 200)
    };
    let mut approval = change(&validated, "approve", &people);
    approval.token = Some(TokenChange::Issue(issued.clone()));
    assert_eq!(
        b.store.apply_datapass(&approve, &approval).await.unwrap(),
        DeliveryOutcome::Applied
    );
    assert!(b.store.token(issued.jti).await.unwrap().is_some());
    // Its replay gets the first answer: the same token, no second one.
    let mut replay = change(&next(&validated, "validated"), "approve", &people);
    replay.token = Some(TokenChange::Issue(token()));
    let first = DeliveryAnswer {
        token_id: Some(issued.jti.to_string()),
        stale: false,
    };
    assert_eq!(
        b.store.apply_datapass(&approve, &replay).await.unwrap(),
        DeliveryOutcome::Duplicate(first)
    );
    assert_eq!(b.store.tokens().await.unwrap().len(), 1);

    // An older event arriving late is kept as stale and writes nothing; so say its copies.
    let late = delivery("c", 7, "submit", 150);
    let rolled_back = change(&next(&validated, "submitted"), "submit", &people);
    assert_eq!(
        b.store.apply_datapass(&late, &rolled_back).await.unwrap(),
        DeliveryOutcome::Stale
    );
    assert_eq!(b.store.demande(created.id).await.unwrap().unwrap().state, "validated");
    assert_eq!(history(&b, created.id).await, ["submit", "approve"]);
    let stale = DeliveryAnswer {
        token_id: None,
        stale: true,
    };
    assert_eq!(
        b.store.apply_datapass(&late, &rolled_back).await.unwrap(),
        DeliveryOutcome::Duplicate(stale)
    );

    // The same second as the newest is not stale.
    let same = delivery("d", 7, "transfer", 200);
    let moved = change(&next(&validated, "validated"), "transfer", &people);
    assert_eq!(
        b.store.apply_datapass(&same, &moved).await.unwrap(),
        DeliveryOutcome::Applied
    );
    assert_eq!(history(&b, created.id).await, ["submit", "approve", "transfer"]);
}

pub async fn datapass_failures_and_conflicts_write_nothing(b: Backend) {
    use passerelle_store::{DataPassDelivery, DeliveryOutcome};
    let people = [("camille@ville.example", "applicant")];
    let created = demande("21000000000019", 1, at("2026-12-06T08:00:00Z"));
    let taken = token();
    b.store.insert_token(&taken).await.unwrap();
    let approve = DataPassDelivery {
        token_id: Some(taken.jti.to_string()),
        ..delivery("e", 8, "approve", 100)
    };
    // A failure (here, a token id already taken) leaves neither key, link nor demande.
    let mut failing = change(&created, "approve", &people);
    failing.token = Some(TokenChange::Issue(taken.clone()));
    assert!(b.store.apply_datapass(&approve, &failing).await.is_err());
    assert_eq!(b.store.datapass_demande(PARTICULIER, 8).await.unwrap(), None);
    assert_eq!(b.store.demande(created.id).await.unwrap(), None);

    // A change built on a version the demande is not at conflicts, writing nothing.
    let ahead = change(&next(&created, "validated"), "approve", &people);
    assert_eq!(
        b.store.apply_datapass(&approve, &ahead).await.unwrap(),
        DeliveryOutcome::Conflict
    );
    assert_eq!(b.store.datapass_demande(PARTICULIER, 8).await.unwrap(), None);

    // The key is still free: the retry applies.
    let mut fixed = change(&created, "approve", &people);
    let issued = token();
    fixed.token = Some(TokenChange::Issue(issued.clone()));
    assert_eq!(
        b.store.apply_datapass(&approve, &fixed).await.unwrap(),
        DeliveryOutcome::Applied
    );

    // A model linked to a demande conflicts with a change of another one.
    let other = demande("21000000000019", 1, at("2026-12-06T09:00:00Z"));
    let update = delivery("f", 8, "update", 300);
    let elsewhere = change(&other, "update", &people);
    assert_eq!(
        b.store.apply_datapass(&update, &elsewhere).await.unwrap(),
        DeliveryOutcome::Conflict
    );
    assert_eq!(b.store.demande(other.id).await.unwrap(), None);
    assert_eq!(
        b.store.datapass_demande(PARTICULIER, 8).await.unwrap(),
        Some(created.id)
    );
    let here = change(&next(&created, "validated"), "update", &people);
    assert_eq!(
        b.store.apply_datapass(&update, &here).await.unwrap(),
        DeliveryOutcome::Applied
    );
}

pub async fn datapass_concurrent_copies_apply_once(b: Backend) {
    use passerelle_store::{DeliveryAnswer, DeliveryOutcome};
    let people = [("camille@ville.example", "applicant")];
    let created = demande("21000000000019", 1, at("2026-12-06T08:00:00Z"));
    let apply_all = |deliveries: Vec<(passerelle_store::DataPassDelivery, DemandeChange)>| {
        let racers: Vec<_> = deliveries
            .into_iter()
            .map(|(d, c)| {
                let store = b.store.clone();
                tokio::spawn(async move { store.apply_datapass(&d, &c).await.unwrap() })
            })
            .collect();
        async move {
            let mut outcomes = Vec::new();
            for r in racers {
                outcomes.push(r.await.unwrap());
            }
            outcomes
        }
    };
    let copies = (0..8).map(|_| (delivery("g", 9, "create", 100), change(&created, "create", &people)));
    let outcomes = apply_all(copies.collect()).await;
    let applied = outcomes.iter().filter(|o| **o == DeliveryOutcome::Applied).count();
    let copied = outcomes
        .iter()
        .filter(|o| **o == DeliveryOutcome::Duplicate(DeliveryAnswer::default()))
        .count();
    assert_eq!((applied, copied), (1, 7));

    // Events of one model racing: one applies, the others conflict or are stale.
    let updated = next(&created, "draft");
    let events = (0..8).map(|i| {
        let key = format!("h{i}");
        (
            delivery(&key, 9, "update", 200 + i),
            change(&updated, "update", &people),
        )
    });
    let outcomes = apply_all(events.collect()).await;
    let applied = outcomes.iter().filter(|o| **o == DeliveryOutcome::Applied).count();
    assert_eq!(applied, 1, "{outcomes:?}");
    assert!(outcomes.iter().all(|o| matches!(
        o,
        DeliveryOutcome::Applied | DeliveryOutcome::Conflict | DeliveryOutcome::Stale
    )));
    assert_eq!(history(&b, created.id).await, ["create", "update"]);
}

// The status page's store (its own file).
include!("status.rs");
// The usage rollups (their own file).
include!("usage.rs");
// The back-office (its own file).
include!("operator.rs");
// Delegations to editors (their own file).
include!("delegations.rs");
// The audit notices (their own file).
include!("audit.rs");
// The portal's alerts (their own file).
include!("alerts.rs");
