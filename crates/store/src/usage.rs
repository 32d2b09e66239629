//! Usage rollups: the journal's calls counted by hour, token, endpoint and status,
//! with their latencies, so that pages never scan the journal.
//!
//! Two tables, filled from the same journal rows in one transaction: by hour, token
//! (jti, or none), endpoint and status for an organisation's own usage; by day,
//! endpoint and status for the public figures, small enough to read a year of in a
//! page. A watermark (the last journal `id` counted) makes each row count once.
//! Periods are UTC hours, days and months.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::TimeRange;

/// The upper bounds (ms, excluded) of the latency buckets; a last bucket holds the
/// rest. Fixed: the rollup tables have one column per bucket.
pub const LATENCY_BOUNDS_MS: [u32; 11] = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000];

/// How many latency buckets there are.
pub const LATENCY_BUCKETS: usize = LATENCY_BOUNDS_MS.len() + 1;

/// Calls counted per latency bucket (see `LATENCY_BOUNDS_MS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Histogram(pub [u64; LATENCY_BUCKETS]);

impl Histogram {
    /// The bucket a call of `ms` falls in.
    pub fn bucket(ms: f64) -> usize {
        LATENCY_BOUNDS_MS.iter().take_while(|b| ms >= f64::from(**b)).count()
    }

    pub fn record(&mut self, ms: f64) {
        self.0[Histogram::bucket(ms)] += 1;
    }

    pub fn add(&mut self, other: &Histogram) {
        for (mine, theirs) in self.0.iter_mut().zip(other.0) {
            *mine = mine.saturating_add(theirs);
        }
    }

    pub fn total(&self) -> u64 {
        self.0.iter().fold(0u64, |sum, n| sum.saturating_add(*n))
    }
}

/// What a group of calls did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UsageCounts {
    pub calls: u64,
    /// 2xx.
    pub ok: u64,
    /// 4xx, refusals included.
    pub client_errors: u64,
    /// 5xx (the provider's or the gateway's failures).
    pub server_errors: u64,
    /// 429: over a rate limit.
    pub throttled: u64,
    /// 401 and 403: a token refused (invalid, revoked, expired, address not allowed)
    /// or a scope missing.
    pub refused: u64,
    /// Sum of the calls' durations, for a mean.
    pub total_ms: f64,
    pub latency: Histogram,
}

impl UsageCounts {
    pub fn add(&mut self, other: &UsageCounts) {
        self.calls = self.calls.saturating_add(other.calls);
        self.ok = self.ok.saturating_add(other.ok);
        self.client_errors = self.client_errors.saturating_add(other.client_errors);
        self.server_errors = self.server_errors.saturating_add(other.server_errors);
        self.throttled = self.throttled.saturating_add(other.throttled);
        self.refused = self.refused.saturating_add(other.refused);
        self.total_ms += other.total_ms;
        self.latency.add(&other.latency);
    }
}

/// The period a usage query groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    /// Hours: the token rollup only; the bouquet rollup answers by day.
    Hour,
    Day,
    Month,
}

/// How a usage query groups its calls: by period, by endpoint, both, or neither
/// (one line for the whole range).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grouping {
    pub period: Option<Period>,
    pub endpoint: bool,
}

/// One line of a usage query.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageLine {
    /// The period's start, when grouped by period.
    pub period: Option<DateTime<Utc>>,
    /// When grouped by endpoint: the route template, as the journal keeps it.
    pub endpoint: Option<String>,
    pub counts: UsageCounts,
}

/// How far the rollups have counted the journal.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UsageWatermark {
    /// The last journal `id` counted (0: none).
    pub last_id: i64,
    /// Journal rows counted so far.
    pub counted: i64,
    /// When the watermark last moved.
    pub moved_at: Option<DateTime<Utc>>,
}

/// What one rollup step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollupStep {
    /// Rows counted, up to and including journal id `last_id`.
    Counted { rows: u64, last_id: i64 },
    /// Nothing old enough to count.
    Idle,
    /// Another runner (a replica) moved the watermark first; nothing written.
    Lost,
}

#[async_trait]
pub trait UsageStore: Send + Sync {
    /// How old a journal row must be (by its `at`) before a rollup counts it: long
    /// enough that no row with a lower `id` can still be uncommitted (see each
    /// backend).
    fn rollup_lag(&self) -> std::time::Duration;

    /// Counts up to `limit` journal rows after the watermark into both rollups and
    /// moves the watermark past them, in one transaction. Rows are taken in `id`
    /// order and only while their `at` is before `cutoff`: the first younger row
    /// stops the step, so a row is never skipped for one with a later id. The
    /// watermark moves by a conditional update: when two runners read the same
    /// watermark, the second's transaction changes nothing and rolls back (`Lost`).
    async fn roll_up_usage(&self, cutoff: DateTime<Utc>, limit: u32) -> anyhow::Result<RollupStep>;

    async fn usage_watermark(&self) -> anyhow::Result<UsageWatermark>;

    /// The calls of `bouquet` over `range` (days whose start is in it), from the
    /// daily rollup; `Period::Hour` reads as days. Lines ordered by period, then
    /// endpoint.
    async fn bouquet_usage(&self, bouquet: &str, range: TimeRange, by: Grouping) -> anyhow::Result<Vec<UsageLine>>;

    /// The calls of token `jti` over `range` (hours whose start is in it), from the
    /// hourly rollup. Lines ordered by period, then endpoint.
    async fn token_usage(&self, jti: Uuid, range: TimeRange, by: Grouping) -> anyhow::Result<Vec<UsageLine>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_lower_bound_and_not_their_upper_one() {
        assert_eq!(Histogram::bucket(0.0), 0);
        assert_eq!(Histogram::bucket(4.99), 0);
        assert_eq!(Histogram::bucket(5.0), 1);
        assert_eq!(Histogram::bucket(9_999.0), LATENCY_BUCKETS - 2);
        assert_eq!(Histogram::bucket(10_000.0), LATENCY_BUCKETS - 1);
        assert_eq!(Histogram::bucket(f64::INFINITY), LATENCY_BUCKETS - 1);
        assert_eq!(Histogram::bucket(f64::NAN), 0);
    }
}
