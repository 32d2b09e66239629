//! Two `passerelle serve` replicas on one PostgreSQL database and one Redis (the
//! production layout): the rate limit, the cache and the in-flight lock hold across
//! both, a revocation reaches both within 5 s, and Redis going away and coming back
//! under load costs no 5xx.

use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

use crate::binary::cli;
use crate::deployment::*;
use crate::helpers::*;

async fn two_replicas(deployment: &Deployment, upstream: &Upstream, redis: (&str, &str)) -> (Replica, Replica) {
    let env = deployment.env(upstream, Some(redis));
    let a = deployment.replica(&env, Stdio::null()).await;
    let b = deployment.replica(&env, Stdio::null()).await;
    (a, b)
}

/// Calls alternately each replica from `workers` tasks during `window`; the statuses.
async fn hammer(replicas: &[&Replica], jwt: &str, workers: usize, window: Duration, no_cache: bool) -> Vec<u16> {
    let client = reqwest::Client::new();
    let bases: Vec<String> = replicas.iter().map(|r| r.base.clone()).collect();
    let until = Instant::now() + window;
    let mut tasks = JoinSet::new();
    for worker in 0..workers {
        let (client, bases, jwt) = (client.clone(), bases.clone(), jwt.to_string());
        tasks.spawn(async move {
            let mut statuses = Vec::new();
            let mut turn = worker;
            while Instant::now() < until {
                let base = &bases[turn % bases.len()];
                turn += 1;
                statuses.push(call_at(&client, base, &jwt, no_cache).await.status().as_u16());
            }
            statuses
        });
    }
    tasks.join_all().await.concat()
}

