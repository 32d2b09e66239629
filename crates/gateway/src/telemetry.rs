//! Prometheus metrics, served at `/metrics` on their own listener (`metrics_listen`),
//! apart from the API. Labels name endpoints, providers, statuses and outcomes: never
//! a token, a person or a recipient. Without a listener the calls below cost nothing
//! (no recorder is installed). docs/operations.md lists every metric.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use axum::http::header;
use axum::routing::get;
use axum::Router;
use metrics::{counter, gauge, histogram, SharedString};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Seconds: from a cache hit (well under a millisecond) to a provider timeout.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
const ROWS_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 512.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once) and serves it on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let handle = match HANDLE.get() {
        Some(handle) => handle.clone(),
        None => {
            let handle = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)?
                .set_buckets_for_metric(Matcher::Full("passerelle_journal_batch_rows".into()), ROWS_BUCKETS)?
                .install_recorder()?;
            HANDLE.get_or_init(|| handle).clone()
        }
    };
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let handle = handle.clone();
            async move {
                handle.run_upkeep();
                ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render())
            }
        }),
    );
    Ok(tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::error!(error = %e, "metrics listener stopped");
        }
    }))
}

/// One v3 call: its status, its whole time, and the gateway's own part of it (without
/// the provider's). `endpoint` is a catalogue path, or `unknown`.
pub fn call(endpoint: impl Into<SharedString>, status: u16, total: Duration, upstream: Duration) {
    // An `Arc<str>` label is shared, not copied: this runs on every call, recorder or not.
    let endpoint = endpoint.into();
    counter!("passerelle_calls_total", "endpoint" => endpoint.clone(), "status" => status.to_string()).increment(1);
    histogram!("passerelle_call_duration_seconds", "endpoint" => endpoint.clone()).record(total.as_secs_f64());
    histogram!("passerelle_gateway_duration_seconds", "endpoint" => endpoint)
        .record(total.saturating_sub(upstream).as_secs_f64());
}

/// Calls being answered right now; the guard counts one until dropped.
pub struct CallInFlight;

impl CallInFlight {
    pub fn start() -> CallInFlight {
        gauge!("passerelle_calls_in_flight").increment(1.0);
        CallInFlight
    }
}

impl Drop for CallInFlight {
    fn drop(&mut self) {
        gauge!("passerelle_calls_in_flight").decrement(1.0);
    }
}

/// One provider call: `outcome` is `ok`, `error` or `timeout`.
pub fn upstream(provider: &'static str, outcome: &'static str, took: Duration) {
    histogram!("passerelle_upstream_duration_seconds", "provider" => provider, "outcome" => outcome)
        .record(took.as_secs_f64());
}

pub fn rate_limit(limit: &'static str, allowed: bool, backend: Backend) {
    let outcome = if allowed { "allowed" } else { "refused" };
    counter!("passerelle_rate_limit_total", "limit" => limit, "outcome" => outcome, "backend" => backend.as_str())
        .increment(1);
}

pub fn cache(hit: bool, backend: Backend) {
    let outcome = if hit { "hit" } else { "miss" };
    counter!("passerelle_cache_total", "outcome" => outcome, "backend" => backend.as_str()).increment(1);
}

pub fn inflight_refused(backend: Backend) {
    counter!("passerelle_inflight_refused_total", "backend" => backend.as_str()).increment(1);
}

pub fn redis_up(up: bool) {
    gauge!("passerelle_redis_up").set(if up { 1.0 } else { 0.0 });
}

/// An operation answered from local state because Redis was down or late.
pub fn redis_fallback(operation: &'static str) {
    counter!("passerelle_redis_fallback_total", "operation" => operation).increment(1);
}

/// Which state answered: the one the replicas share (Redis) or this replica's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Redis,
    Local,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Redis => "redis",
            Backend::Local => "local",
        }
    }
}
