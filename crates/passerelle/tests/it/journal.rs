//! The tamper-evident journal through `passerelle journal …`, on rows written by a
//! real gateway: verify holds, then names the row an attacker changed or removed;
//! export writes every call; purge keeps what is left verifiable.

use sqlx::Connection;

use crate::binary::cli;
use crate::helpers::*;

const QF: &str = "/v3/dss/quotient_familial/identite";

/// A gateway with a checkpoint every 3 rows, and the ids of `calls` calls made to it.
async fn journaled_calls(calls: usize) -> (TestApp, Vec<String>) {
    let app = TestApp::builder().checkpoint_rows(3).start().await;
    let jwt = app.token(&["cnaf_quotient_familial"]).await;
    let mut ids = Vec::new();
    for _ in 0..calls {
        let response = app.get(QF, &synthetic(&unknown_name()), Some(&jwt)).await;
        ids.push(response.headers()["x-request-id"].to_str().unwrap().to_string());
    }
    (app, ids)
}

fn data_dir(app: &TestApp) -> String {
    app.state.config.data_dir.display().to_string()
}

async fn journal(app: &TestApp, args: &[&str]) -> (bool, String) {
    let dir = data_dir(app);
    let mut all = vec!["journal"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--data-dir", &dir]);
    cli(&all).await
}

async fn sql(app: &TestApp, statement: &str, bind: &str) {
    let url = app.state.config.database_url();
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query(statement).bind(bind).execute(&mut c).await.unwrap();
}

#[tokio::test]
async fn verify_holds_then_names_an_altered_row() {
    let (app, ids) = journaled_calls(7).await;
    let (ok, out) = journal(&app, &["verify"]).await;
    assert!(ok, "{out}");
    assert!(out.contains("1 writers, 7 rows chained") && out.contains("OK"), "{out}");
    // Checkpoints after rows 3 and 6: one row is not signed yet.
    assert!(out.contains("2 seals verified, 1 rows after"), "{out}");

    sql(&app, "UPDATE journal SET status = 200 WHERE request_id = ?", &ids[4]).await;
    let (ok, out) = journal(&app, &["verify"]).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!("seq 5 (request {}", ids[4])) && out.contains("altered"),
        "{out}"
    );
}

#[tokio::test]
async fn verify_names_a_removed_row() {
    let (app, ids) = journaled_calls(5).await;
    sql(&app, "DELETE FROM journal WHERE request_id = ?", &ids[1]).await;
    let (ok, out) = journal(&app, &["verify"]).await;
    assert!(!ok, "{out}");
    assert!(out.contains("seq 2 is missing") && out.contains(&ids[2]), "{out}");
}

#[tokio::test]
async fn verify_sees_a_truncated_chain_up_to_its_checkpoint() {
    let (app, ids) = journaled_calls(4).await;
    // Rows 3 and 4 go; a checkpoint signed row 3.
    sql(&app, "DELETE FROM journal WHERE request_id = ?", &ids[3]).await;
    sql(&app, "DELETE FROM journal WHERE request_id = ?", &ids[2]).await;
    let (ok, out) = journal(&app, &["verify"]).await;
    assert!(!ok && out.contains("rows after seq 2 are missing"), "{out}");
}

#[tokio::test]
async fn export_writes_every_call_as_json_lines() {
    let (app, ids) = journaled_calls(4).await;
    let file = app.state.config.data_dir.join("export.jsonl");
    let (ok, out) = journal(&app, &["export", "--output", file.to_str().unwrap()]).await;
    assert!(ok && out.contains("4 rows written"), "{out}");
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(
        lines
            .iter()
            .map(|l| l["request_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ids
    );
    let first = &lines[0];
    assert_eq!(
        (first["endpoint"].as_str(), first["purpose"]["recipient"].as_str()),
        (Some(QF), Some(RECIPIENT))
    );
    assert_eq!((first["seq"].as_i64(), first["status"].as_i64()), (Some(1), Some(404)));
    assert_eq!(first["params_hash"].as_str().unwrap().len(), 128);
    assert_eq!(lines[1]["prev_hash"], first["hash"]);
    assert!(first["caller"]["token"].is_string() && first["writer"].is_string() && first["duration_ms"].is_number());
    assert!(!text.contains("TEST"), "no identity in clear");

    let (ok, out) = journal(&app, &["export", "--since", "2999-01-01"]).await;
    assert!(ok && out.trim().is_empty(), "{out}");
    let (ok, out) = journal(&app, &["export", "--until", "2000-01-01T00:00:00Z"]).await;
    assert!(ok && out.trim().is_empty(), "{out}");
}

#[tokio::test]
async fn purge_removes_old_rows_and_the_rest_still_verifies() {
    let (app, ids) = journaled_calls(3).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let cut = chrono::Utc::now().to_rfc3339();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let jwt = app.token(&["cnaf_quotient_familial"]).await;
    for _ in 0..2 {
        app.get(QF, &synthetic(&unknown_name()), Some(&jwt)).await;
    }
    let (ok, out) = journal(&app, &["purge", "--older-than", &cut]).await;
    assert!(ok && out.contains("purged 3 rows"), "{out}");
    let (ok, out) = journal(&app, &["export"]).await;
    assert!(ok && out.lines().count() == 2 && !out.contains(&ids[0]), "{out}");
    let (ok, out) = journal(&app, &["verify"]).await;
    assert!(ok && out.contains("2 rows chained"), "{out}");

    // The default retention (36 months) keeps everything written today.
    let (ok, out) = journal(&app, &["purge"]).await;
    assert!(ok && out.contains("purged 0 rows"), "{out}");
}

#[tokio::test]
async fn stats_count_calls_per_token_endpoint_and_status() {
    let (app, _) = journaled_calls(3).await;
    let (ok, out) = journal(&app, &["stats"]).await;
    assert!(ok, "{out}");
    let line = out.lines().find(|l| l.contains(QF)).unwrap();
    assert!(line.contains("404") && line.trim_end().ends_with('3'), "{out}");
}
