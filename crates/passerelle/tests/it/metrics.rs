//! What a running replica tells its operator: Prometheus metrics on their own listener
//! and JSON logs, neither of which names a token, a person or a recipient.

use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::deployment::*;
use crate::helpers::*;

#[tokio::test]
async fn metrics_count_calls_outcomes_and_journal_without_identities() {
    let deployment = Deployment::new().await;
    let upstream = upstream(Duration::ZERO).await;
    let replica = deployment
        .replica(&deployment.env(&upstream, None), Stdio::null())
        .await;
    let client = reqwest::Client::new();
    assert_eq!(replica.call(&client, &deployment.jwt, false).await.status(), 200);
    assert_eq!(replica.call(&client, &deployment.jwt, false).await.status(), 200);
    assert_eq!(replica.call(&client, "not-a-token", false).await.status(), 401);
    let unknown = client
        .get(format!("{}/v3/nope/nothing/identite?nom=MARTIN", replica.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);

    let text = replica.scrape().await;
    let get = |name: &str, labels: &[(&str, &str)]| sample(&text, name, labels).unwrap_or(0.0);
    let qf = ("endpoint", QF);
    assert_eq!(get("passerelle_calls_total", &[qf, ("status", "200")]), 2.0, "{text}");
    assert_eq!(get("passerelle_calls_total", &[qf, ("status", "401")]), 1.0);
    assert_eq!(
        get("passerelle_calls_total", &[("endpoint", "unknown"), ("status", "404")]),
        1.0
    );
    assert_eq!(get("passerelle_call_duration_seconds_count", &[qf]), 3.0);
    assert_eq!(get("passerelle_gateway_duration_seconds_count", &[qf]), 3.0);
    assert_eq!(
        get(
            "passerelle_upstream_duration_seconds_count",
            &[("provider", "dss"), ("outcome", "ok")]
        ),
        1.0
    );
    let hit = [("outcome", "hit"), ("backend", "local")];
    assert_eq!(get("passerelle_cache_total", &hit), 1.0);
    assert_eq!(get("passerelle_cache_total", &[("outcome", "miss")]), 1.0);
    assert_eq!(
        get(
            "passerelle_rate_limit_total",
            &[("limit", "token"), ("outcome", "allowed"), ("backend", "local")]
        ),
        2.0
    );
    // Every call but the 401 and the unknown path's counts against the token; all four
    // against the IP.
    assert_eq!(
        get(
            "passerelle_rate_limit_total",
            &[("limit", "ip"), ("outcome", "allowed")]
        ),
        4.0
    );
    assert_eq!(get("passerelle_journal_lag_seconds_count", &[]), 4.0);
    assert!(get("passerelle_journal_batch_rows_sum", &[]) == 4.0, "{text}");
    assert_eq!(get("passerelle_db_up", &[]), 1.0);
    assert_eq!(get("passerelle_calls_in_flight", &[]), 0.0);
    assert_eq!(sample(&text, "passerelle_redis_up", &[]), None, "no Redis configured");
    assert!(text.contains("# TYPE passerelle_calls_total counter"), "{text}");
    for secret in [
        "MARTIN",
        "AXELLE",
        RECIPIENT,
        &deployment.jti,
        &deployment.jwt,
        "not-a-token",
    ] {
        assert!(!text.contains(secret), "metrics leak `{secret}`");
    }
}

#[tokio::test]
async fn json_logs_tell_redis_transitions_once_and_hold_no_secret() {
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let deployment = Deployment::new().await;
    let upstream = upstream(Duration::ZERO).await;
    let log_path = deployment.dir.path().join("gateway.log");
    let log_file = std::fs::File::create(&log_path).unwrap();
    let prefix = unique_prefix();
    let mut env = deployment.env(&upstream, Some((&redis.url(), &prefix)));
    env.push(("PASSERELLE_LOG_FORMAT".into(), "json".into()));
    env.push(("PASSERELLE_LOG_LEVEL".into(), "debug".into()));
    let replica = deployment.replica(&env, log_file.into()).await;
    let client = reqwest::Client::new();
    replica
        .wait_metric("passerelle_redis_up", &[], 1.0, Duration::from_secs(10))
        .await;
    assert_eq!(replica.call(&client, &deployment.jwt, false).await.status(), 200);
    assert_eq!(
        replica.call(&client, "not-a-token-but-secret", false).await.status(),
        401
    );

    redis.kill().await;
    for _ in 0..10 {
        assert_eq!(replica.call(&client, &deployment.jwt, true).await.status(), 200);
    }
    replica
        .wait_metric("passerelle_redis_up", &[], 0.0, Duration::from_secs(10))
        .await;
    assert!(redis.launch().await);
    replica
        .wait_metric("passerelle_redis_up", &[], 1.0, Duration::from_secs(10))
        .await;
    assert_eq!(replica.call(&client, &deployment.jwt, false).await.status(), 200);
    replica.running.stop().await;

    let logs = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let count = |message: &str| {
        lines
            .iter()
            .filter(|l| l["fields"]["message"].as_str().is_some_and(|m| m.starts_with(message)))
            .count()
    };
    assert_eq!(count("Redis unavailable"), 1, "one line per transition:\n{logs}");
    // Once at start, once back after the restart.
    assert_eq!(count("Redis answers"), 2, "{logs}");
    assert!(count("bouquet call") >= 13, "{logs}");
    assert!(lines
        .iter()
        .all(|l| l["level"].is_string() && l["timestamp"].is_string()));
    for secret in [
        "MARTIN",
        "AXELLE",
        "35238",
        &deployment.jwt,
        "not-a-token-but-secret",
        &prefix,
    ] {
        assert!(!logs.contains(secret), "logs leak `{secret}`:\n{logs}");
    }
}
