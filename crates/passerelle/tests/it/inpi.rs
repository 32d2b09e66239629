//! INPI's documents through the real API Entreprise bouquet: the actes, bilans and
//! extrait links of an answer are the gateway's sealed `/proxy/inpi/download/…` links;
//! following one (no bearer) makes the PDF at the simulator, stores it and answers the
//! stored document's link, acting as the token that made the answer. Tampered, expired
//! or orphaned links, and links of a revoked token, never make a document.

use chrono::Utc;
use passerelle_documents::DeferredLink;
use passerelle_store::CallerId;
use passerelle_tokens::TokenRequest;
use serde_json::Value;
use uuid::Uuid;

use crate::helpers::{codes, json, TestApp, RECIPIENT};

const PURPOSE: &[(&str, &str)] = &[
    ("context", "Contrôle d'une candidature"),
    ("recipient", RECIPIENT),
    ("object", "Marché 2026-17"),
];
const ACTES_BILANS: &str = "/v3/inpi/rne/unites_legales/open_data/130025265/actes_bilans";
const EXTRAIT: &str = "/v3/inpi/rne/unites_legales/552049447/extrait_rne";

async fn token(app: &TestApp) -> (Uuid, String) {
    let request = TokenRequest {
        name: "Acheteur public".into(),
        siret: RECIPIENT.into(),
        bouquet: passerelle_entreprise::NAME.into(),
        scopes: vec!["open_data".into(), "unites_legales_etablissements_insee".into()],
        expires_in_days: 30,
        rate_limit_per_minute: None,
        allowed_ips: Vec::new(),
        dpo_email: None,
    };
    let (record, jwt) = passerelle_tokens::issue(app.store.as_ref(), app.state.tokens.keys(), request, Utc::now())
        .await
        .unwrap();
    (record.jti, jwt)
}

async fn call(app: &TestApp, path: &str, jwt: &str) -> Value {
    let response = app
        .client
        .get(format!("{}{path}", app.entreprise_base))
        .query(PURPOSE)
        .bearer_auth(jwt)
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn follow(app: &TestApp, link: &str) -> (u16, Value) {
    json(app.client.get(link).send().await.unwrap()).await
}

fn prefix(app: &TestApp) -> String {
    format!("{}/proxy/inpi/download/", app.entreprise_base)
}

#[tokio::test]
async fn an_acte_link_makes_the_pdf_and_answers_its_stored_link() {
    let app = TestApp::start().await;
    let (jti, jwt) = token(&app).await;
    let body = call(&app, ACTES_BILANS, &jwt).await;
    let links: Vec<&str> = ["actes", "bilans"]
        .iter()
        .flat_map(|kind| body["data"][kind].as_array().unwrap())
        .map(|item| item["url"].as_str().unwrap())
        .collect();
    assert_eq!(links.len(), 4, "{body}");
    for link in &links {
        assert!(link.starts_with(&prefix(&app)), "{link}");
        // The target (an INPI id) is not readable in the link.
        assert!(!link.contains("acte") && !link.contains("bilan"), "{link}");
    }

    let (status, made) = follow(&app, links[0]).await;
    assert_eq!(status, 200, "{made}");
    let document = made["data"]["document_url"].as_str().unwrap();
    assert!(
        document.starts_with(&format!("{}/documents/", app.entreprise_base)),
        "{made}"
    );
    assert!(
        (86_390..=86_400).contains(&made["data"]["expires_in"].as_u64().unwrap()),
        "{made}"
    );
    let pdf = app.client.get(document).send().await.unwrap();
    assert_eq!(pdf.status(), 200);
    assert_eq!(
        pdf.headers()["content-disposition"],
        "attachment; filename=\"actes_download_inpi.pdf\""
    );
    assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));

    let rows = app.store.recent_journal(20).await.unwrap();
    let row = rows
        .iter()
        .find(|r| r.endpoint == "/proxy/inpi/download/{token}")
        .expect("the download is journaled");
    assert_eq!((row.status, row.caller.clone()), (200, Some(CallerId::Token(jti))));
}

