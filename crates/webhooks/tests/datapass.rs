//! The DataPass receiver over real HTTP, with payloads shaped as DataPass v2 sends them.

mod common;

use std::sync::Arc;

use passerelle_webhooks::datapass::{router, signature_header, Bouquet, Event, SIGNATURE_HEADER};
use passerelle_webhooks::testing::MemorySink;
use reqwest::StatusCode;
use serde_json::{json, Value};

const SECRET: &str = "6b1f0e3a9c2d4f5e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f";
const DEMANDE: u64 = 52_143;

struct Portal {
    base: String,
    sink: Arc<MemorySink>,
    http: reqwest::Client,
}

impl Portal {
    async fn start() -> Self {
        let sink = Arc::new(MemorySink::new());
        let base = common::serve(router(SECRET, sink.clone())).await;
        Portal {
            base,
            sink,
            http: reqwest::Client::new(),
        }
    }

    /// Posts `body` as DataPass would, signed with `signature` when given.
    async fn post(&self, bouquet: &str, body: &[u8], signature: Option<String>) -> (StatusCode, Value) {
        let url = format!("{}/api/datapass/v2/{bouquet}/webhook", self.base);
        let mut request = self
            .http
            .post(url)
            .header("Content-Type", "application/json")
            .header("X-App-Environment", "production")
            .body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header(SIGNATURE_HEADER, signature);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn deliver(&self, bouquet: &str, body: &[u8]) -> (StatusCode, Value) {
        let signature = signature_header(SECRET.as_bytes(), body);
        self.post(bouquet, body, Some(signature)).await
    }
}

/// A v2 payload (reference c.2) for the demande `DEMANDE`, with the state DataPass sets
/// after `event`.
fn payload(event: &str, fired_at: i64, bouquet: &str) -> Vec<u8> {
    let state = match event {
        "approve" | "cancel_reopening" => "validated",
        "submit" => "submitted",
        "refuse" => "refused",
        "revoke" => "revoked",
        "request_changes" => "changes_requested",
        _ => "draft",
    };
    json!({
        "event": event,
        "fired_at": fired_at,
        "model_type": format!("authorization_request/{bouquet}"),
        "model_id": DEMANDE,
        "data": {
            "id": DEMANDE,
            "public_id": "9d3c1a52-7f0e-4b8e-a1d6-3c2b5e4f6a70",
            "type": "AuthorizationRequest::APIParticulier",
            "state": state,
            "form_uid": "api-particulier-arpege-concerto",
            "created_at": "2026-01-05T09:12:44.000+01:00",
            "last_submitted_at": "2026-01-06T10:02:11.000+01:00",
            "last_validated_at": null,
            "data": {
                "intitule": "Tarification sociale des services périscolaires",
                "description": "Calcul du tarif de la cantine et du centre de loisirs selon le quotient familial.",
                "modalities": ["params"],
                "cadre_juridique_nature": "Délibération du conseil municipal n° 2025-114",
                "cadre_juridique_url": "https://www.ville-exemple.fr/deliberations/2025-114.pdf",
                "scopes": ["cnaf_quotient_familial", "cnaf_allocataires", "cnaf_enfants"],
                "destinataire_donnees_caractere_personnel": "Agents du service enfance",
                "duree_conservation_donnees_caractere_personnel": "12",
                "contact_metier_family_name": "Martin",
                "contact_metier_given_name": "Claire",
                "contact_metier_email": "claire.martin@ville-exemple.fr",
                "contact_metier_phone_number": "0123456789",
                "contact_metier_job_title": "Responsable du service enfance",
                "contact_technique_family_name": "Support",
                "contact_technique_given_name": "Arpège",
                "contact_technique_email": "support@arpege.fr",
                "contact_technique_phone_number": "0612345678",
                "contact_technique_job_title": "Éditeur",
                "delegue_protection_donnees_family_name": "Durand",
                "delegue_protection_donnees_given_name": "Luc",
                "delegue_protection_donnees_email": "dpo@ville-exemple.fr",
                "delegue_protection_donnees_phone_number": "0123456780",
                "delegue_protection_donnees_job_title": "DPO"
            },
            "organization": {
                "id": 881,
                "name": "COMMUNE D'EXEMPLE",
                "siret": "21440109300015",
                "insee_payload": { "etablissement": { "siret": "21440109300015" } }
            },
            "applicant": {
                "id": 3310,
                "uid": "c1f5e1d2-0a9b-4c8d-8e7f-6a5b4c3d2e1f",
                "email": "claire.martin@ville-exemple.fr",
                "given_name": "Claire",
                "family_name": "Martin",
                "phone_number": "0123456789",
                "job_title": "Responsable du service enfance"
            },
            "service_provider": { "id": 12, "siret": "40483304800022", "type": "editor" },
            "authorizations": []
        }
    })
    .to_string()
    .into_bytes()
}

fn particulier(event: &str, fired_at: i64) -> Vec<u8> {
    payload(event, fired_at, "api_particulier")
}

#[tokio::test]
async fn a_signed_approve_returns_the_token_id() {
    let portal = Portal::start().await;
    let (status, body) = portal.deliver("api_particulier", &particulier("approve", 1_000)).await;
    assert_eq!(status, StatusCode::OK);
    let token = portal.sink.token_of(DEMANDE).unwrap();
    assert_eq!(body, json!({ "token_id": token }));
    let effects = portal.sink.effects();
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0].event, Event::Approve);
    assert_eq!(effects[0].bouquet, Bouquet::ApiParticulier);
    assert_eq!(effects[0].data.scopes().len(), 3);
}

