//! The France Travail family over real HTTP: `statut` and `indemnites` by login, their
//! masks, parameter errors, and every way the upstream can fail.

use passerelle_providers::france_travail::{FranceTravailConfig, FranceTravailProvider};
use passerelle_providers::{Health, Provider};
use serde_json::{json, Value};

use crate::helpers::*;

const STATUT: &str = "/v3/france_travail/statut/identifiant";
const INDEMNITES: &str = "/v3/france_travail/indemnites/identifiant";

fn login(identifiant: &str) -> Vec<(String, String)> {
    vec![("identifiant".to_string(), identifiant.to_string())]
}

#[tokio::test]
async fn statut_answers_the_contract_fields() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let (status, body) = json(app.get(STATUT, &login("123460A"), Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["identifiant"], "123460A");
    assert_eq!(
        data["identite"],
        json!({"civilite": "MME", "nom_naissance": "Vega", "nom_usage": null, "prenom": "Tiphaine",
               "sexe": "Féminin", "date_naissance": "1992-08-15"})
    );
    assert_eq!(data["contact"]["email"], "tifaine.vega@fake.fr");
    assert_eq!(data["adresse"]["ligne_complement_adresse"], Value::Null);
    assert_eq!(data["adresse"]["code_cog_insee_commune"], "31555");
    assert_eq!(
        data["inscription"],
        json!({"date_debut": "2025-09-01", "date_fin": null, "code_certification_cnav": "VC",
               "categorie": {"code": 1, "libelle": "PERSONNE SANS EMPLOI DISPONIBLE DUREE INDETERMINEE PLEIN TPS"}})
    );
    assert_eq!((&body["links"], &body["meta"]), (&json!({}), &json!({})));
}

#[tokio::test]
async fn indemnites_list_the_payments() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    // Logins match regardless of case, as the simulator's upstream does.
    let (status, body) = json(app.get(INDEMNITES, &login("Default"), Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["identifiant"], "Default");
    assert_eq!(
        body["data"]["paiements"][1],
        json!({"date_versement": "2021-02-01", "montant_total": 345.1, "montant_allocations": 345.1,
               "montant_aides": 0.0, "montant_autres": 0.0})
    );
    assert_eq!(body["data"]["paiements"].as_array().unwrap().len(), 2);
}

async fn keys(app: &TestApp, path: &str, scopes: &[&str]) -> Vec<String> {
    let jwt = app.token(scopes).await;
    let (status, body) = json(app.get(path, &login("default"), Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    let mut keys: Vec<String> = body["data"].as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

#[tokio::test]
async fn masks_follow_the_pole_emploi_scopes() {
    let app = TestApp::start().await;
    assert_eq!(keys(&app, STATUT, &["pole_emploi_identite"]).await, vec!["identite"]);
    assert_eq!(
        keys(&app, STATUT, &["pole_emploi_identifiant", "pole_emploi_contact"]).await,
        vec!["contact", "identifiant"]
    );
    assert_eq!(
        keys(&app, STATUT, &["pole_emploi_adresse", "pole_emploi_inscription"]).await,
        vec!["adresse", "inscription"]
    );
    assert_eq!(
        keys(&app, INDEMNITES, &["pole_emploi_paiements"]).await,
        vec!["identifiant", "paiements"]
    );
    // Each endpoint is opened by its own scopes only.
    let statut_only = app.token(&["pole_emploi_identite"]).await;
    assert_error(
        app.get(INDEMNITES, &login("default"), Some(&statut_only)).await,
        403,
        "00100",
    )
    .await;
    let paiements_only = app.token(&["pole_emploi_paiements"]).await;
    assert_error(
        app.get(STATUT, &login("default"), Some(&paiements_only)).await,
        403,
        "00100",
    )
    .await;
}

#[tokio::test]
async fn the_login_is_required() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    for path in [STATUT, INDEMNITES] {
        let body = assert_error(app.get(path, &[], Some(&jwt)).await, 422, "00380").await;
        assert_eq!(body["errors"][0]["source"], json!({"parameter": "identifiant"}));
        assert_error(app.get(path, &login("   "), Some(&jwt)).await, 422, "00380").await;
    }
    // The recipient is checked first, as for every endpoint.
    let no_recipient = app.get_raw(STATUT, &login("default"), Some(&jwt), &[]).await;
    assert_error(no_recipient, 422, "00210").await;
}

#[tokio::test]
async fn only_version_3_exists() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    for path in [
        "/v4/france_travail/statut/identifiant",
        "/v2/france_travail/indemnites/identifiant",
    ] {
        assert_error(app.get(path, &login("default"), Some(&jwt)).await, 404, "00402").await;
    }
    let unknown_mode = app
        .get("/v3/france_travail/statut/identite", &login("default"), Some(&jwt))
        .await;
    assert_error(unknown_mode, 404, "00404").await;
}

#[tokio::test]
async fn upstream_failures_map_to_the_contract_codes() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let cases = [
        (STATUT, "not_found", 404, "24003"),
        (STATUT, "inconnu.404", 404, "24003"),
        (STATUT, "partiel.206", 404, "24003"),
        (STATUT, "sans.categorie", 502, "24999"),
        (INDEMNITES, "inconnu", 404, "24003"),
        (INDEMNITES, "inconnu.404", 404, "24003"),
        (INDEMNITES, "vide.204", 404, "24003"),
        (INDEMNITES, "sans.paiement", 404, "24003"),
        (INDEMNITES, "sans.statut", 502, "24999"),
        (STATUT, "delai.depasse", 504, "24002"),
        (INDEMNITES, "delai.depasse", 504, "24002"),
        (STATUT, "panne", 502, "24999"),
        (INDEMNITES, "indisponible", 502, "24001"),
        (STATUT, "illisible", 502, "24999"),
        (INDEMNITES, "redirection", 502, "24000"),
    ];
    for (path, identifiant, status, code) in cases {
        let body = assert_error(app.get(path, &login(identifiant), Some(&jwt)).await, status, code).await;
        assert_eq!(body["errors"][0]["meta"]["provider"], "France Travail", "{identifiant}");
    }
    let body = assert_error(app.get(STATUT, &login("not_found"), Some(&jwt)).await, 404, "24003").await;
    assert_eq!(
        body["errors"][0]["detail"],
        "Aucune situation France Travail n'a pu être trouvée avec les critères de recherche fournis."
    );
}

#[tokio::test]
async fn slow_upstream_is_a_504_within_the_budget() {
    let app = TestApp::builder().provider_timeout_secs(1).start().await;
    let jwt = app.all_scopes_token().await;
    let started = std::time::Instant::now();
    assert_error(app.get(INDEMNITES, &login("lent"), Some(&jwt)).await, 504, "24002").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[tokio::test]
async fn unreachable_upstream_is_24001() {
    let app = TestApp::builder().dead_upstream().start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(STATUT, &login("default"), Some(&jwt)).await, 502, "24001").await;
}

#[tokio::test]
async fn ping_asks_for_a_token_and_an_unknown_login() {
    let app = TestApp::start().await;
    let (status, body) = json(app.get_raw("/api/france_travail/ping", &[], None, &[]).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}");

    // With credentials the upstream refuses, the provider reports 24006.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, passerelle_providers::simulators()).await });
    let mut config = FranceTravailConfig::simulated(&format!("http://{address}/france_travail"));
    config.client_secret = "wrong".into();
    let provider = FranceTravailProvider::new(config).unwrap();
    assert_eq!(provider.ping().await, Health::Down("24006".into()));
}