#[tokio::test]
async fn one_tokens_limit_holds_across_replicas() {
    let Some(url) = shared_redis().await else { return };
    let prefix = unique_prefix();
    let Some(deployment) = Deployment::on_postgres().await else {
        return;
    };
    let upstream = upstream(Duration::ZERO).await;
    let (a, b) = two_replicas(&deployment, &upstream, (&url, &prefix)).await;
    let client = reqwest::Client::new();
    // The first call fills the cache: the window below measures the limiter alone.
    assert_eq!(a.call(&client, &deployment.jwt, false).await.status(), 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    let started = Instant::now();
    let statuses = hammer(&[&a, &b], &deployment.jwt, 8, Duration::from_secs(2), false).await;
    let elapsed = started.elapsed().as_secs_f64();
    let allowed = statuses.iter().filter(|s| **s == 200).count() as f64;
    let refused = statuses.iter().filter(|s| **s == 429).count();
    eprintln!(
        "two replicas, one token: {allowed} allowed, {refused} refused of {} in {elapsed:.2} s",
        statuses.len()
    );
    assert_eq!(
        allowed as usize + refused,
        statuses.len(),
        "only 200 and 429: {statuses:?}"
    );
    // One limit for both: a burst of 20, then 20 per second. Two separate limiters
    // would allow twice as much.
    let most = 20.0 + 20.0 * elapsed + 4.0;
    assert!(
        allowed <= most,
        "{allowed} allowed in {elapsed:.2} s (at most {most:.0})"
    );
    assert!(
        allowed >= 20.0 + 20.0 * elapsed * 0.5,
        "{allowed} allowed in {elapsed:.2} s"
    );
    assert!(refused >= 10, "the load was over the limit: {refused} refused");

    let (keys, _) = redis_contents(&url, &prefix).await;
    assert!(
        keys.iter().any(|k| k.starts_with(&format!("{prefix}rate:"))),
        "{keys:?}"
    );
    for key in &keys {
        assert!(!key.contains(&deployment.jti), "a key holds the token id: {key}");
    }
    forget(&url, &prefix).await;
}

#[tokio::test]
async fn cache_filled_by_one_replica_serves_the_other() {
    let Some(url) = shared_redis().await else { return };
    let prefix = unique_prefix();
    let Some(deployment) = Deployment::on_postgres().await else {
        return;
    };
    let upstream = upstream(Duration::ZERO).await;
    let (a, b) = two_replicas(&deployment, &upstream, (&url, &prefix)).await;
    let client = reqwest::Client::new();

    let first = a.call(&client, &deployment.jwt, false).await;
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["x-response-cached"], "false");
    let asked = upstream.seen.load(std::sync::atomic::Ordering::SeqCst);
    let second = b.call(&client, &deployment.jwt, false).await;
    assert_eq!(second.headers()["x-response-cached"], "true");
    let left: u64 = second.headers()["x-cache-expires-in"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((86_000..=86_400).contains(&left), "{left}");
    let (_, body) = json(second).await;
    assert_eq!(body["data"]["quotient_familial"]["valeur"], 150);
    assert_eq!(
        upstream.seen.load(std::sync::atomic::Ordering::SeqCst),
        asked,
        "B did not call the upstream"
    );

    let (keys, values) = redis_contents(&url, &prefix).await;
    assert!(
        keys.iter().any(|k| k.starts_with(&format!("{prefix}cache:"))),
        "{keys:?}"
    );
    for clear in ["AXELLE", "quotient_familial", "allocataires"] {
        assert!(!values.contains(clear), "a cached value holds `{clear}` in clear");
    }
    for key in &keys {
        for clear in ["MARTIN", "AXELLE", "35238", &deployment.jti] {
            assert!(!key.contains(clear), "a key holds `{clear}`: {key}");
        }
    }
    forget(&url, &prefix).await;
    b.wait_metric(
        "passerelle_cache_total",
        &[("outcome", "hit"), ("backend", "redis")],
        1.0,
        Duration::from_secs(5),
    )
    .await;
}

#[tokio::test]
async fn identical_call_running_on_one_replica_is_409_on_the_other() {
    let Some(url) = shared_redis().await else { return };
    let prefix = unique_prefix();
    let Some(deployment) = Deployment::on_postgres().await else {
        return;
    };
    // Slow enough for B's call to arrive while A's is running.
    let upstream = upstream(Duration::from_millis(1500)).await;
    let (a, b) = two_replicas(&deployment, &upstream, (&url, &prefix)).await;
    let client = reqwest::Client::new();

    let (first, second) = tokio::join!(a.call(&client, &deployment.jwt, true), async {
        while upstream.seen.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        b.call(&client, &deployment.jwt, true).await
    });
    assert_eq!(first.status(), 200);
    assert_error(second, 409, "00015").await;
    b.wait_metric(
        "passerelle_inflight_refused_total",
        &[("backend", "redis")],
        1.0,
        Duration::from_secs(5),
    )
    .await;

    // Once A's call is over its lock is gone: B runs the same call.
    let started = Instant::now();
    loop {
        let again = b.call(&client, &deployment.jwt, true).await;
        if again.status() == 200 {
            break;
        }
        assert_error(again, 409, "00015").await;
        assert!(started.elapsed() < Duration::from_secs(5), "the lock was not freed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    forget(&url, &prefix).await;
}

#[tokio::test]
async fn redis_stopped_and_restarted_under_load_causes_no_5xx() {
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let prefix = unique_prefix();
    let url = redis.url();
    let Some(deployment) = Deployment::on_postgres().await else {
        return;
    };
    let upstream = upstream(Duration::ZERO).await;
    let (a, b) = two_replicas(&deployment, &upstream, (&url, &prefix)).await;
    for replica in [&a, &b] {
        replica
            .wait_metric("passerelle_redis_up", &[], 1.0, Duration::from_secs(10))
            .await;
    }

    let load = async {
        let mut statuses = Vec::new();
        // Some calls go to the upstream (no-cache), the others are cache hits.
        for round in 0..3 {
            statuses.extend(hammer(&[&a, &b], &deployment.jwt, 4, Duration::from_secs(2), round == 1).await);
        }
        statuses
    };
    let outage = async {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        redis.kill().await;
        for replica in [&a, &b] {
            replica
                .wait_metric("passerelle_redis_up", &[], 0.0, Duration::from_secs(10))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(redis.launch().await, "redis-server restarts on its port");
        for replica in [&a, &b] {
            replica
                .wait_metric("passerelle_redis_up", &[], 1.0, Duration::from_secs(10))
                .await;
        }
    };
    let (statuses, ()) = tokio::join!(load, outage);
    let failures: Vec<_> = statuses.iter().filter(|s| **s >= 500).collect();
    let ok = statuses.iter().filter(|s| **s == 200).count();
    eprintln!(
        "Redis killed and restarted: {} calls, {ok} answered 200, {} 5xx",
        statuses.len(),
        failures.len()
    );
    assert!(failures.is_empty(), "{} calls failed: {failures:?}", failures.len());
    assert!(ok > 50, "{ok} calls answered 200");
    let text = a.scrape().await;
    assert!(
        sample(&text, "passerelle_redis_fallback_total", &[]).unwrap_or(0.0) > 0.0,
        "A served from its local state while Redis was down:\n{text}"
    );
    assert!(
        sample(&text, "passerelle_rate_limit_total", &[("backend", "local")]).unwrap_or(0.0) > 0.0,
        "{text}"
    );

    // The restarted server is empty: keys in it mean the replicas are back on Redis.
    let (keys, _) = redis_contents(&url, &prefix).await;
    assert!(
        keys.iter().any(|k| k.starts_with(&format!("{prefix}rate:"))),
        "{keys:?}"
    );
}

#[tokio::test]
async fn a_revocation_is_seen_by_both_replicas_within_5_s() {
    let Some(url) = shared_redis().await else { return };
    let prefix = unique_prefix();
    let Some(deployment) = Deployment::on_postgres().await else {
        return;
    };
    let upstream = upstream(Duration::ZERO).await;
    let (a, b) = two_replicas(&deployment, &upstream, (&url, &prefix)).await;
    let client = reqwest::Client::new();
    for replica in [&a, &b] {
        assert_eq!(replica.call(&client, &deployment.jwt, false).await.status(), 200);
    }
    let mut revoke = vec!["token", "revoke", &deployment.jti];
    revoke.extend(deployment.store_args());
    let (ok, out) = cli(&revoke).await;
    assert!(ok, "{out}");
    let revoked = Instant::now();
    for replica in [&a, &b] {
        loop {
            let response = replica.call(&client, &deployment.jwt, false).await;
            if response.status() == 401 {
                assert_error(response, 401, "00105").await;
                break;
            }
            assert!(
                revoked.elapsed() < Duration::from_secs(5),
                "revocation not seen within 5 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    forget(&url, &prefix).await;
}
