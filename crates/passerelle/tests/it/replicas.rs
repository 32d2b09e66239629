//! Real `passerelle serve` processes on one database: a replica killed under load has
//! journaled every answer it gave, and a database that goes away makes calls fail
//! closed until it is back (`redis.rs` runs two replicas on PostgreSQL and Redis).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use passerelle_store::TimeRange;
use uuid::Uuid;

use crate::binary::{cli, Running};
use crate::helpers::*;
use crate::pg::{eventually, Cluster, TestDb};

const QF: &str = "/v3/dss/quotient_familial/identite";

async fn simulators() -> (Running, String) {
    let mut sim = Running::spawn(&["simulate", "--listen", "127.0.0.1:0"], &[]);
    let line = sim.line_after("simulators listening on").await;
    let base = line.split_whitespace().next().unwrap().to_string();
    (sim, base)
}

/// `passerelle serve` on `store` (`--database-url …` or `--data-dir …`).
async fn replica(store: &[&str], sim: &str) -> (Running, String) {
    let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--entreprise-listen", "127.0.0.1:0"];
    args.extend_from_slice(store);
    let upstream = format!("{sim}/dss");
    let mut gateway = Running::spawn(&args, &[("PASSERELLE_PROVIDERS__DSS__BASE_URL", &upstream)]);
    let base = gateway.line_after("gateway listening on").await;
    (gateway, base)
}

/// Issues a token through the CLI: its jti and JWT.
async fn issue(store: &[&str]) -> (String, String) {
    let mut args = vec![
        "token",
        "issue",
        "--name",
        "Replicas",
        "--siret",
        RECIPIENT,
        "--scopes",
        "all",
        "--rate-limit-per-minute",
        "10000000",
    ];
    args.extend_from_slice(store);
    let (ok, out) = cli(&args).await;
    assert!(ok, "{out}");
    let jti = out
        .lines()
        .find_map(|l| l.strip_prefix("jti: "))
        .unwrap()
        .trim()
        .to_string();
    let mut lines = out.lines().skip_while(|l| !l.starts_with("expires: "));
    let jwt = lines.nth(1).unwrap().trim().to_string();
    (jti, jwt)
}

fn call(client: &reqwest::Client, base: &str, jwt: &str, query: &[(String, String)]) -> reqwest::RequestBuilder {
    let mut q = query.to_vec();
    q.push(("recipient".into(), RECIPIENT.into()));
    client.get(format!("{base}{QF}")).query(&q).bearer_auth(jwt)
}

/// Many clients call a replica, each with its own X-Request-ID; the replica is
/// SIGKILLed mid-load and restarted. Every answer a client received (any status,
/// body read in full) must have its journal row, and the chains must verify.
async fn sigkill_loses_no_answered_row(store: &[&str], url: &str) {
    let (_sim, sim) = simulators().await;
    let (_jti, jwt) = issue(store).await;
    let (mut gateway, base) = replica(store, &sim).await;
    let answered = Arc::new(Mutex::new(Vec::<(String, u16)>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .unwrap();
    let clients: Vec<_> = (0..24)
        .map(|_| {
            let (client, base, jwt) = (client.clone(), base.clone(), jwt.clone());
            let (answered, stop) = (answered.clone(), stop.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    let id = Uuid::new_v4().to_string();
                    let who = synthetic(&unknown_name());
                    let sent = call(&client, &base, &jwt, &who)
                        .header("x-request-id", &id)
                        .send()
                        .await;
                    let Ok(response) = sent else { continue };
                    let status = response.status().as_u16();
                    if response.bytes().await.is_ok() {
                        answered.lock().unwrap().push((id, status));
                    }
                }
            })
        })
        .collect();
    let loaded = eventually(Duration::from_secs(60), || async {
        answered.lock().unwrap().len() >= 300
    })
    .await;
    assert!(loaded, "the replica answered too few calls");
    gateway.child.start_kill().unwrap();
    gateway.child.wait().await.unwrap();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.unwrap();
    }
    let answered = answered.lock().unwrap().clone();

    let (_again, base) = replica(store, &sim).await;
    let after = call(&client, &base, &jwt, &pairs(AXELLE)).send().await.unwrap();
    assert_eq!(after.status(), 200, "the restarted replica serves");

    let journal = passerelle_journal::open(url).await.unwrap();
    let mut kept = std::collections::HashSet::new();
    let mut after = 0;
    loop {
        let page = journal.journal_page(TimeRange::default(), after, 5000).await.unwrap();
        let Some((last, _)) = page.last() else { break };
        after = *last;
        kept.extend(page.into_iter().map(|(_, r)| r.row.request_id));
    }
    let missing: Vec<_> = answered.iter().filter(|(id, _)| !kept.contains(id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} answers have no journal row: {:?}",
        missing.len(),
        answered.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(answered.iter().any(|(_, s)| *s == 404), "calls reached the upstream");

    let mut args = vec!["journal", "verify"];
    args.extend_from_slice(store);
    let (ok, out) = cli(&args).await;
    assert!(ok && out.contains("OK"), "{out}");
}

