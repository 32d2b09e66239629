//! API Particulier v2 over real HTTP: a v2 key, v2 parameter names and bodies through
//! today's pipeline and the simulators, the flat v2 errors with their statuses, retired
//! routes, and the key's own per-second budget.

use serde_json::{json, Value};

use crate::helpers::*;

const PRIME: &str = "/api/v2/prime-activite";

/// MARTIN Samuel, as the official v2 case `200_beneficiaire_majoration.yaml` writes him.
fn samuel_v2() -> Vec<(String, String)> {
    pairs(&[
        ("nomNaissance", "MARTIN"),
        ("prenoms[]", "SAMUEL"),
        ("anneeDateDeNaissance", "1980"),
        ("moisDateDeNaissance", "9"),
        ("jourDateDeNaissance", "20"),
        ("codeInseeLieuDeNaissance", "08480"),
        ("codePaysLieuDeNaissance", "99100"),
        ("sexe", "M"),
    ])
}

async fn v2_get(app: &TestApp, path: &str, query: &[(String, String)], key: &str) -> reqwest::Response {
    app.get_raw(path, query, None, &[("X-Api-Key", key)]).await
}

/// The flat v2 error: status, `error`, and a `reason` and `message` that say something.
async fn assert_v2_error(response: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    let (got, body) = json(response).await;
    assert_eq!((got, body["error"].as_str()), (status, Some(kind)), "{body}");
    assert!(body["errors"].is_null(), "{body}");
    for member in ["reason", "message"] {
        assert!(body[member].as_str().is_some_and(|s| !s.is_empty()), "{body}");
    }
    body
}

#[tokio::test]
async fn a_v2_key_gets_the_v2_answer_through_the_providers() {
    let app = TestApp::start().await;
    let key = app.token(&["prime_activite", "prime_activite_majoration"]).await;
    // `recipient` is optional in v2: the habilitation's SIRET stands in.
    let response = v2_get(&app, PRIME, &samuel_v2(), &key).await;
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("ratelimit-remaining"));
    let (status, body) = json(response).await;
    assert_eq!(
        (status, body),
        (
            200,
            json!({"status": "beneficiaire", "majoration": true, "dateDebut": "1992-11-20", "dateFin": null})
        )
    );
    // The journal names the v2 route.
    let rows = app.store.recent_journal(5).await.unwrap();
    let row = rows
        .iter()
        .find(|r| r.endpoint == PRIME)
        .expect("a journal row for the v2 route");
    assert_eq!(
        (row.status, row.purpose.get("recipient").map(String::as_str)),
        (200, Some(RECIPIENT))
    );
    assert!(row.params_hash.is_some());
}

#[tokio::test]
async fn v2_refusals_have_the_v2_shape_and_statuses() {
    let app = TestApp::start().await;
    let key = app.token(&["prime_activite"]).await;
    // No key, an unknown key, a revoked key: 401.
    let none = app.get_raw(PRIME, &samuel_v2(), None, &[]).await;
    assert_v2_error(none, 401, "access_denied").await;
    assert_v2_error(
        v2_get(&app, PRIME, &samuel_v2(), "not-a-key").await,
        401,
        "access_denied",
    )
    .await;
    let (jti, revoked) = app.issue(token_request(&["prime_activite"])).await;
    app.store.revoke_token(jti, chrono::Utc::now()).await.unwrap();
    assert_v2_error(v2_get(&app, PRIME, &samuel_v2(), &revoked).await, 401, "access_denied").await;
    // A scope the key lacks: 401 as v2 says (v3 says 403).
    let other = app.token(&["cnaf_quotient_familial"]).await;
    assert_v2_error(v2_get(&app, PRIME, &samuel_v2(), &other).await, 401, "access_denied").await;
    // Bad parameters: 400 with every problem in `reason`.
    let mut bad = samuel_v2();
    bad.retain(|(k, _)| k != "sexe");
    bad.push(("moisDateDeNaissance".into(), "13".into()));
    bad.retain(|(k, v)| !(k == "moisDateDeNaissance" && v == "9"));
    let body = assert_v2_error(v2_get(&app, PRIME, &bad, &key).await, 400, "bad_request").await;
    let reason = body["reason"].as_str().unwrap();
    assert!(reason.contains("« 13 »") && reason.contains("sexe"), "{body}");
    let invalid_recipient = [samuel_v2(), pairs(&[("recipient", "123")])].concat();
    assert_v2_error(v2_get(&app, PRIME, &invalid_recipient, &key).await, 400, "bad_request").await;
    // Nobody of that name: 404; the provider down: 503.
    let nobody = [
        pairs(&[("nomNaissance", &unknown_name()), ("prenoms[]", "TEST"), ("sexe", "M")]),
        pairs(&[
            ("anneeDateDeNaissance", "1980"),
            ("moisDateDeNaissance", "1"),
            ("jourDateDeNaissance", "1"),
        ]),
        pairs(&[
            ("codePaysLieuDeNaissance", "99100"),
            ("codeInseeLieuDeNaissance", "75056"),
        ]),
    ]
    .concat();
    assert_v2_error(v2_get(&app, PRIME, &nobody, &key).await, 404, "not_found").await;
    let mut down = nobody.clone();
    down[0].1 = "PANNE".into();
    assert_v2_error(v2_get(&app, PRIME, &down, &key).await, 503, "data_provider_error").await;
}

