//! SIGTERM on a real `passerelle serve`: it stops accepting, lets the calls in flight
//! finish (within the grace period), writes their journal rows, and exits 0.

use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::binary::{cli, issue_token};
use crate::deployment::*;

pub async fn exit_code(replica: &mut Replica, limit: Duration) -> Option<i32> {
    let status = tokio::time::timeout(limit, replica.running.child.wait())
        .await
        .expect("passerelle exits in time")
        .unwrap();
    status.code()
}

#[tokio::test]
async fn sigterm_drains_calls_in_flight_and_journals_them() {
    let deployment = Deployment::new().await;
    // Every upstream request (OAuth token, then data) waits: calls last a few seconds.
    let upstream = upstream(Duration::from_millis(1200)).await;
    let mut replica = deployment
        .replica(&deployment.env(&upstream, None), Stdio::null())
        .await;
    let mut tokens = vec![deployment.jwt.clone()];
    for name in ["CCAS", "Département"] {
        tokens.push(issue_token(deployment.data(), name, "all").await.1);
    }
    let client = reqwest::Client::new();
    let calls: Vec<_> = tokens
        .iter()
        .map(|jwt| {
            let (client, base, jwt) = (client.clone(), replica.base.clone(), jwt.clone());
            tokio::spawn(async move { call_at(&client, &base, &jwt, true).await })
        })
        .collect();
    replica
        .wait_metric("passerelle_calls_in_flight", &[], 3.0, Duration::from_secs(10))
        .await;

    replica.running.terminate();
    let signalled = Instant::now();
    // No new call is accepted while the others finish.
    loop {
        let refused = client.get(format!("{}/api/ping", replica.base)).send().await.is_err();
        if refused {
            break;
        }
        assert!(signalled.elapsed() < Duration::from_secs(2), "still accepting calls");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut request_ids = Vec::new();
    for call in calls {
        let response = call.await.unwrap();
        assert_eq!(response.status(), 200, "a call in flight was cut");
        request_ids.push(response.headers()["x-request-id"].to_str().unwrap().to_string());
    }
    assert_eq!(exit_code(&mut replica, Duration::from_secs(20)).await, Some(0));
    eprintln!(
        "drained 3 calls in {:.2} s after SIGTERM",
        signalled.elapsed().as_secs_f64()
    );

    let store = passerelle_journal::open(&format!("sqlite://{}/passerelle.db", deployment.data()))
        .await
        .unwrap();
    let rows = store.recent_journal(100).await.unwrap();
    for id in &request_ids {
        let row = rows.iter().find(|r| &r.request_id == id);
        assert_eq!(row.map(|r| r.status), Some(200), "no journal row for {id}");
    }
    // The writer signed its head on the way out: no row waits for a checkpoint.
    let (ok, report) = cli(&["journal", "verify", "--data-dir", deployment.data()]).await;
    assert!(ok, "{report}");
    assert!(
        report.contains(" 0 rows after their writer's last checkpoint"),
        "{report}"
    );
}

#[tokio::test]
async fn the_grace_period_bounds_the_drain() {
    let deployment = Deployment::new().await;
    let upstream = upstream(Duration::from_secs(30)).await;
    let mut env = deployment.env(&upstream, None);
    env.push(("PASSERELLE_SHUTDOWN_GRACE_SECS".into(), "1".into()));
    env.push(("PASSERELLE_LIMITS__PROVIDER_TIMEOUT_SECS".into(), "60".into()));
    let mut replica = deployment.replica(&env, Stdio::null()).await;
    let client = reqwest::Client::new();
    let (base, jwt) = (replica.base.clone(), deployment.jwt.clone());
    let stuck = tokio::spawn(async move { try_call_at(&client, &base, &jwt, true).await });
    replica
        .wait_metric("passerelle_calls_in_flight", &[], 1.0, Duration::from_secs(10))
        .await;
    replica.running.terminate();
    let signalled = Instant::now();
    assert_eq!(exit_code(&mut replica, Duration::from_secs(15)).await, Some(0));
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(10), "exited {took:?} after SIGTERM");
    assert!(stuck.await.unwrap().is_err(), "the call past the grace period is cut");
}
