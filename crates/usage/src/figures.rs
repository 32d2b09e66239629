//! A bouquet's public figures, read from the daily rollup and the habilitations:
//! never from the journal itself.
//!
//! Calls are those of the bouquet's data routes (today's and the legacy ones): paths
//! no route serves (`unknown`) and document downloads are left out. Days and months
//! are UTC.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use passerelle_bouquet::Bouquet;
use passerelle_store::{Grouping, Histogram, Period, Store, TimeRange, UsageCounts, UsageLine};

use crate::instruction::{self, InstructionTimes, UseCase};
use crate::percentile;

/// Months in the monthly figures, the current one included.
pub const MONTHS: u32 = 12;
/// Days of the headline figure, today included.
pub const PAPER_DAYS: i64 = 30;
/// The period of the instruction times (the habilitation site's home page uses the
/// same three months).
pub const INSTRUCTION_DAYS: i64 = 91;

/// One of the bouquet's data routes.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// The route template, as the journal keeps it.
    pub path: String,
    pub title: String,
    pub provider: String,
}

/// The calls of one month.
#[derive(Debug, Clone, PartialEq)]
pub struct Month {
    pub start: DateTime<Utc>,
    pub calls: u64,
    pub ok: u64,
}

/// The calls of one route over the months shown.
#[derive(Debug, Clone, PartialEq)]
pub struct RouteFigures {
    pub route: Route,
    pub calls: u64,
    pub ok: u64,
    /// 2xx over the headline's days.
    pub ok_recent: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
}

/// The calls of one route in one month (the open data's rows).
#[derive(Debug, Clone, PartialEq)]
pub struct RouteMonth {
    pub start: DateTime<Utc>,
    pub route: Route,
    pub calls: u64,
    pub ok: u64,
}

/// Everything the stats page, its JSON and its CSV show.
#[derive(Debug, Clone, PartialEq)]
pub struct PublicStats {
    pub bouquet: String,
    pub title: String,
    pub computed_at: DateTime<Utc>,
    /// When the rollups last took journal rows in (any replica).
    pub rolled_up_at: Option<DateTime<Utc>>,
    /// The headline's period: `[since, until)`.
    pub papers_since: DateTime<Utc>,
    pub papers_until: DateTime<Utc>,
    /// Successful data calls over the headline's period: each one a document the
    /// person (or the company) did not have to bring.
    pub papers_avoided: u64,
    /// Oldest first, every month shown (zeros included).
    pub months: Vec<Month>,
    /// Routes with calls over the months shown, most calls first.
    pub routes: Vec<RouteFigures>,
    /// By month, then route: only those with calls.
    pub route_months: Vec<RouteMonth>,
    pub use_cases: Vec<UseCase>,
    pub instruction: InstructionTimes,
}

impl PublicStats {
    pub fn active_habilitations(&self) -> u64 {
        self.use_cases.iter().map(|u| u.active).sum()
    }

    pub fn calls(&self) -> u64 {
        self.months.iter().map(|m| m.calls).sum()
    }
}

/// The bouquet's data routes by template: each endpoint in each version, and the
/// legacy routes (named after the endpoint they serve).
pub fn routes(bouquet: &Bouquet) -> BTreeMap<String, Route> {
    let mut routes: BTreeMap<String, Route> = bouquet
        .routes()
        .into_iter()
        .map(|r| {
            let route = Route {
                path: r.template.clone(),
                title: r.endpoint.title.to_string(),
                provider: r.endpoint.provider.to_string(),
            };
            (r.template, route)
        })
        .collect();
    for legacy in bouquet.legacy.iter().flat_map(|l| &l.routes) {
        let Some(target) = legacy.targets.first() else {
            continue;
        };
        let route = Route {
            path: legacy.path.to_string(),
            title: format!("{} (API v2)", target.endpoint.title),
            provider: target.endpoint.provider.to_string(),
        };
        routes.insert(legacy.path.to_string(), route);
    }
    routes
}

