//! The statements of the usage rollups, for either backend: the step that counts
//! journal rows after the watermark, and the queries of both rollups.
//!
//! The backends disagree on one thing here, how to cut a time to its hour, day or
//! month (PostgreSQL's `date_trunc` on `timestamptz`; SQLite's RFC 3339 text cut and
//! padded, which keeps the text order of times), told by the database's name.

use chrono::{DateTime, Utc};
use sqlx::{Database, FromRow};
use uuid::Uuid;

use super::{Dialect, Select, Statement, Value};
use crate::{
    Grouping, Histogram, Period, TimeRange, UsageCounts, UsageLine, UsageWatermark, LATENCY_BOUNDS_MS, LATENCY_BUCKETS,
};

/// The watermark's row: one for the journal's rollups.
const WATERMARK: &str = "journal";

/// The `jti` of the calls no token made (citizens, calls refused before a token was
/// checked): a key column cannot be NULL and still conflict.
pub const NO_TOKEN: Uuid = Uuid::nil();

fn postgres<D: Dialect>() -> bool {
    <D::Db as Database>::NAME == "PostgreSQL"
}

/// `column` (a time) cut to the start of its `period`, in UTC.
fn truncated<D: Dialect>(column: &str, period: Period) -> String {
    let (unit, keep, pad) = match period {
        Period::Hour => ("hour", 13, ":00:00.000000Z"),
        Period::Day => ("day", 10, "T00:00:00.000000Z"),
        Period::Month => ("month", 7, "-01T00:00:00.000000Z"),
    };
    if postgres::<D>() {
        format!("(date_trunc('{unit}', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')")
    } else {
        format!("(substr({column}, 1, {keep}) || '{pad}')")
    }
}