#[tokio::test]
async fn sigkill_under_load_loses_no_answered_row_on_postgres() {
    let Some(db) = TestDb::create().await else { return };
    sigkill_loses_no_answered_row(&["--database-url", &db.url], &db.url).await;
}

#[tokio::test]
async fn sigkill_under_load_loses_no_answered_row_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let url = format!("sqlite://{data}/passerelle.db");
    sigkill_loses_no_answered_row(&["--data-dir", data], &url).await;
}

#[tokio::test]
async fn postgres_down_fails_closed_then_recovers() {
    let Some(cluster) = Cluster::start() else { return };
    let store = ["--database-url", cluster.url.as_str()];
    let (_sim, sim) = simulators().await;
    let (_jti, jwt) = issue(&store).await;
    let (_gateway, base) = replica(&store, &sim).await;
    let client = reqwest::Client::new();
    let ok = call(&client, &base, &jwt, &pairs(AXELLE)).send().await.unwrap();
    assert_eq!(ok.status(), 200);

    cluster.down();
    // The answer is in the response cache and the token in the token cache: only
    // the journal stands between the caller and the data.
    for query in [pairs(AXELLE), synthetic("DOWN")] {
        let started = Instant::now();
        let refused = call(&client, &base, &jwt, &query).send().await.unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "failing took {:?}",
            started.elapsed()
        );
        let body = assert_error(refused, 503, "00503").await;
        assert!(!body.to_string().contains("quotient_familial\":{"), "{body}");
    }

    cluster.up();
    let back = eventually(Duration::from_secs(30), || async {
        call(&client, &base, &jwt, &pairs(AXELLE))
            .send()
            .await
            .unwrap()
            .status()
            == 200
    })
    .await;
    assert!(back, "the gateway did not recover once PostgreSQL was back");
    let (ok, out) = cli(&["journal", "verify", "--database-url", &cluster.url]).await;
    assert!(ok && out.contains("OK"), "{out}");
}

/// The journal writes every batch on one connection of its own (no pool lending a
/// connection per batch). PostgreSQL closes it between two calls (a restart, a pooler,
/// an operator's `pg_terminate_backend`): the next call is answered all the same, its
/// row written on a new connection, and the chain verifies.
#[tokio::test]
async fn a_journal_connection_closed_by_postgres_costs_no_answer() {
    use sqlx::Connection;
    let Some(db) = TestDb::create().await else { return };
    let store = ["--database-url", db.url.as_str()];
    let (_sim, sim) = simulators().await;
    let (_jti, jwt) = issue(&store).await;
    let (_gateway, base) = replica(&store, &sim).await;
    let client = reqwest::Client::new();
    let first = call(&client, &base, &jwt, &pairs(AXELLE)).send().await.unwrap();
    assert_eq!(first.status(), 200);

    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let kept = journal_backends(&mut admin).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    for name in ["KEPTONE", "KEPTTWO"] {
        let answer = call(&client, &base, &jwt, &synthetic(name)).send().await.unwrap();
        assert_eq!(answer.status(), 404);
    }
    assert_eq!(
        journal_backends(&mut admin).await,
        kept,
        "a batch went on another connection"
    );

    let closed: Vec<(bool,)> = sqlx::query_as(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE application_name = 'passerelle-journal' AND datname = current_database()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!closed.is_empty() && closed.iter().all(|(done,)| *done), "{closed:?}");
    let gone = eventually(Duration::from_secs(5), || async {
        let url = db.url.clone();
        let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
        let (left,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM pg_stat_activity \
             WHERE application_name = 'passerelle-journal' AND datname = current_database()",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        left == 0
    })
    .await;
    assert!(gone, "the journal's connection is still there");

    let second = call(&client, &base, &jwt, &synthetic("TERMINATED"))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 404, "{}", second.text().await.unwrap());
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM journal")
        .fetch_one(&mut admin)
        .await
        .unwrap();
    assert_eq!(rows, 4);
    let (ok, out) = cli(&["journal", "verify", "--database-url", &db.url]).await;
    assert!(ok && out.contains("OK"), "{out}");
}

/// The server processes of the journal's connections.
async fn journal_backends(admin: &mut sqlx::PgConnection) -> Vec<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity \
         WHERE application_name = 'passerelle-journal' AND datname = current_database() ORDER BY pid",
    )
    .fetch_all(admin)
    .await
    .unwrap()
}