/// The start of the UTC month `delta` months after `at`'s (before, when negative).
fn month_start(at: DateTime<Utc>, delta: i32) -> DateTime<Utc> {
    let index = at.year() * 12 + at.month0() as i32 + delta;
    let (year, month0) = (index.div_euclid(12), index.rem_euclid(12) as u32);
    Utc.with_ymd_and_hms(year, month0 + 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

fn day_start(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive().and_hms_opt(0, 0, 0).map_or(at, |d| d.and_utc())
}

/// The stats of `bouquet` at `now`.
pub async fn compute(store: &dyn Store, bouquet: &Bouquet, now: DateTime<Utc>) -> anyhow::Result<PublicStats> {
    let known = routes(bouquet);
    let first_month = month_start(now, 1 - MONTHS as i32);
    let months_range = TimeRange {
        since: Some(first_month),
        until: Some(month_start(now, 1)),
    };
    let by_month = Grouping {
        period: Some(Period::Month),
        endpoint: true,
    };
    let monthly = store.bouquet_usage(bouquet.name, months_range, by_month).await?;
    let papers_until = day_start(now) + Duration::days(1);
    let papers_since = papers_until - Duration::days(PAPER_DAYS);
    let recent_range = TimeRange {
        since: Some(papers_since),
        until: Some(papers_until),
    };
    let by_route = Grouping {
        period: None,
        endpoint: true,
    };
    let recent = store.bouquet_usage(bouquet.name, recent_range, by_route).await?;
    let demandes = store.demandes_in(bouquet.name).await?;
    let window = Duration::days(INSTRUCTION_DAYS);
    let instruction = instruction::instruction_times(store, &demandes, now, window).await?;
    let watermark = store.usage_watermark().await?;

    let recent_ok = ok_by_route(&recent, &known);
    Ok(PublicStats {
        bouquet: bouquet.name.to_string(),
        title: bouquet.title.to_string(),
        computed_at: now,
        rolled_up_at: watermark.moved_at,
        papers_since,
        papers_until,
        papers_avoided: recent_ok.values().sum(),
        months: months(&monthly, &known, first_month),
        routes: route_figures(&monthly, &known, &recent_ok),
        route_months: route_months(&monthly, &known),
        use_cases: instruction::active_use_cases(&demandes),
        instruction,
    })
}

/// The lines of known routes, with their route.
fn known_lines<'a>(
    lines: &'a [UsageLine],
    known: &'a BTreeMap<String, Route>,
) -> impl Iterator<Item = (&'a UsageLine, &'a Route)> {
    lines
        .iter()
        .filter_map(|l| Some((l, known.get(l.endpoint.as_deref()?)?)))
}

fn ok_by_route(lines: &[UsageLine], known: &BTreeMap<String, Route>) -> BTreeMap<String, u64> {
    known_lines(lines, known)
        .map(|(l, r)| (r.path.clone(), l.counts.ok))
        .collect()
}

fn months(lines: &[UsageLine], known: &BTreeMap<String, Route>, first: DateTime<Utc>) -> Vec<Month> {
    let mut months: Vec<Month> = (0..MONTHS as i32)
        .map(|i| Month {
            start: month_start(first, i),
            calls: 0,
            ok: 0,
        })
        .collect();
    for (line, _) in known_lines(lines, known) {
        if let Some(m) = months.iter_mut().find(|m| Some(m.start) == line.period) {
            m.calls += line.counts.calls;
            m.ok += line.counts.ok;
        }
    }
    months
}

fn route_figures(
    lines: &[UsageLine],
    known: &BTreeMap<String, Route>,
    recent_ok: &BTreeMap<String, u64>,
) -> Vec<RouteFigures> {
    let mut totals: BTreeMap<&str, (&Route, UsageCounts)> = BTreeMap::new();
    for (line, route) in known_lines(lines, known) {
        totals
            .entry(&route.path)
            .or_insert((route, UsageCounts::default()))
            .1
            .add(&line.counts);
    }
    let mut figures: Vec<RouteFigures> = totals
        .into_values()
        .map(|(route, counts)| figures_of(route, &counts, recent_ok))
        .collect();
    figures.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.route.path.cmp(&b.route.path)));
    figures
}

fn figures_of(route: &Route, counts: &UsageCounts, recent_ok: &BTreeMap<String, u64>) -> RouteFigures {
    let latency: &Histogram = &counts.latency;
    RouteFigures {
        route: route.clone(),
        calls: counts.calls,
        ok: counts.ok,
        ok_recent: recent_ok.get(&route.path).copied().unwrap_or(0),
        p50_ms: percentile::estimate(latency, 0.5),
        p95_ms: percentile::estimate(latency, 0.95),
    }
}

fn route_months(lines: &[UsageLine], known: &BTreeMap<String, Route>) -> Vec<RouteMonth> {
    known_lines(lines, known)
        .filter_map(|(line, route)| {
            Some(RouteMonth {
                start: line.period?,
                route: route.clone(),
                calls: line.counts.calls,
                ok: line.counts.ok,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn months_count_back_across_years() {
        let now = at("2026-02-14T10:00:00Z");
        assert_eq!(month_start(now, 0), at("2026-02-01T00:00:00Z"));
        assert_eq!(month_start(now, -1), at("2026-01-01T00:00:00Z"));
        assert_eq!(month_start(now, -2), at("2025-12-01T00:00:00Z"));
        assert_eq!(month_start(now, -13), at("2025-01-01T00:00:00Z"));
        assert_eq!(month_start(now, 11), at("2027-01-01T00:00:00Z"));
    }

    #[test]
    fn every_month_is_shown_oldest_first() {
        let first = month_start(at("2026-02-14T10:00:00Z"), 1 - MONTHS as i32);
        let shown = months(&[], &BTreeMap::new(), first);
        assert_eq!(shown.len(), MONTHS as usize);
        assert_eq!(shown[0].start, at("2025-03-01T00:00:00Z"));
        assert_eq!(shown[11].start, at("2026-02-01T00:00:00Z"));
    }
}