#[tokio::test]
async fn retired_routes_answer_410_in_plain_text() {
    let app = TestApp::start().await;
    let key = app.token(&["cnaf_quotient_familial"]).await;
    let query = pairs(&[("numeroAllocataire", "2345678"), ("codePostal", "75001")]);
    for path in [
        "/api/v2/composition-familiale",
        "/api/caf/famille",
        "/api/v2/avis-imposition",
    ] {
        let response = v2_get(&app, path, &query, &key).await;
        assert_eq!(response.status(), 410, "{path}");
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        let text = response.text().await.unwrap();
        assert!(text.contains("fermée"), "{text}");
    }
}

#[tokio::test]
async fn a_v2_key_has_its_own_budget_of_calls_a_second() {
    let app = TestApp::builder().per_second(3).start().await;
    let key = app.token(&["prime_activite"]).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(v2_get(&app, PRIME, &samuel_v2(), &key).await.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    let refused = v2_get(&app, PRIME, &samuel_v2(), &key).await;
    assert_v2_error(refused, 429, "too_many_requests").await;
    // The v3 budget of the same token is its own.
    let v3 = app.get("/v3/dss/prime_activite/identite", &samuel(), Some(&key)).await;
    assert_eq!(v3.status(), 200);
}

#[tokio::test]
async fn the_subject_chooses_the_endpoint_ine_or_identity() {
    let app = TestApp::start().await;
    let key = app.all_scopes_token().await;
    // An INE goes to the INE endpoint; without it, the identity is asked for.
    let (status, body) = json(v2_get(&app, "/api/v2/etudiants", &pairs(&[("ine", "1234567404G")]), &key).await).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body}");
    let body = assert_v2_error(
        v2_get(&app, "/api/v2/etudiants", &pairs(&[("nom", "DUPONT")]), &key).await,
        400,
        "bad_request",
    )
    .await;
    assert!(body["reason"].as_str().unwrap().contains("naissance"), "{body}");
}

/// A FranceConnect access token in `Authorization` makes a v2 call a FranceConnect one:
/// the identity is FranceConnect's, the body v2's; `recipient` is then required.
#[tokio::test]
async fn a_france_connect_token_calls_v2_with_its_identity() {
    let app = TestApp::start().await;
    let citizen = "dubois_angela_19620824_75107";
    let (status, body) = json(app.get("/api/v2/prime-activite", &[], Some(citizen)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "beneficiaire", "{body}");
    assert!(body.get("dateFin").is_some_and(Value::is_null), "{body}");
    let rows = app.store.recent_journal(5).await.unwrap();
    assert!(rows.iter().any(|r| r.endpoint == PRIME && r.status == 200));
    // Without recipient: FranceConnect calls name no habilitation to default to.
    let refused = app.get_raw(PRIME, &[], Some(citizen), &[]).await;
    assert_v2_error(refused, 400, "bad_request").await;
    // An unknown FranceConnect token.
    let unknown = app.get("/api/v2/prime-activite", &[], Some("nobody-at-all")).await;
    assert_v2_error(unknown, 401, "access_denied").await;
}

#[tokio::test]
async fn a_v2_key_introspects_itself() {
    let app = TestApp::start().await;
    let (jti, key) = app.issue(token_request(&["prime_activite"])).await;
    let (status, body) = json(app.get_raw("/api/introspect", &[], None, &[("X-Api-Key", &key)]).await).await;
    assert_eq!(
        (status, body["_id"].as_str()),
        (200, Some(jti.to_string().as_str())),
        "{body}"
    );
    assert_eq!(body["scopes"], json!(["prime_activite"]));
}