/// `SUM(…) AS h0, …`: the calls of each latency bucket, from journal rows.
fn bucket_sums() -> String {
    (0..LATENCY_BUCKETS)
        .map(|i| {
            let above = i
                .checked_sub(1)
                .map(|j| format!("duration_ms >= {}", LATENCY_BOUNDS_MS[j]));
            let below = LATENCY_BOUNDS_MS.get(i).map(|b| format!("duration_ms < {b}"));
            let test = [above, below].into_iter().flatten().collect::<Vec<_>>().join(" AND ");
            format!("SUM(CASE WHEN {test} THEN 1 ELSE 0 END)")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn bucket_columns() -> String {
    (0..LATENCY_BUCKETS)
        .map(|i| format!("h{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `calls = t.calls + excluded.calls, …` for every counting column of `table`.
fn added(table: &str) -> String {
    ["calls".to_string(), "total_ms".to_string()]
        .into_iter()
        .chain((0..LATENCY_BUCKETS).map(|i| format!("h{i}")))
        .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn usage_watermark<'a, D: Dialect>() -> Select<'a, D, (i64, i64, Option<DateTime<Utc>>), UsageWatermark> {
    let text = [
        "SELECT last_id, counted, moved_at FROM usage_watermark WHERE name = ",
        "",
    ];
    Statement::with(&text, vec![Value::Text(Some(WATERMARK))]).select(|(last_id, counted, moved_at)| {
        Ok(UsageWatermark {
            last_id,
            counted,
            moved_at,
        })
    })
}

/// The last id of a step and its rows, as read.
type BoundColumns = (Option<i64>, i64);

/// The end of the next step after journal id `after`: the highest id of the first
/// `limit` rows, stopping before the first row at or after `cutoff` (`None`: nothing
/// to count); and how many rows that is.
pub fn rollup_bound<'a, D: Dialect>(
    after: i64,
    cutoff: DateTime<Utc>,
    limit: u32,
) -> Select<'a, D, BoundColumns, (Option<i64>, u64)> {
    let text = [
        "WITH batch AS (SELECT id, at FROM journal WHERE id > ",
        " ORDER BY id LIMIT ",
        ") SELECT MAX(id), COUNT(*) FROM batch WHERE id < COALESCE((SELECT MIN(id) FROM batch WHERE at >= ",
        "), ",
        ")",
    ];
    let values = vec![
        Value::BigInt(after),
        Value::BigInt(limit.into()),
        Value::Time(Some(cutoff)),
        Value::BigInt(i64::MAX),
    ];
    Statement::with(&text, values).select(|(last, rows): BoundColumns| Ok((last, u64::try_from(rows)?)))
}

/// The statements of one step over journal ids `after < id <= last`, the
/// watermark's conditional move first (see `guarded_transaction`).
pub fn roll_up<'a, D: Dialect>(after: i64, last: i64, rows: u64, now: DateTime<Utc>) -> Vec<Statement<'a, D>> {
    vec![
        advance_watermark(after, last, rows, now),
        add_hourly(after, last),
        add_daily(after, last),
    ]
}

/// Moves the watermark from `after` to `last`, if it is still at `after`: one row
/// changed, or none when another runner moved it first. On PostgreSQL a concurrent
/// runner waits on the row's lock, then finds it moved.
fn advance_watermark<'a, D: Dialect>(after: i64, last: i64, rows: u64, now: DateTime<Utc>) -> Statement<'a, D> {
    let text = [
        "UPDATE usage_watermark SET last_id = ",
        ", counted = counted + ",
        ", moved_at = ",
        " WHERE name = ",
        " AND last_id = ",
        "",
    ];
    let values = vec![
        Value::BigInt(last),
        Value::BigInt(i64::try_from(rows).unwrap_or(i64::MAX)),
        Value::Time(Some(now)),
        Value::Text(Some(WATERMARK)),
        Value::BigInt(after),
    ];
    Statement::with(&text, values)
}

/// `INSERT INTO table (keys, counts) SELECT … FROM journal rows (after, last] GROUP BY
/// keys`, adding to the rows already there.
fn add_rows<'a, D: Dialect>(table: &str, keys: &[(&str, String)], after: i64, last: i64) -> Statement<'a, D> {
    let names = keys.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", ");
    let exprs = keys
        .iter()
        .map(|(_, expr)| expr.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let positions = (1..=keys.len()).map(|i| i.to_string()).collect::<Vec<_>>().join(", ");
    let head = format!(
        "INSERT INTO {table} ({names}, calls, total_ms, {buckets}) SELECT {exprs}, COUNT(*), SUM(duration_ms), {sums} \
         FROM journal WHERE id > ",
        buckets = bucket_columns(),
        sums = bucket_sums(),
    );
    let tail = format!(
        " GROUP BY {positions} ON CONFLICT ({names}) DO UPDATE SET {}",
        added(table)
    );
    Statement::with(
        &[head.as_str(), " AND id <= ", tail.as_str()],
        vec![Value::BigInt(after), Value::BigInt(last)],
    )
}

fn add_hourly<'a, D: Dialect>(after: i64, last: i64) -> Statement<'a, D> {
    let keys = [
        ("jti", format!("COALESCE(jti, '{NO_TOKEN}')")),
        ("hour", truncated::<D>("at", Period::Hour)),
        ("bouquet", "bouquet".into()),
        ("endpoint", "endpoint".into()),
        ("status", "status".into()),
    ];
    add_rows("usage_hourly", &keys, after, last)
}

fn add_daily<'a, D: Dialect>(after: i64, last: i64) -> Statement<'a, D> {
    let keys = [
        ("bouquet", "bouquet".into()),
        ("day", truncated::<D>("at", Period::Day)),
        ("endpoint", "endpoint".into()),
        ("status", "status".into()),
    ];
    add_rows("usage_daily", &keys, after, last)
}

/// A line of a usage query as both backends read it.
#[derive(FromRow)]
pub struct UsageColumns {
    period: Option<DateTime<Utc>>,
    endpoint: Option<String>,
    calls: i64,
    ok: i64,
    client_errors: i64,
    server_errors: i64,
    throttled: i64,
    refused: i64,
    total_ms: f64,
    h0: i64,
    h1: i64,
    h2: i64,
    h3: i64,
    h4: i64,
    h5: i64,
    h6: i64,
    h7: i64,
    h8: i64,
    h9: i64,
    h10: i64,
    h11: i64,
}

impl UsageColumns {
    fn line(self) -> anyhow::Result<UsageLine> {
        let count = |n: i64| u64::try_from(n).map_err(|_| anyhow::anyhow!("negative count {n} in a usage rollup"));
        let buckets = [
            self.h0, self.h1, self.h2, self.h3, self.h4, self.h5, self.h6, self.h7, self.h8, self.h9, self.h10,
            self.h11,
        ];
        let mut latency = Histogram::default();
        for (slot, n) in latency.0.iter_mut().zip(buckets) {
            *slot = count(n)?;
        }
        Ok(UsageLine {
            period: self.period,
            endpoint: self.endpoint,
            counts: UsageCounts {
                calls: count(self.calls)?,
                ok: count(self.ok)?,
                client_errors: count(self.client_errors)?,
                server_errors: count(self.server_errors)?,
                throttled: count(self.throttled)?,
                refused: count(self.refused)?,
                total_ms: self.total_ms,
                latency,
            },
        })
    }
}

/// `SUM(x)` as a BIGINT, 0 over no rows (PostgreSQL sums BIGINTs as NUMERIC).
fn total(expr: &str) -> String {
    format!("CAST(COALESCE(SUM({expr}), 0) AS BIGINT)")
}

/// Of calls with a status in `statuses` (an SQL condition on `status`).
fn calls_where(condition: &str) -> String {
    total(&format!("CASE WHEN {condition} THEN calls ELSE 0 END"))
}

/// `SELECT period, endpoint, counts FROM table WHERE key = ` (the rest follows).
fn usage_head<D: Dialect>(table: &str, time: &str, by: Grouping, key: &str) -> (String, String) {
    let period = by.period.map(|p| truncated::<D>(time, p));
    let endpoint = by.endpoint.then_some("endpoint");
    let mut columns = vec![
        format!("{} AS period", period.as_deref().unwrap_or("NULL")),
        format!("{} AS endpoint", endpoint.unwrap_or("NULL")),
        format!("{} AS calls", total("calls")),
        format!("{} AS ok", calls_where("status >= 200 AND status < 300")),
        format!("{} AS client_errors", calls_where("status >= 400 AND status < 500")),
        format!("{} AS server_errors", calls_where("status >= 500")),
        format!("{} AS throttled", calls_where("status = 429")),
        format!("{} AS refused", calls_where("status IN (401, 403)")),
        "CAST(COALESCE(SUM(total_ms), 0) AS DOUBLE PRECISION) AS total_ms".to_string(),
    ];
    columns.extend((0..LATENCY_BUCKETS).map(|i| format!("{} AS h{i}", total(&format!("h{i}")))));
    let head = format!("SELECT {} FROM {table} WHERE {key} = ", columns.join(", "));
    let groups: Vec<&str> = [period.is_some().then_some("1"), endpoint.map(|_| "2")]
        .into_iter()
        .flatten()
        .collect();
    let tail = if groups.is_empty() {
        String::new()
    } else {
        format!(" GROUP BY {0} ORDER BY {0}", groups.join(", "))
    };
    (head, tail)
}

/// The query of `by` over `table`'s rows of `key` whose `time` is in `range`.
fn usage<'a, D: Dialect>(
    table: &str,
    time: &str,
    key: (&str, Value<'a>),
    range: TimeRange,
    by: Grouping,
) -> Select<'a, D, UsageColumns, UsageLine> {
    let (head, tail) = usage_head::<D>(table, time, by, key.0);
    let mut q = Statement::new(&head);
    q.bind(key.1);
    if let Some(since) = range.since {
        q.push(&format!(" AND {time} >= ")).bind(Value::Time(Some(since)));
    }
    if let Some(until) = range.until {
        q.push(&format!(" AND {time} < ")).bind(Value::Time(Some(until)));
    }
    q.push(&tail);
    q.select(UsageColumns::line)
}

pub fn bouquet_usage<'a, D: Dialect>(
    bouquet: &'a str,
    range: TimeRange,
    by: Grouping,
) -> Select<'a, D, UsageColumns, UsageLine> {
    // The daily rollup has no hours.
    let by = Grouping {
        period: by.period.map(|p| if p == Period::Hour { Period::Day } else { p }),
        ..by
    };
    usage("usage_daily", "day", ("bouquet", Value::Text(Some(bouquet))), range, by)
}

pub fn token_usage<'a, D: Dialect>(
    jti: Uuid,
    range: TimeRange,
    by: Grouping,
) -> Select<'a, D, UsageColumns, UsageLine> {
    usage("usage_hourly", "hour", ("jti", Value::Uuid(Some(jti))), range, by)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sql_buckets_are_the_histograms() {
        let sums = bucket_sums();
        assert!(sums.starts_with("SUM(CASE WHEN duration_ms < 5 THEN 1 ELSE 0 END), "));
        assert!(sums.contains("SUM(CASE WHEN duration_ms >= 5 AND duration_ms < 10 THEN 1 ELSE 0 END)"));
        assert!(sums.ends_with("SUM(CASE WHEN duration_ms >= 10000 THEN 1 ELSE 0 END)"));
        assert_eq!(sums.matches("SUM(").count(), LATENCY_BUCKETS);
    }
}
