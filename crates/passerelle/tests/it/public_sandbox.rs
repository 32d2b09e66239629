//! The self-service sandbox token: on `passerelle sandbox` (the real binary), a
//! visitor takes a token at `/bac-a-sable` without any habilitation; the curl the page
//! prints answers with the case's payload, and the token opens no other gateway.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use regex::Regex;
use reqwest::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::Value;

use crate::binary::Running;
use crate::browser::Browser;
use crate::helpers::*;

fn cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sandbox/tests/cases")
}

/// `passerelle sandbox` on the repository's own cases; its two base URLs.
async fn sandbox(data: &Path) -> (Running, String, String) {
    let dsfr = dsfr_dir();
    let mut running = Running::spawn(
        &[
            "sandbox",
            "--cases",
            cases().to_str().unwrap(),
            "--no-watch",
            "--listen",
            "127.0.0.1:0",
            "--entreprise-listen",
            "127.0.0.1:0",
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &[("PASSERELLE_PUBLIC_SITE__DSFR_DIR", dsfr.to_str().unwrap())],
    );
    let base = running.line_after("gateway:").await;
    let entreprise = running.line_after("API Entreprise:").await;
    (running, base, entreprise)
}

/// The page's form: its CSRF field and the cookie that goes with it.
async fn form(client: &reqwest::Client, base: &str) -> (String, String) {
    let page = client.get(format!("{base}/bac-a-sable")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
    let cookie = page.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let body = page.text().await.unwrap();
    let csrf = Regex::new(r#"name="csrf" value="([0-9a-f]+)""#)
        .unwrap()
        .captures(&body)
        .unwrap()[1]
        .to_string();
    (csrf, cookie)
}

async fn take(client: &reqwest::Client, base: &str, cookie: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
    let answer = client
        .post(format!("{base}/bac-a-sable"))
        .header(COOKIE, cookie)
        .form(&fields.iter().copied().collect::<HashMap<_, _>>())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    (status, answer.text().await.unwrap())
}

/// A textarea's text, as the browser would show it.
fn textarea(body: &str, id: &str) -> String {
    let found = Regex::new(&format!(r#"(?s)<textarea[^>]*id="{id}"[^>]*>(.*?)</textarea>"#)).unwrap();
    let raw = &found.captures(body).unwrap_or_else(|| panic!("no #{id} in {body}"))[1];
    let numeric = Regex::new(r"&#(x?)([0-9a-fA-F]+);").unwrap();
    let text = numeric.replace_all(raw, |c: &regex::Captures| {
        let radix = if &c[1] == "x" { 16 } else { 10 };
        let code = u32::from_str_radix(&c[2], radix).unwrap();
        char::from_u32(code).unwrap().to_string()
    });
    text.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// Runs the page's curl line as a user pastes it in a shell.
fn run_curl(line: &str) -> Value {
    assert!(line.starts_with("curl -sg -H 'Authorization: Bearer "), "{line}");
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg(line)
        .output()
        .expect("curl runs");
    assert!(output.status.success(), "{output:?}");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stdout)))
}

fn case_payload() -> Value {
    let file = cases().join("api_particulier_v3_mesri_statut_etudiant_with_ine/ine_655888578AE.yaml");
    let case: serde_yaml::Value = serde_yaml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    serde_json::from_str(case["payload"].as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_visitor_takes_a_sandbox_token_and_its_curl_answers_the_cases_payload() {
    let data = tempfile::tempdir().unwrap();
    let (_sandbox, base, entreprise) = sandbox(data.path()).await;
    let client = reqwest::Client::new();
    let (csrf, cookie) = form(&client, &base).await;

    // A form posted from elsewhere carries no cookie of ours: refused.
    let (status, body) = take(&client, &base, "", &[("nom", "Essai"), ("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, body) = take(&client, &base, &cookie, &[("nom", "  "), ("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("Indiquez le nom"), "{body}");

    let (status, body) = take(
        &client,
        &base,
        &cookie,
        &[("nom", "Logiciel <Cantine>"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("Logiciel &lt;Cantine&gt;") || !body.contains("<Cantine>"));
    let jwt = textarea(&body, "jeton");
    let curl = textarea(&body, "essai");
    assert!(curl.contains(&jwt) && curl.contains(&base), "{curl}");
    assert_eq!(run_curl(&curl), case_payload());

    // The token holds every scope of its bouquet, and only of its bouquet.
    let privileges = client
        .get(format!("{entreprise}/privileges"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(privileges.status(), StatusCode::UNAUTHORIZED);

    // Signed by the sandbox's keys and kept in its store: production does not know it.
    let production = TestApp::builder().start().await;
    let refused = production
        .client
        .get(format!(
            "{}/v3/mesri/statut_etudiant/ine?recipient={RECIPIENT}&ine=655888578AE",
            production.base
        ))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_address_takes_five_tokens_an_hour_and_each_bouquet_issues_its_own() {
    let data = tempfile::tempdir().unwrap();
    let (_sandbox, base, entreprise) = sandbox(data.path()).await;
    let client = reqwest::Client::new();
    let (csrf, cookie) = form(&client, &base).await;
    for _ in 0..5 {
        let (status, _) = take(&client, &base, &cookie, &[("nom", "Essai"), ("csrf", &csrf)]).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, body) = take(&client, &base, &cookie, &[("nom", "Essai"), ("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(body.contains("réutilisez-les"), "{body}");
    assert!(!body.contains("id=\"jeton\""));

    let (csrf, cookie) = form(&client, &entreprise).await;
    let (status, body) = take(&client, &entreprise, &cookie, &[("nom", "Essai"), ("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let jwt = textarea(&body, "jeton");
    let privileges: Value = client
        .get(format!("{entreprise}/privileges"))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let scopes = privileges["data"]["privileges"].as_array().unwrap();
    assert_eq!(
        scopes.len(),
        passerelle_entreprise::bouquet(passerelle_sandbox::entreprise::registry())
            .scopes()
            .len()
    );
    let curl = textarea(&body, "essai");
    assert!(run_curl(&curl)["data"].is_object(), "{curl}");
}

#[tokio::test]
async fn a_production_gateway_sends_visitors_to_its_sandbox_and_issues_nothing() {
    let app = TestApp::builder()
        .public_site(|site| site.sandbox_url = Some("https://sandbox.example".into()))
        .start()
        .await;
    let page = app
        .client
        .get(format!("{}/bac-a-sable", app.base))
        .send()
        .await
        .unwrap();
    let body = page.text().await.unwrap();
    assert!(body.contains(r#"href="https://sandbox.example/bac-a-sable""#), "{body}");
    assert!(!body.contains("id=\"obtenir\""));
    let (status, body) = take(
        &app.client,
        &app.base,
        "bac_a_sable=00",
        &[("nom", "Essai"), ("csrf", "00")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.contains("id=\"jeton\""));
    assert!(app.store.tokens().await.unwrap().is_empty(), "no token was stored");

    let bare = TestApp::builder().public_site(|_| {}).start().await;
    let body = bare
        .client
        .get(format!("{}/bac-a-sable", bare.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("passerelle sandbox --cases"), "{body}");
}

/// The same, in a real browser: the form, the token, the curl pasted in a shell.
#[tokio::test]
async fn in_a_browser_the_sandbox_token_is_taken_and_used_in_a_curl() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let data = tempfile::tempdir().unwrap();
    let (_sandbox, base, _) = sandbox(data.path()).await;
    browser.goto(&format!("{base}/")).await;
    browser.click("a[href=\"/bac-a-sable\"]").await;
    browser
        .find("#nom")
        .await
        .send_keys("Mairie de Sainte-Colombe (tests)")
        .await
        .unwrap();
    browser.screenshot("bac-a-sable-01-formulaire").await;
    browser.click("#obtenir").await;
    let curl = browser.find("#essai").await.prop("value").await.unwrap().unwrap();
    browser.screenshot("bac-a-sable-02-jeton").await;
    assert_eq!(run_curl(&curl), case_payload());
    browser.close().await;
}
