//! The client against a small HTTP server on port 0 that answers like the gateway: by
//! identifier, a 429 with `Retry-After`, a 503 then a 200, a 404; and a GCRA limiter
//! sending the gateway's `RateLimit-*` headers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use super::*;

#[derive(Default)]
struct Server {
    /// Calls seen, by identifier.
    calls: Mutex<HashMap<String, u32>>,
    /// (limit, period) of the GCRA, when the server paces.
    quota: Option<(u32, Duration)>,
    tat: Mutex<Option<Instant>>,
    refused: Mutex<u32>,
}

async fn answer(
    State(server): State<Arc<Server>>,
    Path(id): Path<String>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    assert_eq!(headers["authorization"], "Bearer secret-token");
    let seen = {
        let mut calls = server.calls.lock().unwrap();
        let n = calls.entry(id.clone()).or_default();
        *n += 1;
        *n
    };
    if let Some((limit, period)) = server.quota {
        let (allowed, mut rate_headers) = gcra(&server, limit, period);
        if !allowed {
            *server.refused.lock().unwrap() += 1;
            return (StatusCode::TOO_MANY_REQUESTS, rate_headers, "{}").into_response();
        }
        rate_headers.insert("x-request-id", format!("req-{id}").parse().unwrap());
        return (rate_headers, Json(json!({"data": {"id": id}}))).into_response();
    }
    let error = |status: StatusCode, code: &str| {
        let body = json!({"errors": [{"code": code, "title": "t", "detail": format!("detail {code}")}]});
        (status, [("x-request-id", format!("req-{id}-{seen}"))], Json(body)).into_response()
    };
    match (id.as_str(), seen) {
        ("throttled", 1) => (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], "{}").into_response(),
        ("flaky", 1) => error(StatusCode::SERVICE_UNAVAILABLE, "00503"),
        ("missing", _) => error(StatusCode::NOT_FOUND, "37003"),
        ("down", _) => error(StatusCode::BAD_GATEWAY, "37000"),
        ("revoked", _) => error(StatusCode::UNAUTHORIZED, "00103"),
        _ => (
            [("x-request-id", format!("req-{id}-{seen}"))],
            Json(json!({"data": {"id": id, "query": query}})),
        )
            .into_response(),
    }
}

/// The gateway's algorithm, reduced: a burst of `limit`, one call per interval after.
fn gcra(server: &Server, limit: u32, period: Duration) -> (bool, HeaderMap) {
    let interval = period / limit;
    let now = Instant::now();
    let mut tat = server.tat.lock().unwrap();
    let start = tat.filter(|t| *t > now).unwrap_or(now);
    let next = start + interval;
    let allowed = next.duration_since(now) <= period;
    let settled = if allowed { next } else { start };
    if allowed {
        *tat = Some(next);
    }
    let used = settled.duration_since(now);
    let remaining = period.saturating_sub(used).as_nanos() / interval.as_nanos();
    let epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let reset = epoch + used.as_secs() + u64::from(used.subsec_nanos() > 0);
    let mut headers = HeaderMap::new();
    headers.insert("ratelimit-limit", limit.to_string().parse().unwrap());
    headers.insert(
        "ratelimit-remaining",
        remaining.min(limit as u128).to_string().parse().unwrap(),
    );
    headers.insert("ratelimit-reset", reset.to_string().parse().unwrap());
    if !allowed {
        headers.insert("retry-after", "1".parse().unwrap());
    }
    (allowed, headers)
}

async fn start(server: Server) -> (String, Arc<Server>) {
    let server = Arc::new(server);
    let app = Router::new()
        .route("/v3/x/{id}", get(answer))
        .with_state(server.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, server)
}

fn config(base: &str, dir: &tempfile::TempDir, ids: &[&str]) -> Config {
    let input = dir.path().join("in.csv");
    let mut text = String::from("id,prenoms\n");
    for id in ids {
        text.push_str(&format!("{id},A B\n"));
    }
    std::fs::write(&input, text).unwrap();
    let mut config = Config::new(
        base,
        "secret-token\n",
        "/v3/x/{id}",
        &input,
        &dir.path().join("out.csv"),
    );
    config.fixed.recipient = Some("13002526500013".into());
    config.backoff = Backoff {
        max_attempts: 3,
        base: Duration::from_millis(50),
        cap: Duration::from_millis(200),
    };
    config
}

