//! What the stats page shows, written out in French from the figures (the template
//! only lays it out).

use chrono::{DateTime, Datelike, Duration, Utc};
use passerelle_usage::figures::{Month, RouteFigures};
use passerelle_usage::instruction::{InstructionTimes, Quantiles, UseCase};
use passerelle_usage::PublicStats;

use crate::french::MONTHS;

const SHORT_MONTHS: [&str; 12] = [
    "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.", "nov.", "déc.",
];

/// `12 345 678`, thousands apart by a narrow no-break space.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 * 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

fn month_name(at: DateTime<Utc>) -> &'static str {
    MONTHS.get(at.month0() as usize).copied().unwrap_or_default()
}

/// `décembre 2026`.
pub fn month(at: DateTime<Utc>) -> String {
    format!("{} {}", month_name(at), at.year())
}

/// `1er mai 2026`, `12 mars 2026` (the UTC day).
pub fn day(at: DateTime<Utc>) -> String {
    match at.day() {
        1 => format!("1er {} {}", month_name(at), at.year()),
        n => format!("{n} {} {}", month_name(at), at.year()),
    }
}

/// `3,5 jours`, `1 jour`, `moins d'un jour`.
pub fn days(d: f64) -> String {
    if d < 1.0 {
        return "moins d'un jour".into();
    }
    let rounded = (d * 10.0).round() / 10.0;
    let text = if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}").replace('.', ",")
    };
    let unit = if rounded < 2.0 { "jour" } else { "jours" };
    format!("{text} {unit}")
}

/// `≈ 120 ms`; `≥ 10 000 ms` in the histogram's open last bucket; `—` without calls.
pub fn latency(ms: Option<f64>) -> String {
    let last = passerelle_store::LATENCY_BOUNDS_MS[passerelle_store::LATENCY_BOUNDS_MS.len() - 1];
    match ms {
        None => "—".into(),
        Some(ms) if ms >= f64::from(last) => format!("≥ {} ms", count(u64::from(last))),
        Some(ms) => format!("≈ {} ms", count(ms.round() as u64)),
    }
}

/// One month: its row in the table and its column in the chart.
pub struct MonthRow {
    pub label: String,
    pub short: &'static str,
    pub calls: String,
    pub ok: String,
    pub bar: Bar,
}

/// A column of the chart, in the SVG's units.
pub struct Bar {
    pub x: String,
    pub label_x: String,
    pub calls_y: String,
    pub calls_height: String,
    pub ok_y: String,
    pub ok_height: String,
}

/// The chart's size: columns of `COLUMN` units, a baseline at `BASE`.
pub const CHART_WIDTH: u32 = 720;
pub const CHART_HEIGHT: u32 = 240;
const COLUMN: f64 = 60.0;
const BASE: f64 = 210.0;
const TALLEST: f64 = 190.0;

fn bar(index: usize, m: &Month, most: u64) -> Bar {
    let scale = |n: u64| {
        if most == 0 {
            0.0
        } else {
            TALLEST * n as f64 / most as f64
        }
    };
    let x = index as f64 * COLUMN + 10.0;
    let (calls, ok) = (scale(m.calls), scale(m.ok));
    Bar {
        x: format!("{x:.1}"),
        label_x: format!("{:.1}", x + 20.0),
        calls_y: format!("{:.1}", BASE - calls),
        calls_height: format!("{calls:.1}"),
        ok_y: format!("{:.1}", BASE - ok),
        ok_height: format!("{ok:.1}"),
    }
}

pub fn months(stats: &PublicStats) -> Vec<MonthRow> {
    let most = stats.months.iter().map(|m| m.calls).max().unwrap_or(0);
    stats
        .months
        .iter()
        .enumerate()
        .map(|(i, m)| MonthRow {
            label: month(m.start),
            short: SHORT_MONTHS.get(m.start.month0() as usize).copied().unwrap_or_default(),
            calls: count(m.calls),
            ok: count(m.ok),
            bar: bar(i, m, most),
        })
        .collect()
}

pub struct RouteRow {
    pub title: String,
    pub path: String,
    pub provider: String,
    pub calls: String,
    pub ok: String,
    pub ok_recent: String,
    pub p50: String,
    pub p95: String,
}

pub fn routes(stats: &PublicStats) -> Vec<RouteRow> {
    stats.routes.iter().map(route).collect()
}

fn route(r: &RouteFigures) -> RouteRow {
    RouteRow {
        title: r.route.title.clone(),
        path: r.route.path.clone(),
        provider: r.route.provider.clone(),
        calls: count(r.calls),
        ok: count(r.ok),
        ok_recent: count(r.ok_recent),
        p50: latency(r.p50_ms),
        p95: latency(r.p95_ms),
    }
}

pub struct UseCaseRow {
    pub title: String,
    pub kind: &'static str,
    pub active: String,
}

pub fn use_cases(cases: &[UseCase]) -> Vec<UseCaseRow> {
    cases
        .iter()
        .map(|u| UseCaseRow {
            title: u.title.clone(),
            kind: u.kind,
            active: count(u.active),
        })
        .collect()
}

/// A duration's median and 80th percentile, in words.
pub struct Delay {
    pub p50: String,
    pub p80: String,
}

fn delay(q: &Quantiles) -> Delay {
    let words = |d: Option<f64>| d.map_or_else(|| "—".to_string(), days);
    Delay {
        p50: words(q.p50_days),
        p80: words(q.p80_days),
    }
}

pub struct Instruction {
    pub since: String,
    pub decided: String,
    pub any: bool,
    pub first_response: Delay,
    pub decision: Delay,
}

pub fn instruction(t: &InstructionTimes) -> Instruction {
    Instruction {
        since: day(t.since),
        decided: count(t.decided as u64),
        any: t.decided > 0,
        first_response: delay(&t.first_response),
        decision: delay(&t.decision),
    }
}

/// The headline's days: from its first to its last (included).
pub fn period(stats: &PublicStats) -> (String, String) {
    (day(stats.papers_since), day(stats.papers_until - Duration::days(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_the_french_way() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_000), "1\u{202f}000");
        assert_eq!(count(12_345_678), "12\u{202f}345\u{202f}678");
        assert_eq!(days(0.4), "moins d'un jour");
        assert_eq!(days(1.0), "1 jour");
        assert_eq!(days(3.46), "3,5 jours");
        assert_eq!(days(11.0), "11 jours");
        assert_eq!(latency(Some(167.5)), "≈ 168 ms");
        assert_eq!(latency(Some(10_000.0)), "≥ 10\u{202f}000 ms");
        assert_eq!(latency(None), "—");
    }
}
