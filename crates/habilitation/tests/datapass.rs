//! The DataPass sink on a real store (SQLite in a temp file), and once through the
//! webhook receiver over HTTP.

use std::sync::Arc;

use chrono::{Duration, Utc};
use passerelle_habilitation::datapass::StoreSink;
use passerelle_habilitation::workflow::Demande;
use passerelle_habilitation::State;
use passerelle_store::{DemandeEvent, Store, TokenRecord};
use passerelle_store_sqlite::SqliteStore;
use passerelle_webhooks::datapass::{parse, router, signature_header, Applied, DeliveryKey, Payload, Sink};
use serde_json::{json, Value};
use tempfile::TempDir;

const MODEL_ID: i64 = 4321;
const SECRET: &str = "5f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

struct Fixture {
    store: Arc<dyn Store>,
    sink: Arc<StoreSink>,
    _dir: TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(store);
    Fixture {
        sink: Arc::new(StoreSink::new(store.clone())),
        store,
        _dir: dir,
    }
}

/// A DataPass v2 body about the API Particulier demande `MODEL_ID`.
fn body(event: &str, fired_at: i64, state: &str, scopes: &[&str]) -> Vec<u8> {
    json!({
        "event": event,
        "fired_at": fired_at,
        "model_type": "authorization_request/api_particulier",
        "model_id": MODEL_ID,
        "data": {
            "id": MODEL_ID,
            "public_id": "5b0f3c6e-2a44-4b1e-9a51-0c7d2f6b8e10",
            "type": "AuthorizationRequest::APIParticulier",
            "state": state,
            "form_uid": "api-particulier-tarification-municipale-enfance",
            "data": {
                "intitule": "Tarification des cantines",
                "description": "Calcul du tarif selon le quotient familial",
                "duree_conservation_donnees_caractere_personnel": 12,
                "scopes": scopes,
                "modalities": ["params"],
                "contact_technique_email": "DSI@ville-exemple.fr",
                "contact_technique_given_name": "Paule",
                "delegue_protection_donnees_email": "dpd@ville-exemple.fr"
            },
            "organization": { "id": 12, "name": "Commune d'Exemple", "siret": "21000000000017" },
            "applicant": { "id": 7, "email": "agent@ville-exemple.fr", "given_name": "Camille", "family_name": "Martin" }
        }
    })
    .to_string()
    .into_bytes()
}

async fn deliver(sink: &StoreSink, raw: &[u8]) -> Applied {
    let Payload::Notification(n) = parse(raw).unwrap() else {
        panic!("a notification")
    };
    sink.apply(DeliveryKey::of(raw), *n).await.unwrap()
}

async fn demande(store: &dyn Store) -> Demande {
    let id = store.datapass_demande("particulier", MODEL_ID).await.unwrap().unwrap();
    Demande::read(store.demande(id).await.unwrap().unwrap()).unwrap()
}

async fn history(store: &dyn Store) -> Vec<DemandeEvent> {
    let id = store.datapass_demande("particulier", MODEL_ID).await.unwrap().unwrap();
    store.demande_events(id).await.unwrap()
}

