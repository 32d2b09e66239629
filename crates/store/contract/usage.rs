// Contract tests of UsageStore.

pub use usage_contract::*;

mod usage_contract {
    use std::collections::BTreeMap;

    use chrono::{DateTime, Duration, Utc};
    use passerelle_store::{
        CallerId, Grouping, Histogram, JournalRow, Period, RollupStep, TimeRange, UsageCounts, UsageLine, PARTICULIER,
    };
    use uuid::Uuid;

    use super::{at, chained, recipient, Backend, GENESIS};

    /// Far enough ahead that every row is old enough.
    fn later() -> DateTime<Utc> {
        at("2100-01-01T00:00:00Z")
    }

    fn call(when: DateTime<Utc>, bouquet: &str, jti: Option<Uuid>, endpoint: &str, status: u16, ms: f64) -> JournalRow {
        JournalRow {
            request_id: Uuid::new_v4().to_string(),
            at: when,
            bouquet: bouquet.into(),
            caller: jti.map(CallerId::Token),
            purpose: recipient(),
            endpoint: endpoint.into(),
            status,
            duration_ms: ms,
            params_hash: None,
            cached: false,
            body_sha256: None,
            subject: None,
        }
    }

    /// Appends `rows` to a new writer's chain, in order.
    async fn append(b: &Backend, rows: Vec<JournalRow>) {
        b.store
            .append_journal(&chained(Uuid::new_v4(), 1, GENESIS, rows), None)
            .await
            .unwrap();
    }

