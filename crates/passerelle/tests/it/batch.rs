//! `passerelle batch` against the real gateway and simulators: paced by the token's own
//! per-minute limit, stopped and resumed, every row called exactly once (by the journal).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Instant;

use passerelle_batch::Config;
use passerelle_store::CallerId;
use passerelle_tokens::TokenRequest;

use crate::binary::{cli, Running};
use crate::helpers::{entreprise_token_request, token_request, TestApp, RECIPIENT};

const QUOTIENT_FAMILIAL: &str = "/v3/dss/quotient_familial/identite";
const ROWS: usize = 200;
const PER_MINUTE: u32 = 150;

/// Row `i`: AXELLE MARTIN (known: 200), someone the simulator does not know (404), or
/// a synthetic person with no affiliation (404), in turn.
fn people_csv(path: &Path, rows: usize) {
    let mut text = String::from(
        "nomNaissance,prenoms,anneeDateNaissance,moisDateNaissance,jourDateNaissance,sexeEtatCivil,codeCogInseePaysNaissance,codeCogInseeCommuneNaissance\n",
    );
    for i in 0..rows {
        let line = match i % 3 {
            0 => "MARTIN,AXELLE,1989,12,3,F,99100,35238".to_string(),
            1 => format!("INCONNU{},JEAN MARIE,1980,1,1,M,99100,75056", letters(i)),
            _ => "NON REFERENCE,TEST,1980,1,1,M,99100,75056".to_string(),
        };
        text.push_str(&line);
        text.push('\n');
    }
    std::fs::write(path, text).unwrap();
}

fn letters(mut n: usize) -> String {
    let mut s = String::new();
    loop {
        s.push((b'A' + (n % 26) as u8) as char);
        n /= 26;
        if n == 0 {
            return s;
        }
    }
}