#[tokio::test]
async fn other_events_answer_an_empty_object() {
    let portal = Portal::start().await;
    let (status, body) = portal.deliver("api_particulier", &particulier("submit", 1_000)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    assert_eq!(portal.sink.effects().len(), 1);
}

#[tokio::test]
async fn a_bad_signature_is_refused_before_the_sink() {
    let portal = Portal::start().await;
    let body = particulier("approve", 1_000);
    let forged = signature_header(b"not the secret", &body);
    let (status, answer) = portal.post("api_particulier", &body, Some(forged)).await;
    assert_eq!((status, answer), (StatusCode::UNAUTHORIZED, json!({})));
    let signed_other = signature_header(SECRET.as_bytes(), &particulier("approve", 1_001));
    let (status, _) = portal.post("api_particulier", &body, Some(signed_other)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(portal.sink.answers().is_empty());
}

#[tokio::test]
async fn a_missing_signature_is_refused() {
    let portal = Portal::start().await;
    let (status, answer) = portal
        .post("api_particulier", &particulier("approve", 1_000), None)
        .await;
    assert_eq!((status, answer), (StatusCode::UNAUTHORIZED, json!({})));
    assert!(portal.sink.answers().is_empty());
}

#[tokio::test]
async fn an_unsigned_garbage_body_is_401_not_422() {
    let portal = Portal::start().await;
    let (status, _) = portal.post("api_particulier", b"not json", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_replayed_delivery_has_one_effect_and_the_same_answer() {
    let portal = Portal::start().await;
    let body = particulier("approve", 1_000);
    let first = portal.deliver("api_particulier", &body).await;
    let second = portal.deliver("api_particulier", &body).await;
    assert_eq!(first.0, StatusCode::OK);
    assert_eq!(first, second);
    assert!(first.1["token_id"].is_string());
    let answers = portal.sink.answers();
    assert_eq!(answers.len(), 2);
    assert!(!answers[0].duplicate && answers[1].duplicate);
    assert_eq!(portal.sink.effects().len(), 1);
}

#[tokio::test]
async fn an_event_older_than_the_last_applied_is_stale() {
    let portal = Portal::start().await;
    portal.deliver("api_particulier", &particulier("approve", 2_000)).await;
    let (status, body) = portal.deliver("api_particulier", &particulier("submit", 1_000)).await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let answers = portal.sink.answers();
    assert!(answers[1].stale && !answers[1].duplicate);
    let effects = portal.sink.effects();
    assert_eq!(effects.len(), 1);
    assert_eq!(effects[0].event, Event::Approve);
    // Its replay is a duplicate of a stale delivery.
    portal.deliver("api_particulier", &particulier("submit", 1_000)).await;
    let replay = portal.sink.answers()[2].clone();
    assert!(replay.stale && replay.duplicate);
}

#[tokio::test]
async fn a_later_approve_prolongs_the_same_token() {
    let portal = Portal::start().await;
    let (_, first) = portal.deliver("api_particulier", &particulier("approve", 1_000)).await;
    portal.deliver("api_particulier", &particulier("reopen", 1_500)).await;
    let (_, again) = portal.deliver("api_particulier", &particulier("approve", 2_000)).await;
    assert_eq!(first["token_id"], again["token_id"]);
    assert_eq!(portal.sink.effects().len(), 3);
}

#[tokio::test]
async fn an_unknown_event_is_422() {
    let portal = Portal::start().await;
    let (status, body) = portal.deliver("api_particulier", &particulier("validate", 1_000)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let detail = body["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("validate"), "{detail}");
    assert!(portal.sink.answers().is_empty());
}

#[tokio::test]
async fn a_malformed_payload_is_422() {
    let portal = Portal::start().await;
    let (status, body) = portal.deliver("api_particulier", br#"{"event":"approve"}"#).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body["errors"][0]["detail"].is_string());
}

#[tokio::test]
async fn the_bouquet_of_the_path_must_match_the_payload() {
    let portal = Portal::start().await;
    let body = payload("approve", 1_000, "api_entreprise");
    let (status, answer) = portal.deliver("api_particulier", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["errors"].is_array());
    assert!(portal.sink.answers().is_empty());
    let (status, _) = portal.deliver("api_entreprise", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(portal.sink.effects()[0].bouquet, Bouquet::ApiEntreprise);
}

#[tokio::test]
async fn the_test_ping_is_accepted_without_effect() {
    let portal = Portal::start().await;
    let ping = br#"{"test":true,"timestamp":"2026-03-02T10:15:00+01:00"}"#;
    for bouquet in ["api_particulier", "api_entreprise"] {
        let (status, body) = portal.deliver(bouquet, ping).await;
        assert_eq!((status, body), (StatusCode::OK, json!({})));
    }
    assert!(portal.sink.answers().is_empty());
}

#[tokio::test]
async fn a_sink_failure_is_422_and_the_retry_applies() {
    let portal = Portal::start().await;
    let body = particulier("approve", 1_000);
    portal.sink.fail_next();
    let (status, answer) = portal.deliver("api_particulier", &body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(answer["errors"].is_array());
    assert!(portal.sink.effects().is_empty());
    let (status, answer) = portal.deliver("api_particulier", &body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(answer["token_id"].is_string());
    assert!(!portal.sink.answers()[0].duplicate);
}

#[tokio::test]
async fn a_body_over_one_megabyte_is_refused() {
    let portal = Portal::start().await;
    let body = vec![b' '; 1024 * 1024 + 1];
    let (status, _) = portal.deliver("api_particulier", &body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}