    /// What the rollups must say of `rows`.
    fn expected<'a>(rows: impl IntoIterator<Item = &'a JournalRow>) -> UsageCounts {
        let mut c = UsageCounts::default();
        for r in rows {
            c.calls += 1;
            c.ok += u64::from((200..300).contains(&r.status));
            c.client_errors += u64::from((400..500).contains(&r.status));
            c.server_errors += u64::from(r.status >= 500);
            c.throttled += u64::from(r.status == 429);
            c.refused += u64::from(r.status == 401 || r.status == 403);
            c.total_ms += r.duration_ms;
            c.latency.record(r.duration_ms);
        }
        c
    }

    /// Counts equal, durations' sums within rounding.
    fn same(got: &UsageCounts, want: &UsageCounts) {
        let (mut g, mut w) = (*got, *want);
        assert!((g.total_ms - w.total_ms).abs() < 1e-6, "{g:?} vs {w:?}");
        (g.total_ms, w.total_ms) = (0.0, 0.0);
        assert_eq!(g, w);
    }

    fn everything() -> Grouping {
        Grouping {
            period: None,
            endpoint: false,
        }
    }

    async fn bouquet_total(b: &Backend, bouquet: &str) -> UsageCounts {
        let lines = b
            .store
            .bouquet_usage(bouquet, TimeRange::default(), everything())
            .await
            .unwrap();
        lines.first().map(|l| l.counts).unwrap_or_default()
    }

    /// Rolls up until nothing is left; the rows counted.
    async fn roll_up_all(b: &Backend, cutoff: DateTime<Utc>, limit: u32) -> u64 {
        let mut counted = 0;
        loop {
            match b.store.roll_up_usage(cutoff, limit).await.unwrap() {
                RollupStep::Counted { rows, .. } => counted += rows,
                RollupStep::Idle => return counted,
                RollupStep::Lost => panic!("no other runner here"),
            }
        }
    }

    /// A mix of bouquets, tokens, citizens, endpoints, statuses and latencies.
    fn mixed(start: DateTime<Utc>, tokens: &[Uuid], n: usize) -> Vec<JournalRow> {
        const STATUSES: [u16; 7] = [200, 200, 206, 401, 403, 429, 502];
        (0..n)
            .map(|i| {
                let mut row = call(
                    start + Duration::minutes(i as i64 * 7),
                    if i % 5 == 0 { "entreprise" } else { PARTICULIER },
                    (i % 4 != 3).then(|| tokens[i % tokens.len()]),
                    ["/v3/a", "/v3/b", "unknown"][i % 3],
                    STATUSES[i % STATUSES.len()],
                    (i as f64 * 37.5) % 12_000.0,
                );
                if i % 8 == 7 {
                    row.caller = Some(CallerId::Citizen(format!("{i:064x}")));
                }
                row
            })
            .collect()
    }

    pub async fn usage_rows_roll_up_once(b: Backend) {
        let tokens = [Uuid::new_v4(), Uuid::new_v4()];
        let rows = mixed(at("2026-05-01T08:00:00Z"), &tokens, 120);
        append(&b, rows.clone()).await;
        assert_eq!(b.store.usage_watermark().await.unwrap().last_id, 0);

        let step = b.store.roll_up_usage(later(), 1_000).await.unwrap();
        let RollupStep::Counted { rows: counted, last_id } = step else {
            panic!("{step:?}")
        };
        assert_eq!(counted, 120);
        let mark = b.store.usage_watermark().await.unwrap();
        assert_eq!((mark.last_id, mark.counted), (last_id, 120));
        assert!(mark.moved_at.is_some());
        // A second run counts nothing again.
        assert_eq!(b.store.roll_up_usage(later(), 1_000).await.unwrap(), RollupStep::Idle);
        assert_eq!(b.store.usage_watermark().await.unwrap().counted, 120);

        for bouquet in [PARTICULIER, "entreprise"] {
            let want = expected(rows.iter().filter(|r| r.bouquet == bouquet));
            same(&bouquet_total(&b, bouquet).await, &want);
        }
        for jti in tokens {
            let got = b
                .store
                .token_usage(jti, TimeRange::default(), everything())
                .await
                .unwrap();
            let want = expected(rows.iter().filter(|r| r.caller == Some(CallerId::Token(jti))));
            same(&got[0].counts, &want);
        }
        // Rows added afterwards are counted by the next run, and only they.
        let more = mixed(at("2026-05-02T08:00:00Z"), &tokens, 30);
        append(&b, more.clone()).await;
        assert_eq!(roll_up_all(&b, later(), 1_000).await, 30);
        let want = expected(rows.iter().chain(&more).filter(|r| r.bouquet == PARTICULIER));
        same(&bouquet_total(&b, PARTICULIER).await, &want);
    }

    pub async fn usage_rollup_steps_are_bounded(b: Backend) {
        let rows = mixed(at("2026-05-01T08:00:00Z"), &[Uuid::new_v4()], 20);
        append(&b, rows.clone()).await;
        let mut steps = Vec::new();
        while let RollupStep::Counted { rows, .. } = b.store.roll_up_usage(later(), 7).await.unwrap() {
            steps.push(rows);
        }
        assert_eq!(steps, [7, 7, 6]);
        let total = bouquet_total(&b, PARTICULIER).await.calls + bouquet_total(&b, "entreprise").await.calls;
        assert_eq!(total, 20);
    }

    pub async fn usage_rollup_waits_for_the_lag(b: Backend) {
        let cutoff = at("2026-05-01T12:00:00Z");
        let old = cutoff - Duration::seconds(40);
        let young = cutoff + Duration::seconds(1);
        let jti = Some(Uuid::new_v4());
        // In id order: two old rows, a young one, then an old one (a replica whose
        // clock is behind): the step stops at the young row, never skipping it.
        let rows: Vec<_> = [old, old, young, old]
            .into_iter()
            .map(|when| call(when, PARTICULIER, jti, "/v3/a", 200, 3.0))
            .collect();
        append(&b, rows).await;
        assert!(matches!(
            b.store.roll_up_usage(cutoff, 100).await.unwrap(),
            RollupStep::Counted { rows: 2, .. }
        ));
        assert_eq!(b.store.roll_up_usage(cutoff, 100).await.unwrap(), RollupStep::Idle);
        assert_eq!(bouquet_total(&b, PARTICULIER).await.calls, 2);
        // Once the young row is old enough, it and the row after it are counted.
        assert_eq!(roll_up_all(&b, young + Duration::seconds(1), 100).await, 2);
        assert_eq!(bouquet_total(&b, PARTICULIER).await.calls, 4);
        assert_eq!(b.store.usage_watermark().await.unwrap().counted, 4);
    }

    pub async fn concurrent_usage_rollups_count_each_row_once(b: Backend) {
        let tokens: Vec<_> = (0..3).map(|_| Uuid::new_v4()).collect();
        let start = at("2026-05-01T08:00:00Z");
        let batches: Vec<_> = (0..10)
            .map(|i| mixed(start + Duration::hours(i), &tokens, 40))
            .collect();
        let all: Vec<_> = batches.iter().flatten().cloned().collect();
        // Four runners on the same store while a writer appends.
        let writer = {
            let store = b.store.clone();
            let batches = batches.clone();
            tokio::spawn(async move {
                for rows in batches {
                    let chained = chained(Uuid::new_v4(), 1, GENESIS, rows);
                    store.append_journal(&chained, None).await.unwrap();
                    tokio::task::yield_now().await;
                }
            })
        };
        let runners: Vec<_> = (0..4)
            .map(|_| {
                let store = b.store.clone();
                tokio::spawn(async move {
                    let mut counted = 0u64;
                    // Until every row is counted (by any runner), within a bound.
                    for _ in 0..20_000 {
                        if store.usage_watermark().await.unwrap().counted >= 400 {
                            break;
                        }
                        match store.roll_up_usage(later(), 16).await.unwrap() {
                            RollupStep::Counted { rows, .. } => counted += rows,
                            RollupStep::Lost | RollupStep::Idle => tokio::task::yield_now().await,
                        }
                    }
                    counted
                })
            })
            .collect();
        writer.await.unwrap();
        let mut counted = 0;
        for runner in runners {
            counted += runner.await.unwrap();
        }
        assert_eq!(counted, 400, "each row counted by exactly one runner");
        assert_eq!(b.store.roll_up_usage(later(), 16).await.unwrap(), RollupStep::Idle);
        assert_eq!(b.store.usage_watermark().await.unwrap().counted, 400);
        let totals = bouquet_total(&b, PARTICULIER).await.calls + bouquet_total(&b, "entreprise").await.calls;
        assert_eq!(totals, 400);
        for jti in &tokens {
            let got = b
                .store
                .token_usage(*jti, TimeRange::default(), everything())
                .await
                .unwrap();
            let want = expected(all.iter().filter(|r| r.caller == Some(CallerId::Token(*jti))));
            same(&got[0].counts, &want);
        }
    }

    fn keyed(lines: Vec<UsageLine>) -> BTreeMap<(Option<DateTime<Utc>>, Option<String>), UsageCounts> {
        lines.into_iter().map(|l| ((l.period, l.endpoint), l.counts)).collect()
    }

    pub async fn usage_queries_by_range_period_and_endpoint(b: Backend) {
        let (mine, theirs) = (Uuid::new_v4(), Uuid::new_v4());
        let rows = vec![
            call(
                at("2026-03-31T23:59:59.999999Z"),
                PARTICULIER,
                Some(mine),
                "/v3/a",
                200,
                4.0,
            ),
            call(at("2026-04-01T00:00:00Z"), PARTICULIER, Some(mine), "/v3/a", 200, 30.0),
            call(at("2026-04-01T00:30:00Z"), PARTICULIER, Some(mine), "/v3/b", 429, 1.0),
            call(at("2026-04-01T01:10:00Z"), PARTICULIER, Some(mine), "/v3/b", 403, 2.0),
            call(
                at("2026-04-15T10:00:00Z"),
                PARTICULIER,
                Some(theirs),
                "/v3/a",
                502,
                9_000.0,
            ),
            call(at("2026-05-02T10:00:00Z"), PARTICULIER, None, "unknown", 404, 0.5),
            call(at("2026-04-01T00:00:00Z"), "entreprise", None, "/v3/a", 200, 7.0),
        ];
        append(&b, rows.clone()).await;
        roll_up_all(&b, later(), 1_000).await;
        let by = |period, endpoint| Grouping { period, endpoint };
        let april = TimeRange {
            since: Some(at("2026-04-01T00:00:00Z")),
            until: Some(at("2026-05-01T00:00:00Z")),
        };

        // By month and endpoint, for the bouquet; the other bouquet is not there.
        let months = b
            .store
            .bouquet_usage(PARTICULIER, TimeRange::default(), by(Some(Period::Month), true));
        let months = keyed(months.await.unwrap());
        let month = |m: &str, e: &str| (Some(at(m)), Some(e.to_string()));
        let want = |idx: &[usize]| expected(idx.iter().map(|i| &rows[*i]));
        assert_eq!(months.len(), 4, "{months:?}");
        same(&months[&month("2026-03-01T00:00:00Z", "/v3/a")], &want(&[0]));
        same(&months[&month("2026-04-01T00:00:00Z", "/v3/a")], &want(&[1, 4]));
        same(&months[&month("2026-04-01T00:00:00Z", "/v3/b")], &want(&[2, 3]));
        same(&months[&month("2026-05-01T00:00:00Z", "unknown")], &want(&[5]));

        // Over a range, by endpoint: days whose start is in the range.
        let april_lines = b.store.bouquet_usage(PARTICULIER, april, by(None, true)).await.unwrap();
        let endpoints = keyed(april_lines);
        assert_eq!(endpoints.len(), 2);
        same(&endpoints[&(None, Some("/v3/a".into()))], &want(&[1, 4]));
        same(&endpoints[&(None, Some("/v3/b".into()))], &want(&[2, 3]));
        let days = b
            .store
            .bouquet_usage(PARTICULIER, april, by(Some(Period::Day), false))
            .await
            .unwrap();
        let days: Vec<_> = days.iter().map(|l| (l.period.unwrap(), l.counts.calls)).collect();
        assert_eq!(days, [(at("2026-04-01T00:00:00Z"), 3), (at("2026-04-15T00:00:00Z"), 1)]);
        // Hours read as days on the daily rollup.
        let as_days = b
            .store
            .bouquet_usage(PARTICULIER, april, by(Some(Period::Hour), false))
            .await
            .unwrap();
        assert_eq!(as_days.len(), 2);

        // One token's usage: its rows only, by hour, by endpoint, over a range.
        let hours = b
            .store
            .token_usage(mine, april, by(Some(Period::Hour), false))
            .await
            .unwrap();
        let hours: Vec<_> = hours.iter().map(|l| (l.period.unwrap(), l.counts.calls)).collect();
        assert_eq!(
            hours,
            [(at("2026-04-01T00:00:00Z"), 2), (at("2026-04-01T01:00:00Z"), 1)]
        );
        let per_endpoint = keyed(b.store.token_usage(mine, april, by(None, true)).await.unwrap());
        let b_calls = per_endpoint[&(None, Some("/v3/b".into()))];
        assert_eq!(
            (b_calls.calls, b_calls.throttled, b_calls.refused, b_calls.ok),
            (2, 1, 1, 0)
        );
        same(&per_endpoint[&(None, Some("/v3/a".into()))], &want(&[1]));
        let mut latency = Histogram::default();
        latency.record(30.0);
        assert_eq!(per_endpoint[&(None, Some("/v3/a".into()))].latency, latency);
        let whole = b
            .store
            .token_usage(mine, TimeRange::default(), everything())
            .await
            .unwrap();
        same(&whole[0].counts, &want(&[0, 1, 2, 3]));
        let days = b
            .store
            .token_usage(mine, TimeRange::default(), by(Some(Period::Day), false));
        assert_eq!(days.await.unwrap().len(), 2);
        // No rows: no lines, or one empty line for the whole range.
        let none = b
            .store
            .token_usage(Uuid::new_v4(), april, by(None, true))
            .await
            .unwrap();
        assert!(none.is_empty());
        let empty = b.store.token_usage(Uuid::new_v4(), april, everything()).await.unwrap();
        assert_eq!(empty.iter().map(|l| l.counts.calls).sum::<u64>(), 0);
    }
}