pub fn output_rows(path: &Path) -> Vec<HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
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
async fn a_paced_batch_stopped_and_resumed_calls_every_row_once() {
    let app = TestApp::start().await;
    let (jti, token) = app
        .issue(TokenRequest {
            rate_limit_per_minute: Some(PER_MINUTE),
            ..token_request(&["cnaf_quotient_familial"])
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("people.csv");
    let output = dir.path().join("results.csv");
    let token_file = dir.path().join("token");
    people_csv(&input, ROWS);
    std::fs::write(&token_file, &token).unwrap();

    // First run: the library, stopped after 60 rows.
    let mut config = Config::new(&app.base, &token, QUOTIENT_FAMILIAL, &input, &output);
    config.fixed.recipient = Some(RECIPIENT.into());
    config.max_rows = Some(60);
    let started = Instant::now();
    let first = passerelle_batch::run(&config).await.unwrap();
    assert_eq!(
        (first.ok + first.errors.values().sum::<u64>(), first.skipped),
        (60, 0),
        "{first}"
    );
    assert_eq!(output_rows(&output).len(), 60);

    // Second run: the binary resumes, past the burst of the per-minute limit.
    let (ok, printed) = cli(&batch_args(&app.base, &token_file, &input, &output)).await;
    let elapsed = started.elapsed();
    assert!(ok, "{printed}");
    assert!(printed.contains("200 rows (60 already done)"), "{printed}");
    assert!(!printed.contains(&token));

    let rows = output_rows(&output);
    let numbers: Vec<String> = rows.iter().map(|r| r["row"].clone()).collect();
    let expected: Vec<String> = (1..=ROWS).map(|n| n.to_string()).collect();
    assert_eq!(numbers, expected, "every row once, in order");
    for (i, row) in rows.iter().enumerate() {
        let status = if i % 3 == 0 { "200" } else { "404" };
        assert_eq!(row["status"], status, "{row:?}");
    }
    assert_eq!(rows[0]["prenoms"], "AXELLE");
    assert!(rows[0]["data"].starts_with('{'), "{:?}", rows[0]);
    assert!(!rows[1]["error_code"].is_empty() && rows[1]["data"].is_empty());
    assert!(!std::fs::read_to_string(&output).unwrap().contains(&token));

    // The journal: one call per row, each the one written, and no 429.
    let journal: Vec<_> = app
        .store
        .recent_journal(10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.caller == Some(CallerId::Token(jti)))
        .collect();
    assert!(journal.iter().all(|r| r.status != 429), "the pacing avoided every 429");
    assert_eq!(journal.len(), ROWS, "no row called twice");
    let journaled: HashSet<&str> = journal.iter().map(|r| r.request_id.as_str()).collect();
    let written: HashSet<&str> = rows.iter().map(|r| r["request_id"].as_str()).collect();
    assert_eq!(journaled, written);

    // 200 calls for a burst of 150 then 2.5 a second: at least 50 / 2.5 = 20 s.
    println!(
        "{ROWS} rows in {:.1} s at {PER_MINUTE}/min; first run: {first}; second: {printed}",
        elapsed.as_secs_f64()
    );
    assert!(elapsed.as_secs_f64() > 18.0, "{elapsed:?}");
}

/// `passerelle batch` on the quotient familial, for `recipient`.
pub fn batch_args<'a>(base: &'a str, token_file: &'a Path, input: &'a Path, output: &'a Path) -> Vec<&'a str> {
    vec![
        "batch",
        "--base-url",
        base,
        "--token-file",
        token_file.to_str().unwrap(),
        "--endpoint",
        QUOTIENT_FAMILIAL,
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--recipient",
        RECIPIENT,
    ]
}

/// `kill -9` in the middle of the paced part, then a resume: every row once in the
/// output, and at most one call made twice (the one in flight at the kill).
#[tokio::test]
async fn a_batch_killed_with_sigkill_resumes_without_losing_a_row() {
    const KILLED_ROWS: usize = 130;
    let app = TestApp::start().await;
    let (jti, token) = app
        .issue(TokenRequest {
            rate_limit_per_minute: Some(120),
            ..token_request(&["cnaf_quotient_familial"])
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("people.csv");
    let output = dir.path().join("results.csv");
    let token_file = dir.path().join("token");
    people_csv(&input, KILLED_ROWS);
    std::fs::write(&token_file, &token).unwrap();
    let args = batch_args(&app.base, &token_file, &input, &output);

    let mut running = Running::spawn(&args, &[]);
    let lines = || std::fs::read_to_string(&output).map(|t| t.lines().count()).unwrap_or(0);
    let waited = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        // The header and 124 rows: past the burst of 120, in the paced part.
        while lines() < 125 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "the batch wrote its rows in time");
    running.child.start_kill().unwrap();
    running.child.wait().await.unwrap();
    let written = lines() - 1;
    assert!(written < KILLED_ROWS, "killed before the end ({written} rows)");

    let (ok, printed) = cli(&args).await;
    assert!(ok, "{printed}");
    let rows = output_rows(&output);
    let numbers: Vec<String> = rows.iter().map(|r| r["row"].clone()).collect();
    let expected: Vec<String> = (1..=KILLED_ROWS).map(|n| n.to_string()).collect();
    assert_eq!(numbers, expected, "every row once, in order");
    let journal: Vec<_> = app
        .store
        .recent_journal(10_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.caller == Some(CallerId::Token(jti)))
        .collect();
    // The resumed process knows nothing of the quota before its first answer: that
    // first call may get the one 429, waited out and not written.
    let refused = journal.iter().filter(|r| r.status == 429).count();
    assert!(refused <= 1, "{refused} calls refused");
    assert!(rows.iter().all(|r| r["status"] != "429"));
    let answered = journal.len() - refused;
    assert!(
        (KILLED_ROWS..=KILLED_ROWS + 1).contains(&answered),
        "{answered} calls answered for {KILLED_ROWS} rows"
    );
}

#[tokio::test]
async fn an_entreprise_batch_sends_context_and_object_and_fills_path_parameters() {
    let app = TestApp::start().await;
    let (_, token) = app.issue(entreprise_token_request()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("companies.csv");
    let mapping = dir.path().join("mapping.csv");
    let output = dir.path().join("results.csv");
    std::fs::write(&input, "SIREN,Notes\n775672272,client A\n000000000,client B\n").unwrap();
    std::fs::write(&mapping, "column,parameter\nSIREN,siren\nNotes,\n").unwrap();
    let mut config = Config::new(
        &app.entreprise_base,
        &token,
        "/v3/insee/sirene/unites_legales/{siren}",
        &input,
        &output,
    );
    config.mapping = passerelle_batch::Mapping::read(&mapping).unwrap();
    config.fixed.recipient = Some(RECIPIENT.into());
    let without_purpose = passerelle_batch::run(&config).await.unwrap();
    assert_eq!(without_purpose.errors.get(&422), Some(&2), "{without_purpose}");

    let output = dir.path().join("results-2.csv");
    config.output = output.clone();
    config.fixed.context = Some("Marché public 2026-042".into());
    config.fixed.object = Some("Vérification d'une candidature".into());
    let summary = passerelle_batch::run(&config).await.unwrap();
    let rows = output_rows(&output);
    assert_eq!(rows[0]["status"], "200", "{summary} {rows:?}");
    assert!(rows[0]["data"].contains("775672272"), "{:?}", rows[0]);
    assert_ne!(rows[1]["status"], "200", "{:?}", rows[1]);
    assert!(!rows[1]["error_code"].is_empty(), "{:?}", rows[1]);
}
