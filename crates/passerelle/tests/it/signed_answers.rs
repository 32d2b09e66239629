//! Signed answers over real HTTP: a caller asks with `Accept-Signature`, checks the
//! detached JWS with the keys the bouquet publishes, and finds the body's hash in the
//! call's journal row; a rotation keeps stored answers verifiable.

use std::time::Duration;

use passerelle_signature::{sha256_hex, verify, AnswerClaims, Jwks, VerifyError};
use reqwest::Response;

use crate::binary::cli;
use crate::helpers::*;

const QF: &str = "/v3/dss/quotient_familial/identite";
const ASK: &[(&str, &str)] = &[("Accept-Signature", "jws")];

struct Signed {
    status: u16,
    request_id: String,
    target: String,
    body: Vec<u8>,
    signature: String,
}

async fn signed(response: Response) -> Signed {
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    let request_id = header("x-request-id").unwrap();
    let signature = header("x-jws-signature").expect("a signature was asked for");
    let url = response.url();
    let target = format!("{}?{}", url.path(), url.query().unwrap_or(""));
    let body = response.bytes().await.unwrap().to_vec();
    Signed {
        status,
        request_id,
        target,
        body,
        signature,
    }
}

async fn jwks(base: &str) -> Jwks {
    let response = reqwest::get(format!("{base}/api/answers_jwks")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/jwk-set+json");
    Jwks::parse(&response.text().await.unwrap()).unwrap()
}

async fn signed_qf(app: &TestApp, token: &str) -> Signed {
    signed(app.get_raw(QF, &with_recipient(&pairs(AXELLE)), Some(token), ASK).await).await
}

#[tokio::test]
async fn a_signed_answer_verifies_binds_its_call_and_a_changed_byte_fails() {
    let app = TestApp::start().await;
    let token = app.token(&["cnaf_quotient_familial"]).await;
    let answer = signed_qf(&app, &token).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let keys = jwks(&app.base).await;

    let claims = verify(&keys, &answer.body, &answer.signature).unwrap();
    assert_eq!(
        (
            claims.request_id.as_str(),
            claims.bouquet.as_str(),
            claims.endpoint.as_str()
        ),
        (answer.request_id.as_str(), "particulier", QF)
    );
    assert_eq!(claims.status, 200);
    assert_eq!(claims.target_sha256, sha256_hex(answer.target.as_bytes()));
    assert_eq!(claims.purpose.get("recipient").map(String::as_str), Some(RECIPIENT));
    assert!((chrono::Utc::now().timestamp() - claims.iat).abs() < 60);

    let mut changed = answer.body.clone();
    let at = changed.len() / 2;
    changed[at] ^= 0x01;
    assert!(matches!(
        verify(&keys, &changed, &answer.signature),
        Err(VerifyError::BadSignature(_))
    ));
    let mut forged = answer.signature.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    assert!(verify(&keys, &answer.body, &forged).is_err());
}

#[tokio::test]
async fn the_journal_row_keeps_the_signed_body_hash_and_the_chain_holds() {
    let app = TestApp::start().await;
    let token = app.token(&["cnaf_quotient_familial"]).await;
    let answer = signed_qf(&app, &token).await;
    let plain = app.get(QF, &pairs(AXELLE), Some(&token)).await;
    assert!(plain.headers().get("x-jws-signature").is_none(), "only when asked");
    let plain_id = plain.headers()["x-request-id"].to_str().unwrap().to_string();

    let rows = app.store.recent_journal(10).await.unwrap();
    let row = |id: &str| rows.iter().find(|r| r.request_id == id).unwrap().clone();
    assert_eq!(row(&answer.request_id).body_sha256, Some(sha256_hex(&answer.body)));
    assert_eq!(row(&plain_id).body_sha256, None);
    let dir = app.state.config.data_dir.display().to_string();
    let (ok, out) = cli(&["journal", "verify", "--data-dir", &dir]).await;
    assert!(ok && out.contains("OK"), "{out}");
}

#[tokio::test]
async fn errors_are_signed_with_their_status() {
    let app = TestApp::start().await;
    let token = app.token(&["cnaf_quotient_familial"]).await;
    // A scope the token lacks: refused by the handler, signed all the same.
    let refused = signed(
        app.get_raw(
            "/v3/dss/revenu_solidarite_active/identite",
            &with_recipient(&pairs(AXELLE)),
            Some(&token),
            ASK,
        )
        .await,
    )
    .await;
    assert_eq!(refused.status, 403);
    let claims: AnswerClaims = verify(&jwks(&app.base).await, &refused.body, &refused.signature).unwrap();
    assert_eq!(claims.status, 403);
    // No token at all: refused before the handler, signed too.
    let anonymous = signed(app.get_raw(QF, &with_recipient(&pairs(AXELLE)), None, ASK).await).await;
    assert_eq!(
        verify(&jwks(&app.base).await, &anonymous.body, &anonymous.signature)
            .unwrap()
            .status,
        401
    );
}

#[tokio::test]
async fn api_entreprise_signs_its_context_recipient_and_object() {
    let app = TestApp::start().await;
    let token = app.issue(entreprise_token_request()).await.1;
    let purpose = [
        ("context", "Marché public 2026-042"),
        ("recipient", RECIPIENT),
        ("object", "Vérification d'une candidature"),
    ];
    let response = app
        .client
        .get(format!(
            "{}/v3/insee/sirene/unites_legales/775672272",
            app.entreprise_base
        ))
        .query(&purpose)
        .bearer_auth(&token)
        .header("Accept-Signature", "jws")
        .send()
        .await
        .unwrap();
    let answer = signed(response).await;
    assert_eq!(answer.status, 200, "{}", String::from_utf8_lossy(&answer.body));
    let claims = verify(&jwks(&app.entreprise_base).await, &answer.body, &answer.signature).unwrap();
    assert_eq!(claims.bouquet, "entreprise");
    assert_eq!(claims.endpoint, "/v3/insee/sirene/unites_legales/{siren}");
    let expected: std::collections::BTreeMap<String, String> =
        purpose.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    assert_eq!(claims.purpose, expected);
}

/// `keys rotate --answers` on a running gateway: the new key is published, then signs
/// once due; an answer signed before verifies with the key set served after.
#[tokio::test]
async fn a_rotation_reaches_the_running_gateway_and_keeps_old_answers_verifiable() {
    let app = TestApp::builder().answer_keys_refresh_secs(1).start().await;
    let token = app.token(&["cnaf_quotient_familial"]).await;
    let before = signed_qf(&app, &token).await;
    let old_kid = app.state.answers.active_kid().unwrap();

    let dir = app.state.config.data_dir.display().to_string();
    let (ok, out) = cli(&["keys", "rotate", "--answers", "--activate-in", "2", "--data-dir", &dir]).await;
    assert!(ok, "{out}");
    let new_kid = out.split_whitespace().nth(3).unwrap().trim_end_matches(',').to_string();
    assert_ne!(new_kid, old_kid);

    let mut after = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let answer = signed_qf(&app, &token).await;
        let keys = jwks(&app.base).await;
        verify(&keys, &answer.body, &answer.signature).expect("a published key signs every answer");
        if kid(&answer.signature) == new_kid {
            after = Some((answer, keys));
            break;
        }
    }
    let (after, keys) = after.expect("the new key signs within the refresh and its delay");
    assert!(verify(&keys, &after.body, &after.signature).is_ok());
    assert_eq!(kid(&before.signature), old_kid);
    assert!(
        verify(&keys, &before.body, &before.signature).is_ok(),
        "old answers keep verifying"
    );
}

