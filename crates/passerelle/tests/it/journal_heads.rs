//! Signed heads pushed out of the database by a real `passerelle serve`: a heads file
//! that `journal verify --against` checks (a cut tail, a forged head), a webhook that
//! receives them, and one that hangs without holding up a call.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use serde_json::Value;
use sqlx::Connection;
use tokio::net::TcpListener;

use crate::binary::cli;
use crate::deployment::*;

/// A replica writing a checkpoint every `rows` rows, with `journal` settings added
/// through the environment.
async fn replica(deployment: &Deployment, upstream: &Upstream, rows: u64, journal: (&str, &str)) -> Replica {
    let mut env = deployment.env(upstream, None);
    env.push(("PASSERELLE_JOURNAL__CHECKPOINT_ROWS".into(), rows.to_string()));
    env.push((format!("PASSERELLE_JOURNAL__{}", journal.0), journal.1.into()));
    deployment.replica(&env, Stdio::null()).await
}

async fn calls(replica: &Replica, deployment: &Deployment, count: usize) {
    let client = reqwest::Client::new();
    for _ in 0..count {
        assert_eq!(replica.call(&client, &deployment.jwt, true).await.status(), 200);
    }
}

/// The heads file's lines, once it holds `count` (the sink writes them off the calls' path).
async fn heads_in(file: &Path, count: usize) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        if lines.len() >= count {
            return lines;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "heads file: {text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn verify(deployment: &Deployment, against: Option<&Path>) -> (bool, String) {
    let mut args = vec!["journal", "verify", "--data-dir", deployment.data()];
    if let Some(file) = against {
        args.extend(["--against", file.to_str().unwrap()]);
    }
    cli(&args).await
}

async fn sql(deployment: &Deployment, statement: &str) {
    let url = format!("sqlite://{}/passerelle.db", deployment.data());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::raw_sql(statement).execute(&mut c).await.unwrap();
}

/// Seven calls with a checkpoint every 3 rows: heads at seq 3 and 6 in the file.
async fn journal_with_heads_file() -> (Deployment, Replica, PathBuf, Vec<Value>) {
    let deployment = Deployment::new().await;
    let upstream = upstream(Duration::ZERO).await;
    let file = deployment.dir.path().join("heads.jsonl");
    let replica = replica(&deployment, &upstream, 3, ("HEADS_FILE", file.to_str().unwrap())).await;
    calls(&replica, &deployment, 7).await;
    let heads = heads_in(&file, 2).await;
    assert_eq!(
        heads.iter().map(|h| h["seq"].as_i64().unwrap()).collect::<Vec<_>>(),
        [3, 6]
    );
    (deployment, replica, file, heads)
}

#[tokio::test]
async fn an_untouched_journal_reaches_its_signed_heads() {
    let (deployment, _replica, file, _) = journal_with_heads_file().await;
    let (ok, out) = verify(&deployment, Some(&file)).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("2 signed heads of 1 writers checked against the database: OK"),
        "{out}"
    );
}

#[tokio::test]
async fn a_tail_cut_with_its_last_checkpoint_is_named_against_the_heads_file() {
    let (deployment, _replica, file, heads) = journal_with_heads_file().await;
    // The attacker removes the last checkpoint (seq 6) and every row after seq 3.
    sql(
        &deployment,
        "DELETE FROM journal_seals WHERE seq = 6; DELETE FROM journal WHERE seq > 3",
    )
    .await;
    let (ok, out) = verify(&deployment, None).await;
    assert!(
        ok && out.contains("3 rows chained"),
        "verify alone cannot see it: {out}"
    );

    let (ok, out) = verify(&deployment, Some(&file)).await;
    let writer = heads[1]["writer"].as_str().unwrap();
    let named = format!("writer {writer}: tail cut: the heads file reaches seq 6, the database's chain ends at seq 3");
    assert!(!ok && out.contains("TAIL CUT") && out.contains(&named), "{out}");
}

#[tokio::test]
async fn a_forged_head_in_the_file_is_reported() {
    let (deployment, _replica, file, heads) = journal_with_heads_file().await;
    let mut forged = heads[1].clone();
    forged["seq"] = 60.into();
    let text = std::fs::read_to_string(&file).unwrap() + &forged.to_string() + "\n";
    std::fs::write(&file, text).unwrap();
    let (ok, out) = verify(&deployment, Some(&file)).await;
    assert!(
        !ok && out.contains("heads file line 3: ") && out.contains("seq 60: bad signature"),
        "{out}"
    );

    std::fs::write(&file, "not a head\n").unwrap();
    let (ok, out) = verify(&deployment, Some(&file)).await;
    assert!(!ok && out.contains("heads file line 1: not a signed head"), "{out}");
}

/// A webhook that keeps every body it receives, answering after `delay`.
async fn webhook(delay: Duration) -> (String, Arc<Mutex<Vec<Value>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let kept = received.clone();
    let app = axum::Router::new().route(
        "/heads",
        post(move |axum::Json(body): axum::Json<Value>| {
            let kept = kept.clone();
            async move {
                tokio::time::sleep(delay).await;
                kept.lock().unwrap().push(body);
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/heads", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}

#[tokio::test]
async fn the_webhook_receives_each_signed_checkpoint() {
    let deployment = Deployment::new().await;
    let upstream = upstream(Duration::ZERO).await;
    let (url, received) = webhook(Duration::ZERO).await;
    let replica = replica(&deployment, &upstream, 2, ("HEADS_WEBHOOK", &url)).await;
    calls(&replica, &deployment, 4).await;
    let started = Instant::now();
    while received.lock().unwrap().len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(10), "the webhook got no head");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let store = passerelle_journal::open(&format!("sqlite://{}/passerelle.db", deployment.data()))
        .await
        .unwrap();
    let seals = store.journal_seals().await.unwrap();
    let heads = received.lock().unwrap().clone();
    assert_eq!(heads.len(), seals.len());
    for (head, seal) in heads.iter().zip(&seals) {
        assert_eq!(head["writer"], seal.writer.to_string());
        assert_eq!(head["seq"], seal.seq);
        assert_eq!(head["hash"], seal.hash.as_str());
        assert_eq!(head["signature"], seal.signature.as_str());
    }
}

#[tokio::test]
async fn a_hanging_webhook_never_holds_up_calls_and_its_failures_are_counted() {
    let deployment = Deployment::new().await;
    let upstream = upstream(Duration::ZERO).await;
    let (url, _) = webhook(Duration::from_secs(30)).await;
    // A checkpoint, so a head, after every row.
    let replica = replica(&deployment, &upstream, 1, ("HEADS_WEBHOOK", &url)).await;
    let started = Instant::now();
    calls(&replica, &deployment, 3).await;
    let took = started.elapsed();
    eprintln!("3 calls with a hanging webhook: {:.3} s", took.as_secs_f64());
    assert!(took < Duration::from_secs(2), "calls waited for the webhook: {took:?}");
    let failures = [("sink", "webhook")];
    replica
        .wait_metric(
            "passerelle_journal_heads_failures_total",
            &failures,
            3.0,
            Duration::from_secs(15),
        )
        .await;
}