fn kinds(events: &[DemandeEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

fn detail(event: &DemandeEvent) -> Value {
    serde_json::from_str(&event.body).unwrap()
}

async fn token(store: &dyn Store, token_id: &Option<String>) -> TokenRecord {
    let jti = token_id.as_deref().expect("a token id").parse().unwrap();
    store.token(jti).await.unwrap().expect("the token is stored")
}

#[tokio::test]
async fn submit_then_approve_issues_one_token() {
    let f = fixture().await;
    let submitted = deliver(&f.sink, &body("submit", 100, "submitted", &["cnaf_quotient_familial"])).await;
    assert_eq!(submitted, Applied::default());
    let d = demande(&*f.store).await;
    assert_eq!(d.standing.state, State::Submitted);
    assert_eq!(d.form_id, "datapass:api-particulier-tarification-municipale-enfance");
    assert_eq!(d.body.applicant.siret, "21000000000017");
    assert_eq!(
        d.body.content.field("duree_conservation_donnees_caractere_personnel"),
        "12"
    );

    let approve = body("approve", 200, "validated", &["cnaf_quotient_familial", "cnaf_enfants"]);
    let approved = deliver(&f.sink, &approve).await;
    let t = token(&*f.store, &approved.token_id).await;
    assert_eq!(t.scopes, ["cnaf_enfants", "cnaf_quotient_familial"]);
    assert_eq!(
        (t.bouquet.as_str(), t.siret.as_str()),
        ("particulier", "21000000000017")
    );
    assert_eq!(t.dpo_email.as_deref(), Some("dpd@ville-exemple.fr"));
    assert!(t.expires_at > Utc::now() + Duration::days(540));
    let d = demande(&*f.store).await;
    assert_eq!(d.standing.state, State::Validated);
    assert_eq!(d.body.token.map(|j| j.to_string()), approved.token_id);

    // DataPass retries the same body: same answer, nothing more written.
    let replayed = deliver(&f.sink, &approve).await;
    assert!(replayed.duplicate && !replayed.stale);
    assert_eq!(replayed.token_id, approved.token_id);
    assert_eq!(f.store.tokens().await.unwrap().len(), 1);
    let events = history(&*f.store).await;
    assert_eq!(kinds(&events), ["submit", "approve"]);
    assert!(events.iter().all(|e| e.actor == "datapass"));
    let approval = detail(&events[1]);
    assert_eq!(approval["fired_at"], 200);
    assert_eq!(approval["delivery"], DeliveryKey::of(&approve).as_str());
    assert_eq!(approval["token"]["issued"], json!(approved.token_id));
    let people = f.store.demande_people(d.id).await.unwrap();
    assert!(people
        .iter()
        .any(|p| p.email == "dsi@ville-exemple.fr" && p.role == "contact_technique"));
    assert!(
        f.store.outbox("mail", 10).await.unwrap().is_empty(),
        "DataPass sends its own e-mails"
    );
}

#[tokio::test]
async fn a_submit_arriving_after_the_approve_is_stale() {
    let f = fixture().await;
    let approved = deliver(&f.sink, &body("approve", 200, "validated", &["cnaf_quotient_familial"])).await;
    assert!(approved.token_id.is_some());
    let late = deliver(&f.sink, &body("submit", 100, "submitted", &["cnaf_enfants"])).await;
    assert!(late.stale && late.token_id.is_none());
    let d = demande(&*f.store).await;
    assert_eq!(d.standing.state, State::Validated);
    assert_eq!(
        d.body.content.scopes.iter().collect::<Vec<_>>(),
        ["cnaf_quotient_familial"]
    );
    assert_eq!(kinds(&history(&*f.store).await), ["approve"]);
}

#[tokio::test]
async fn a_reopening_keeps_the_token_in_force_until_approved() {
    let f = fixture().await;
    let first = deliver(&f.sink, &body("approve", 200, "validated", &["cnaf_quotient_familial"])).await;
    let before = token(&*f.store, &first.token_id).await;
    let wider = ["cnaf_quotient_familial", "cnaf_allocataires"];
    deliver(&f.sink, &body("reopen", 300, "draft", &["cnaf_quotient_familial"])).await;
    deliver(&f.sink, &body("submit", 400, "submitted", &wider)).await;
    let d = demande(&*f.store).await;
    assert_eq!(d.standing.state, State::Validated, "the demande in force is kept");
    assert_eq!(d.body.content.scopes.len(), 1);
    let events = history(&*f.store).await;
    let proposed = detail(&events[2]);
    assert_eq!(proposed["kept_in_force"], true);
    assert_eq!(proposed["proposed"][0]["field"], "scopes");

    let second = deliver(&f.sink, &body("approve", 500, "validated", &wider)).await;
    assert_eq!(second.token_id, first.token_id, "the same token");
    let after = token(&*f.store, &second.token_id).await;
    assert_eq!(after.scopes, ["cnaf_allocataires", "cnaf_quotient_familial"]);
    assert!(after.expires_at >= before.expires_at);
    let d = demande(&*f.store).await;
    let states: Vec<&str> = d.body.habilitations.iter().map(|h| h.state.as_str()).collect();
    assert_eq!(states, ["obsolete", "active"]);
    assert_eq!(
        kinds(&history(&*f.store).await),
        ["approve", "reopen", "submit", "approve"]
    );
}

#[tokio::test]
async fn revoke_revokes_the_token() {
    let f = fixture().await;
    let approved = deliver(&f.sink, &body("approve", 200, "validated", &["cnaf_quotient_familial"])).await;
    let revoked = deliver(&f.sink, &body("revoke", 300, "revoked", &["cnaf_quotient_familial"])).await;
    assert_eq!(revoked.token_id, None, "token_id only on approve");
    assert!(token(&*f.store, &approved.token_id).await.revoked_at.is_some());
    let d = demande(&*f.store).await;
    assert_eq!(d.standing.state, State::Revoked);
    assert_eq!(d.body.habilitations[0].state, "revoked");
    deliver(&f.sink, &body("archive", 400, "archived", &[])).await;
    assert_eq!(demande(&*f.store).await.standing.state, State::Archived);
}

#[tokio::test]
async fn unknown_scopes_are_dropped_and_recorded() {
    let f = fixture().await;
    let scopes = ["cnaf_quotient_familial", "dgfip_avis_imposition_inconnu"];
    deliver(&f.sink, &body("submit", 100, "submitted", &scopes)).await;
    let d = demande(&*f.store).await;
    assert_eq!(
        d.body.content.scopes.iter().collect::<Vec<_>>(),
        ["cnaf_quotient_familial"]
    );
    let events = history(&*f.store).await;
    assert_eq!(
        detail(&events[0])["dropped_scopes"],
        json!(["dgfip_avis_imposition_inconnu"])
    );
}

#[tokio::test]
async fn approve_over_http_answers_the_token() {
    let f = fixture().await;
    let app = router(SECRET, f.sink.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/api/datapass/v2/api_particulier/webhook",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = reqwest::Client::new();
    let raw = body("approve", 200, "validated", &["cnaf_quotient_familial"]);
    let post = |signature: String| {
        client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Hub-Signature-256", signature)
            .body(raw.clone())
            .send()
    };

    let forged = post(signature_header(b"another secret", &raw)).await.unwrap();
    assert_eq!(forged.status(), 401);
    let first = post(signature_header(SECRET.as_bytes(), &raw)).await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    let again: Value = post(signature_header(SECRET.as_bytes(), &raw))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first, again, "a retry gets the same token");
    let token_id = first["token_id"].as_str().map(String::from);
    assert_eq!(token(&*f.store, &token_id).await.scopes, ["cnaf_quotient_familial"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_events_racing_make_one_demande() {
    let f = fixture().await;
    let submit = body("submit", 100, "submitted", &["cnaf_quotient_familial"]);
    let approve = body("approve", 200, "validated", &["cnaf_quotient_familial"]);
    let racer = |raw: Vec<u8>| {
        let sink = f.sink.clone();
        tokio::spawn(async move { deliver(&sink, &raw).await })
    };
    let (submitted, approved) = (racer(submit), racer(approve));
    let (submitted, approved) = (submitted.await.unwrap(), approved.await.unwrap());
    assert!(approved.token_id.is_some() && submitted.token_id.is_none());
    let d = demande(&*f.store).await;
    assert_eq!(d.standing.state, State::Validated, "the newest wins whatever the order");
    let events = history(&*f.store).await.len();
    assert_eq!(events, if submitted.stale { 1 } else { 2 });
}

#[tokio::test]
async fn a_token_needs_the_params_modality_in_api_particulier_only() {
    let f = fixture().await;
    let mut qf_only: Value = serde_json::from_slice(&body("approve", 200, "validated", &[])).unwrap();
    qf_only["data"]["data"]["modalities"] = json!(["formulaire_qf"]);
    let approved = deliver(&f.sink, qf_only.to_string().as_bytes()).await;
    assert_eq!(approved.token_id, None);
    assert_eq!(demande(&*f.store).await.standing.state, State::Validated);

    let mut entreprise = qf_only;
    entreprise["model_type"] = json!("authorization_request/api_entreprise");
    let approved = deliver(&f.sink, entreprise.to_string().as_bytes()).await;
    assert_eq!(token(&*f.store, &approved.token_id).await.bouquet, "entreprise");
}
