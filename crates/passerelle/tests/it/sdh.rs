//! The SDH family over real HTTP: `statut_sportif` by identifier, its masks, parameter
//! errors, and every way the upstream can fail.

use passerelle_providers::sdh::{SdhConfig, SdhProvider};
use passerelle_providers::{Health, Provider};
use serde_json::json;

use crate::helpers::*;

const PATH: &str = "/v3/sdh/statut_sportif/identifiant";

fn athlete(identifiant: &str) -> Vec<(String, String)> {
    vec![("identifiant".to_string(), identifiant.to_string())]
}

#[tokio::test]
async fn a_current_athlete_has_a_status_and_a_history() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let (status, body) = json(app.get(PATH, &athlete("900001"), Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(
        data["identite"],
        json!({"nom_naissance": "ACTUEL", "nom_usage": null, "prenoms": "Thomas", "date_naissance": "1990-06-15", "sexe": "M"})
    );
    assert_eq!(
        (
            &data["est_sportif_de_haut_niveau"],
            &data["a_ete_sportif_de_haut_niveau"]
        ),
        (&json!(true), &json!(true))
    );
    assert_eq!(
        data["informations_statut"],
        json!({
            "periode": {"date_debut_statut": "2020-01-01", "date_fin_statut": "2099-12-31"},
            "federation": {"code_federation": "68", "nom_federation": "Fédération Française de Vol Libre", "nom_court_federation": "VOL LIBRE"},
            "etablissement": {"code_etablissement": "980", "nom_etablissement": "MRP OCCITANIE-MONTPELLIER"},
            "region": {"code_region": "76", "nom_region": "Occitanie"},
            "categorie": {"code_categorie": "4", "nom_categorie": "Elite", "valeur": "128"},
            "sportif_de_haut_niveau": true
        })
    );
    let previous = data["informations_statuts_precedents"].as_array().unwrap();
    assert_eq!(previous.len(), 1);
    assert_eq!(previous[0]["fiche"], 2);
    assert_eq!(previous[0]["categorie"]["valeur"], "64");
    // A past status keeps the establishment of its own period.
    assert_eq!(
        previous[0]["region"],
        json!({"code_region": "75", "nom_region": "Nouvelle-Aquitaine"})
    );
}

#[tokio::test]
async fn a_former_athlete_has_no_current_status() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let (status, body) = json(app.get(PATH, &athlete("900002"), Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["est_sportif_de_haut_niveau"], false);
    assert_eq!(body["data"]["a_ete_sportif_de_haut_niveau"], true);
    // No status is current: the latest one is shown, as the schema requires an object.
    assert_eq!(
        body["data"]["informations_statut"]["periode"]["date_fin_statut"],
        "2012-12-31"
    );
    assert_eq!(body["data"]["informations_statuts_precedents"], json!([]));
}

#[tokio::test]
async fn masks_follow_the_sdh_scopes() {
    let app = TestApp::start().await;
    let cases: [(&[&str], &[&str]); 3] = [
        (&["sdh_statut_sportif_identite"], &["identite"]),
        (
            &[
                "sdh_statut_sportif_est_sportif_de_haut_niveau",
                "sdh_statut_sportif_a_ete_sportif_de_haut_niveau",
            ],
            &["a_ete_sportif_de_haut_niveau", "est_sportif_de_haut_niveau"],
        ),
        (
            &[
                "sdh_statut_sportif_informations_statut",
                "sdh_statut_sportif_informations_statuts_precedents",
            ],
            &["informations_statut", "informations_statuts_precedents"],
        ),
    ];
    for (scopes, expected) in cases {
        let jwt = app.token(scopes).await;
        let (status, body) = json(app.get(PATH, &athlete("900001"), Some(&jwt)).await).await;
        assert_eq!(status, 200, "{body}");
        let mut keys: Vec<_> = body["data"].as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(keys, expected.to_vec());
    }
    let other = app.token(&["pole_emploi_identite"]).await;
    assert_error(app.get(PATH, &athlete("900001"), Some(&other)).await, 403, "00100").await;
}

#[tokio::test]
async fn the_identifier_is_required_and_numeric() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    for bad in [None, Some(""), Some("12a"), Some("../token"), Some("-1")] {
        let query = bad.map(athlete).unwrap_or_default();
        let body = assert_error(app.get(PATH, &query, Some(&jwt)).await, 422, "00380").await;
        assert_eq!(
            body["errors"][0]["source"],
            json!({"parameter": "identifiant"}),
            "{bad:?}"
        );
    }
    // The upstream refusing an identifier is the sandbox's 00366.
    assert_error(app.get(PATH, &athlete("43210"), Some(&jwt)).await, 422, "00366").await;
}

#[tokio::test]
async fn only_version_3_exists() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let response = app
        .get("/v4/sdh/statut_sportif/identifiant", &athlete("900001"), Some(&jwt))
        .await;
    assert_error(response, 404, "00402").await;
}

#[tokio::test]
async fn upstream_failures_map_to_the_contract_codes() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let cases = [
        ("54321", 404, "41003"),
        ("900003", 502, "41999"),
        ("900004", 502, "41001"),
        ("900005", 502, "41999"),
        ("900007", 502, "41000"),
        ("900008", 502, "41999"),
    ];
    for (identifiant, status, code) in cases {
        let body = assert_error(app.get(PATH, &athlete(identifiant), Some(&jwt)).await, status, code).await;
        assert_eq!(body["errors"][0]["meta"]["provider"], "SDH", "{identifiant}");
    }
}

#[tokio::test]
async fn slow_upstream_is_a_504_within_the_budget() {
    let app = TestApp::builder().provider_timeout_secs(1).start().await;
    let jwt = app.all_scopes_token().await;
    let started = std::time::Instant::now();
    assert_error(app.get(PATH, &athlete("13579"), Some(&jwt)).await, 504, "41002").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[tokio::test]
async fn unreachable_upstream_is_41001() {
    let app = TestApp::builder().dead_upstream().start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(PATH, &athlete("900001"), Some(&jwt)).await, 502, "41001").await;
}

#[tokio::test]
async fn ping_asks_for_a_token_and_an_unknown_athlete() {
    let app = TestApp::start().await;
    let (status, body) = json(app.get_raw("/api/sdh/ping", &[], None, &[]).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}");

    // With credentials the upstream refuses, the provider reports 41006.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, passerelle_providers::simulators()).await });
    let mut config = SdhConfig::simulated(&format!("http://{address}/sdh"));
    config.client_secret = "wrong".into();
    let provider = SdhProvider::new(config).unwrap();
    assert_eq!(provider.ping().await, Health::Down("41006".into()));
}
