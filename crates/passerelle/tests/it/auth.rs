//! Bearer tokens: signature, store record, revocation, expiry, IP allow-list.

use std::time::Duration;

use chrono::Utc;
use passerelle_tokens::{Claims, KeyRing};

use crate::helpers::*;

const QF: &str = "/v3/dss/quotient_familial/identite";

#[tokio::test]
async fn missing_or_garbage_token_is_00101() {
    let app = TestApp::start().await;
    assert_error(app.get(QF, &pairs(AXELLE), None).await, 401, "00101").await;
    assert_error(app.get(QF, &pairs(AXELLE), Some("not-a-jwt")).await, 401, "00101").await;
    assert_error(app.get(QF, &pairs(AXELLE), Some("a.b.c")).await, 401, "00101").await;
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::start().await;
    let jwt = app.token(&["cnaf_quotient_familial"]).await;
    let mut query = pairs(AXELLE);
    query.push(("recipient".into(), RECIPIENT.into()));
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let authorization = format!("{scheme} {jwt}");
        let response = app
            .get_raw(QF, &query, None, &[("authorization", &authorization)])
            .await;
        assert_eq!(response.status(), 200, "scheme {scheme}");
    }
    let basic = format!("Basic {jwt}");
    let refused = app.get_raw(QF, &query, None, &[("authorization", &basic)]).await;
    assert_error(refused, 401, "00101").await;
}

#[tokio::test]
async fn token_signed_by_another_gateway_is_refused() {
    let app = TestApp::start().await;
    let other = TestApp::start().await;
    let foreign = other.all_scopes_token().await;
    assert_error(app.get(QF, &pairs(AXELLE), Some(&foreign)).await, 401, "00101").await;
}

#[tokio::test]
async fn signed_token_without_record_is_refused() {
    let app = TestApp::start().await;
    let keys = KeyRing::load_or_create(app.store.as_ref()).await.unwrap();
    let jti = uuid::Uuid::new_v4().to_string();
    let claims = Claims {
        uid: jti.clone(),
        jti,
        scopes: vec!["cnaf_quotient_familial".into()],
        sub: "x".into(),
        iat: 0,
        exp: i64::MAX / 2,
        version: "1.0".into(),
    };
    let jwt = keys.sign(&claims).unwrap();
    assert_error(app.get(QF, &pairs(AXELLE), Some(&jwt)).await, 401, "00101").await;
}

#[tokio::test]
async fn expired_token_is_00103_and_prolonging_revives_it() {
    let app = TestApp::builder().token_cache_ms(0).start().await;
    let (jti, jwt) = app.issue(token_request(&["cnaf_quotient_familial"])).await;
    app.store
        .set_token_expiry(jti, Utc::now() - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_error(app.get(QF, &pairs(AXELLE), Some(&jwt)).await, 401, "00103").await;
    app.store
        .set_token_expiry(jti, Utc::now() + chrono::Duration::days(1))
        .await
        .unwrap();
    assert_eq!(app.get(QF, &pairs(AXELLE), Some(&jwt)).await.status(), 200);
}

#[tokio::test]
async fn revocation_takes_effect_within_the_token_cache_delay() {
    let app = TestApp::builder().token_cache_ms(1000).start().await;
    let (jti, jwt) = app.issue(token_request(&["cnaf_quotient_familial"])).await;
    assert_eq!(app.get(QF, &pairs(AXELLE), Some(&jwt)).await.status(), 200);
    app.store.revoke_token(jti, Utc::now()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_error(app.get(QF, &pairs(AXELLE), Some(&jwt)).await, 401, "00105").await;
}

#[tokio::test]
async fn ip_outside_allow_list_is_00107() {
    let app = TestApp::start().await;
    let mut request = token_request(&["cnaf_quotient_familial"]);
    request.allowed_ips = vec!["10.0.0.0/8".into()];
    let (_, outside) = app.issue(request).await;
    assert_error(app.get(QF, &pairs(AXELLE), Some(&outside)).await, 403, "00107").await;
    let mut request = token_request(&["cnaf_quotient_familial"]);
    request.allowed_ips = vec!["127.0.0.1".into()];
    let (_, inside) = app.issue(request).await;
    assert_eq!(app.get(QF, &pairs(AXELLE), Some(&inside)).await.status(), 200);
}

#[tokio::test]
async fn missing_scope_is_00100() {
    let app = TestApp::start().await;
    let jwt = app.token(&["revenu_solidarite_active"]).await;
    let body = assert_error(app.get(QF, &pairs(AXELLE), Some(&jwt)).await, 403, "00100").await;
    assert_eq!(body["errors"][0]["source"]["parameter"], "token");
}

#[tokio::test]
async fn introspect_lists_the_stored_scopes() {
    let app = TestApp::start().await;
    let (jti, jwt) = app.issue(token_request(&["cnaf_enfants", "prime_activite"])).await;
    let (status, body) = json(app.get_raw("/api/introspect", &[], Some(&jwt), &[]).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["_id"], jti.to_string());
    assert_eq!(body["name"], "Mairie de test");
    assert_eq!(body["scopes"], serde_json::json!(["cnaf_enfants", "prime_activite"]));
    let record = app.store.token(jti).await.unwrap().unwrap();
    let expires_at: chrono::DateTime<chrono::Utc> = body["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires_at.timestamp(), record.expires_at.timestamp());
    assert_error(
        app.get_raw("/api/introspect", &[], Some("nope"), &[]).await,
        401,
        "00101",
    )
    .await;
}

/// In a token's last 30 days every answer says when it ends (RFC 8594's `Sunset`);
/// before, none does.
#[tokio::test]
async fn answers_carry_the_tokens_sunset_in_its_last_thirty_days() {
    let app = TestApp::start().await;
    let mut request = token_request(&["cnaf_quotient_familial"]);
    request.expires_in_days = 12;
    let (jti, ending) = app.issue(request).await;
    let answer = app.get(QF, &pairs(AXELLE), Some(&ending)).await;
    assert_eq!(answer.status(), 200);
    let sunset = answer.headers()["sunset"].to_str().unwrap().to_string();
    let expires_at = app.store.token(jti).await.unwrap().unwrap().expires_at;
    let parsed = chrono::DateTime::parse_from_rfc2822(&sunset.replace("GMT", "+0000")).unwrap();
    assert_eq!(parsed.timestamp(), expires_at.timestamp(), "{sunset}");
    // A refusal after the token was checked says it too (here: a scope it lacks).
    let refused = app
        .get(
            "/v3/dss/revenu_solidarite_active/identite",
            &pairs(AXELLE),
            Some(&ending),
        )
        .await;
    assert_eq!(refused.status(), 403);
    assert_eq!(refused.headers()["sunset"], sunset.as_str());

    let mut request = token_request(&["cnaf_quotient_familial"]);
    request.expires_in_days = 31;
    let (_, lasting) = app.issue(request).await;
    let answer = app.get(QF, &pairs(AXELLE), Some(&lasting)).await;
    assert_eq!(answer.status(), 200);
    assert!(answer.headers().get("sunset").is_none());
}