fn kid(signature: &str) -> String {
    use base64::Engine;
    let header = signature.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header).unwrap();
    serde_json::from_slice::<serde_json::Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `passerelle verify-answer` with the JWKS URL, then offline with the saved key set.
#[tokio::test]
async fn verify_answer_checks_online_and_offline_and_names_a_changed_body() {
    let app = TestApp::start().await;
    let token = app.token(&["cnaf_quotient_familial"]).await;
    let answer = signed_qf(&app, &token).await;
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    std::fs::write(path("body.json"), &answer.body).unwrap();
    std::fs::write(
        path("signature.txt"),
        format!("X-JWS-Signature: {}\r\n", answer.signature),
    )
    .unwrap();
    let url = format!("{}/api/answers_jwks", app.base);
    std::fs::write(
        path("jwks.json"),
        reqwest::get(&url).await.unwrap().text().await.unwrap(),
    )
    .unwrap();

    for jwks in [url.as_str(), &path("jwks.json")] {
        let (ok, out) = cli(&[
            "verify-answer",
            "--jwks",
            jwks,
            "--body",
            &path("body.json"),
            "--signature",
            &path("signature.txt"),
        ])
        .await;
        assert!(
            ok && out.contains("signature OK") && out.contains(&answer.request_id),
            "{out}"
        );
    }
    let mut changed = answer.body.clone();
    changed.push(b' ');
    std::fs::write(path("body.json"), &changed).unwrap();
    let (ok, out) = cli(&[
        "verify-answer",
        "--jwks",
        &path("jwks.json"),
        "--body",
        &path("body.json"),
        "--signature",
        &path("signature.txt"),
    ])
    .await;
    assert!(!ok && out.contains("does not match this body"), "{out}");
}

/// Another implementation agrees: Python's `jwcrypto` (from PyPI; `.ci/run` installs
/// it) verifies the detached JWS with the published key set, and refuses a changed body.
#[tokio::test]
async fn a_stock_jose_library_verifies_a_signed_answer() {
    let has_jwcrypto = std::process::Command::new("python3")
        .args(["-c", "import jwcrypto"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_jwcrypto {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "CI must install jwcrypto");
        eprintln!("jwcrypto is not installed: skipped");
        return;
    }
    let app = TestApp::start().await;
    let token = app.token(&["cnaf_quotient_familial"]).await;
    let answer = signed_qf(&app, &token).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("body.json"), &answer.body).unwrap();
    std::fs::write(dir.path().join("signature.txt"), &answer.signature).unwrap();
    let keys = reqwest::get(format!("{}/api/answers_jwks", app.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    std::fs::write(dir.path().join("jwks.json"), keys).unwrap();
    let script = r#"
import sys
from jwcrypto import jwk, jws
keys = jwk.JWKSet.from_json(open("jwks.json").read())
body = open("body.json", "rb").read()
answer = jws.JWS()
answer.deserialize(open("signature.txt").read().strip())
answer.verify(keys.get_key(answer.jose_header["kid"]), detached_payload=body)
print("verified", answer.jose_header["request_id"])
try:
    answer.verify(keys.get_key(answer.jose_header["kid"]), detached_payload=body + b" ")
    print("a changed body verified")
except jws.InvalidJWSSignature:
    print("changed body refused")
"#;
    let output = tokio::process::Command::new("python3")
        .args(["-c", script])
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    let out = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains(&format!("verified {}", answer.request_id)) && out.contains("changed body refused"),
        "{out}"
    );
}
