//! What the gateway makes of odd upstream bodies, over real HTTP: an empty record, an
//! answer checked against the published schema, and a body far past the cap.

use std::time::Duration;

use chrono::NaiveDate;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::helpers::*;

const SDH_PATH: &str = "/v3/sdh/statut_sportif/identifiant";
const SDH_SCHEMA: &str = include_str!("schemas/sdh_statut_sportif_200.yaml");

fn athlete(identifiant: &str) -> Vec<(String, String)> {
    vec![("identifiant".to_string(), identifiant.to_string())]
}

/// An upstream 200 with `{}` carries no athlete: it is the provider's unknown error.
#[tokio::test]
async fn an_empty_sdh_record_is_502_41999() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let body = assert_error(app.get(SDH_PATH, &athlete("900009"), Some(&jwt)).await, 502, "41999").await;
    assert_eq!(body["errors"][0]["meta"]["provider"], "SDH");
}

/// `12345` has no status covering today (the sandbox's ran until 2025-09-30): the
/// answer still fits the published schema, which requires `informations_statut`.
#[tokio::test]
async fn an_athlete_without_a_current_status_fits_the_published_schema() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let (status, body) = json(app.get(SDH_PATH, &athlete("12345"), Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    let schema: Value = serde_yaml::from_str(SDH_SCHEMA).unwrap();
    let mut broken = Vec::new();
    check(&body, &schema, "", &mut broken);
    assert!(broken.is_empty(), "{broken:#?}\n{body:#}");
    let data = &body["data"];
    assert_eq!(data["est_sportif_de_haut_niveau"], false);
    assert_eq!(data["informations_statut"]["periode"]["date_fin_statut"], "2025-09-30");
    assert_eq!(data["informations_statuts_precedents"][0]["fiche"], 789456);
}

/// Where `value` breaks `schema`, by the OpenAPI 3.0 rules our answers can break:
/// type, `nullable`, `required`, `enum`, `format: date`, `additionalProperties: false`.
fn check(value: &Value, schema: &Value, at: &str, broken: &mut Vec<String>) {
    if value.is_null() {
        if schema["nullable"] != true {
            broken.push(format!("{at}: null, not nullable"));
        }
        return;
    }
    let fits = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        _ => true,
    };
    if !fits {
        broken.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    if schema["enum"]
        .as_array()
        .is_some_and(|choices| !choices.contains(value))
    {
        broken.push(format!("{at}: {value} is not in the enum"));
    }
    let date = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok();
    if schema["format"] == "date" && !value.as_str().is_some_and(date) {
        broken.push(format!("{at}: {value} is not a date"));
    }
    if let Some(object) = value.as_object() {
        let required = schema["required"].as_array().into_iter().flatten();
        for key in required.filter_map(Value::as_str) {
            if !object.contains_key(key) {
                broken.push(format!("{at}/{key}: required, missing"));
            }
        }
        for (key, member) in object {
            match schema["properties"].get(key) {
                Some(property) => check(member, property, &format!("{at}/{key}"), broken),
                None if schema["additionalProperties"] == false => broken.push(format!("{at}/{key}: not allowed")),
                None => {}
            }
        }
    }
    for (i, item) in value.as_array().into_iter().flatten().enumerate() {
        check(item, &schema["items"], &format!("{at}/{i}"), broken);
    }
}

/// An upstream that answers one request with `total` bytes of chunked body and says
/// how many it managed to write before the other side hung up.
async fn endless_upstream(total: usize) -> (String, tokio::task::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/statut_sportif", listener.local_addr().unwrap());
    let written = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 8192];
        let _ = socket.read(&mut request).await;
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
        if socket.write_all(head.as_bytes()).await.is_err() {
            return 0;
        }
        let chunk = [format!("{:x}\r\n", 64 * 1024).as_bytes(), &[b' '; 64 * 1024], b"\r\n"].concat();
        let mut sent = 0;
        while sent < total && socket.write_all(&chunk).await.is_ok() {
            sent += 64 * 1024;
        }
        let _ = socket.write_all(b"0\r\n\r\n").await;
        sent
    });
    (url, written)
}

/// A 50 MB answer is dropped at the 2 MiB cap: 502 `41999`, long before the upstream
/// could send it all (it can only fill the sockets' buffers after the gateway hangs up).
#[tokio::test]
async fn a_huge_upstream_answer_is_cut_at_the_cap() {
    let total = 50 * 1024 * 1024;
    let (url, written) = endless_upstream(total).await;
    let app = TestApp::builder().sdh_endpoint_url(&url).start().await;
    let jwt = app.all_scopes_token().await;
    let body = assert_error(app.get(SDH_PATH, &athlete("900001"), Some(&jwt)).await, 502, "41999").await;
    assert_eq!(body["errors"][0]["meta"]["provider"], "SDH");
    let sent = tokio::time::timeout(Duration::from_secs(10), written)
        .await
        .expect("the upstream stops once the gateway hangs up")
        .unwrap();
    println!("the upstream wrote {sent} of {total} bytes");
    assert!(sent < total / 2, "the upstream wrote {sent} of {total} bytes");
}