#[tokio::test]
async fn the_extrait_links_its_pdf_through_the_same_route() {
    let app = TestApp::start().await;
    let (_, jwt) = token(&app).await;
    let body = call(&app, EXTRAIT, &jwt).await;
    assert_eq!(body["data"]["identite_entreprise"]["siren"], "552049447");
    let link = body["data"]["document_url"].as_str().unwrap();
    assert!(link.starts_with(&prefix(&app)), "{body}");
    let (status, made) = follow(&app, link).await;
    assert_eq!(status, 200, "{made}");
    let pdf = app
        .client
        .get(made["data"]["document_url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        pdf.headers()["content-disposition"],
        "attachment; filename=\"extrait_rne_download_inpi.pdf\""
    );
}

#[tokio::test]
async fn bad_expired_orphaned_and_revoked_links_make_nothing() {
    let app = TestApp::builder().token_cache_ms(0).start().await;
    let (jti, jwt) = token(&app).await;
    let body = call(&app, ACTES_BILANS, &jwt).await;
    let link = body["data"]["actes"][0]["url"].as_str().unwrap().to_string();
    let token = link.strip_prefix(&prefix(&app)).unwrap();

    // Any changed character, or not a token at all: 422 00314.
    let middle = token.len() / 2;
    let swapped = if &token[middle..middle + 1] == "A" { "B" } else { "A" };
    let tampered = format!("{}{}{swapped}{}", prefix(&app), &token[..middle], &token[middle + 1..]);
    for bad in [tampered, format!("{}not-a-token", prefix(&app))] {
        let (status, body) = follow(&app, &bad).await;
        assert_eq!((status, codes(&body)), (422, vec!["00314".to_string()]), "{bad}");
    }
    // A proxied file's token does not open here.
    let proxied = app
        .state
        .documents
        .proxied
        .seal("inpi_rne", "actes:0", Utc::now().timestamp() as u64 + 60);
    let (status, _) = follow(&app, &format!("{}{proxied}", prefix(&app))).await;
    assert_eq!(status, 422);

    let sealed = |caller: String, expires: i64| {
        let link = DeferredLink {
            provider: "inpi_rne".into(),
            caller,
            target: "actes:0123456789abcdef01234567".into(),
            expires: expires as u64,
        };
        format!("{}{}", prefix(&app), app.state.documents.deferred.seal(&link))
    };
    let now = Utc::now().timestamp();
    // Past its hour: 410 00403.
    let (status, body) = follow(&app, &sealed(jti.to_string(), now - 1)).await;
    assert_eq!((status, codes(&body)), (410, vec!["00403".to_string()]));
    // A token this gateway does not know: 401 00106.
    let (status, body) = follow(&app, &sealed(Uuid::new_v4().to_string(), now + 60)).await;
    assert_eq!((status, codes(&body)), (401, vec!["00106".to_string()]));
    // A genuine link of a token revoked since: 401 00105, nothing made.
    passerelle_tokens::revoke(app.store.as_ref(), jti, Utc::now())
        .await
        .unwrap();
    let (status, body) = follow(&app, &link).await;
    assert_eq!((status, codes(&body)), (401, vec!["00105".to_string()]));
}

#[tokio::test]
async fn the_providers_failures_come_back_with_its_codes() {
    let app = TestApp::start().await;
    let (jti, _) = token(&app).await;
    let now = Utc::now().timestamp() as u64;
    let sealed = |target: &str| {
        let link = DeferredLink {
            provider: "inpi_rne".into(),
            caller: jti.to_string(),
            target: target.into(),
            expires: now + 60,
        };
        format!("{}{}", prefix(&app), app.state.documents.deferred.seal(&link))
    };
    // An id INPI does not know: 404 34003, as on the data routes.
    let (status, body) = follow(&app, &sealed("actes:ffffffffffffffffffffffff")).await;
    assert_eq!((status, codes(&body)), (404, vec!["34003".to_string()]), "{body}");
    assert_eq!(body["errors"][0]["meta"]["provider"], "INPI - RNE");
    // An id that is not INPI's shape: 422 00501, before any call.
    let (status, body) = follow(&app, &sealed("bilans:not-an-id")).await;
    assert_eq!((status, codes(&body)), (422, vec!["00501".to_string()]), "{body}");
}