fn output_rows(config: &Config) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(&config.output).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .map(str::to_string)
                .zip(r.iter().map(str::to_string))
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn a_429_waits_retry_after_a_503_is_retried_a_404_is_not() {
    let (base, server) = start(Server::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&base, &dir, &["throttled", "flaky", "missing", "down", "fine"]);
    let started = Instant::now();
    let summary = run(&config).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After is honoured");
    let calls = server.calls.lock().unwrap().clone();
    assert_eq!(calls["throttled"], 2);
    assert_eq!(calls["flaky"], 2);
    assert_eq!(calls["missing"], 1, "a 404 is never retried");
    assert_eq!(calls["down"], 3, "a 502 is retried up to max_attempts");
    assert_eq!(calls["fine"], 1);
    assert_eq!(summary.ok, 3);
    assert_eq!(summary.errors, BTreeMap::from([(404, 1), (502, 1)]));
    assert_eq!(summary.retried, 1 + 1 + 2);
    assert_eq!(summary.calls, 9);

    let rows = output_rows(&config);
    let statuses: Vec<_> = rows.iter().map(|r| (r["row"].as_str(), r["status"].as_str())).collect();
    assert_eq!(
        statuses,
        [("1", "200"), ("2", "200"), ("3", "404"), ("4", "502"), ("5", "200")]
    );
    assert_eq!(rows[1]["request_id"], "req-flaky-2");
    assert_eq!(
        (rows[2]["error_code"].as_str(), rows[2]["error_detail"].as_str()),
        ("37003", "detail 37003")
    );
    assert_eq!(rows[2]["data"], "");
    let data: Value = serde_json::from_str(&rows[4]["data"]).unwrap();
    assert_eq!(
        data["query"],
        json!([["prenoms[]", "A"], ["prenoms[]", "B"], ["recipient", "13002526500013"]])
    );
    let text = std::fs::read_to_string(&config.output).unwrap();
    assert!(!text.contains("secret-token"));
    assert!(!format!("{config:?}").contains("secret-token"));
}

#[tokio::test]
async fn pacing_from_the_headers_avoids_every_429() {
    let server = Server {
        quota: Some((4, Duration::from_secs(2))),
        ..Server::default()
    };
    let (base, server) = start(server).await;
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let config = config(&base, &dir, &ids);
    let started = Instant::now();
    let summary = run(&config).await.unwrap();
    assert_eq!(*server.refused.lock().unwrap(), 0, "{summary}");
    assert_eq!(summary.ok, 10);
    assert_eq!(summary.calls, 10);
    // A burst of 4, then one call each half second.
    assert!(
        started.elapsed() >= Duration::from_millis(2900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(output_rows(&config)[9]["request_id"], "req-p9");
}

#[tokio::test]
async fn a_resumed_run_calls_only_the_rows_not_written() {
    let (base, server) = start(Server::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let ids = ["a", "b", "c", "d", "e"];
    let mut config = config(&base, &dir, &ids);
    config.max_rows = Some(2);
    let first = run(&config).await.unwrap();
    assert_eq!((first.ok, first.skipped), (2, 0));
    config.max_rows = None;
    let second = run(&config).await.unwrap();
    assert_eq!((second.ok, second.skipped), (3, 2));
    let calls = server.calls.lock().unwrap().clone();
    assert!(ids.iter().all(|id| calls[*id] == 1), "{calls:?}");
    let rows: Vec<_> = output_rows(&config).iter().map(|r| r["row"].clone()).collect();
    assert_eq!(rows, ["1", "2", "3", "4", "5"]);
    let third = run(&config).await.unwrap();
    assert_eq!((third.calls, third.skipped), (0, 5));
}

#[tokio::test]
async fn an_unreachable_gateway_stops_the_run_without_writing_the_row() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let config = config(&base, &dir, &["a"]);
    let error = run(&config).await.unwrap_err().to_string();
    assert!(error.contains("unreachable after 3 attempts"), "{error}");
    assert!(
        !error.contains("secret-token") && !error.contains("13002526500013"),
        "{error}"
    );
    assert_eq!(output_rows(&config).len(), 0);
}

#[tokio::test]
async fn a_refused_token_stops_the_run_and_keeps_the_rows_answered() {
    let (base, server) = start(Server::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&base, &dir, &["a", "revoked", "c"]);
    let error = run(&config).await.unwrap_err().to_string();
    assert!(error.contains("401 00103"), "{error}");
    assert!(!error.contains("secret-token"), "{error}");
    let rows: Vec<_> = output_rows(&config).iter().map(|r| r["row"].clone()).collect();
    assert_eq!(rows, ["1"]);
    assert_eq!(server.calls.lock().unwrap().get("c"), None);
}
