//! What `bench/stats` times on PostgreSQL, outside the HTTP server:
//!
//! - `routes`: prints API Particulier's v3 route templates (the journal rows the bench
//!   writes name them);
//! - `rollup URL`: rolls the whole journal up, reports the time and rows a second;
//! - `figures URL RUNS`: computes API Particulier's public figures RUNS times with no
//!   cache (what a cold `/stats` costs in reads and work);
//! - `tokens URL`: for each token read on stdin (one jti a line), the portal's usage
//!   queries: per endpoint over 30 days, per hour over 24 hours, per day over 30 days.
//!
//! Each timed line starts with its name and gives `runs`, `p50_ms`, `p95_ms`, `max_ms`.
//!
//! `cargo run --release -p passerelle-usage --example stats_bench -- rollup postgres://…`

use std::io::BufRead;
use std::time::Instant;

use chrono::{Duration, Utc};
use passerelle_bouquet::Bouquet;
use passerelle_store::{Grouping, Period, Store, TimeRange, UsageStore};
use passerelle_store_postgres::PostgresStore;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or_default();
    match arg(0) {
        "routes" => {
            for route in particulier().routes() {
                if route.version == 3 {
                    println!("{}", route.template);
                }
            }
        }
        "rollup" => rollup(&open(arg(1)).await?).await?,
        "figures" => figures(&open(arg(1)).await?, arg(2).parse().unwrap_or(50)).await?,
        "tokens" => tokens(&open(arg(1)).await?).await?,
        _ => anyhow::bail!("usage: stats_bench routes | rollup URL | figures URL RUNS | tokens URL < jtis"),
    }
    Ok(())
}

async fn open(url: &str) -> anyhow::Result<PostgresStore> {
    let store = PostgresStore::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// API Particulier's endpoints, as a bouquet with no provider (nothing is called).
fn particulier() -> Bouquet {
    Bouquet {
        name: "particulier",
        title: "API Particulier",
        operation_prefix: passerelle_catalogue::OPERATION_PREFIX,
        endpoints: passerelle_catalogue::all(),
        providers: Default::default(),
        purpose: &[],
        throttle: |_| None,
        codes: &[],
        openapi: String::new(),
        privileges: false,
        documents: false,
        legacy: None,
    }
}

async fn rollup(store: &PostgresStore) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut rows = 0;
    loop {
        let counted = passerelle_usage::catch_up(store, Utc::now()).await?;
        if counted == 0 {
            break;
        }
        rows += counted;
        eprintln!("  {rows} rows rolled up ({:.0} s)", started.elapsed().as_secs_f64());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "ROLLUP rows={rows} secs={secs:.1} rows_per_sec={:.0}",
        rows as f64 / secs
    );
    Ok(())
}

/// `NAME runs=… p50_ms=… p95_ms=… max_ms=…` of `times` (ms).
fn report(name: &str, mut times: Vec<f64>, extra: &str) {
    times.sort_by(f64::total_cmp);
    let at = |p: f64| {
        let rank = ((p * times.len() as f64).ceil() as usize).clamp(1, times.len().max(1));
        times.get(rank - 1).copied().unwrap_or(f64::NAN)
    };
    let max = times.last().copied().unwrap_or(f64::NAN);
    println!(
        "{name} runs={} p50_ms={:.1} p95_ms={:.1} max_ms={max:.1}{extra}",
        times.len(),
        at(0.5),
        at(0.95)
    );
}

async fn figures(store: &PostgresStore, runs: usize) -> anyhow::Result<()> {
    let bouquet = particulier();
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let started = Instant::now();
        last = Some(passerelle_usage::compute(store, &bouquet, Utc::now()).await?);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let extra = last.map_or_else(String::new, |s| {
        format!(
            " calls_12_months={} papers_30_days={} routes={}",
            s.calls(),
            s.papers_avoided,
            s.routes.len()
        )
    });
    report("FIGURES", times, &extra);
    Ok(())
}

async fn tokens(store: &PostgresStore) -> anyhow::Result<()> {
    let jtis: Vec<uuid::Uuid> = std::io::stdin()
        .lock()
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let now = Utc::now();
    let queries = [
        ("TOKEN_30D_BY_ENDPOINT", Duration::days(30), None, true),
        ("TOKEN_24H_BY_HOUR", Duration::hours(24), Some(Period::Hour), false),
        ("TOKEN_30D_BY_DAY", Duration::days(30), Some(Period::Day), false),
    ];
    for (name, span, period, endpoint) in queries {
        let range = TimeRange {
            since: Some(now - span),
            until: Some(now),
        };
        let by = Grouping { period, endpoint };
        let (mut times, mut calls) = (Vec::new(), 0u64);
        for jti in &jtis {
            let started = Instant::now();
            let lines = store.token_usage(*jti, range, by).await?;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            calls += lines.iter().map(|l| l.counts.calls).sum::<u64>();
        }
        let mean = calls / (jtis.len().max(1) as u64);
        report(name, times, &format!(" mean_calls_per_token={mean}"));
    }
    Ok(())
}
