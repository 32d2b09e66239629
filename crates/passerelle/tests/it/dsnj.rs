//! DSNJ service national over real HTTP: the sandbox people, the age rule, the
//! parameters, and every way the upstream can fail.

use chrono::NaiveDate;
use passerelle_core::{Civility, Query};
use passerelle_providers::dsnj::{DsnjConfig, DsnjProvider};
use passerelle_providers::{Call, Extras, Provider};
use serde_json::json;
use tokio::net::TcpListener;

use crate::helpers::*;

const PATH: &str = "/v3/dsnj/service_national/identite";
const SCOPE: &str = "dsnj_statut_service_national";

fn person(nom: &str, prenoms: &[&str], date: (&str, &str, &str), sexe: &str) -> Vec<(String, String)> {
    let mut q = vec![
        ("nomNaissance".to_string(), nom.to_string()),
        ("anneeDateNaissance".into(), date.0.into()),
        ("moisDateNaissance".into(), date.1.into()),
        ("jourDateNaissance".into(), date.2.into()),
        ("sexeEtatCivil".into(), sexe.into()),
        ("codeCogInseePaysNaissance".into(), "99100".into()),
        ("codeCogInseeCommuneNaissance".into(), "75056".into()),
    ];
    q.extend(prenoms.iter().map(|p| ("prenoms[]".to_string(), p.to_string())));
    q
}

/// The sandbox's "en règle" person.
fn jean() -> Vec<(String, String)> {
    person("MARTIN", &["JEAN", "MICHEL"], ("2006", "1", "15"), "M")
}

/// A synthetic person of the DSNJ simulator (see people_synthetic.json).
fn synthetic_young(nom: &str) -> Vec<(String, String)> {
    person(nom, &["TEST"], ("2008", "1", "1"), "M")
}

fn without(query: &[(String, String)], key: &str) -> Vec<(String, String)> {
    query.iter().filter(|(k, _)| k != key).cloned().collect()
}

fn with(query: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    let mut q = without(query, key);
    q.push((key.to_string(), value.to_string()));
    q
}

#[tokio::test]
async fn sandbox_people_get_their_status() {
    let app = TestApp::start().await;
    let jwt = app.token(&[SCOPE]).await;
    let (status, body) = json(app.get(PATH, &jean(), Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"data": {"statut_service_national": "en_regle", "commentaires": "Journée Défense et Citoyenneté effectuée le 15/06/2008"}, "links": {}, "meta": {}})
    );
    // Older than 25: answered, as the official sandbox case shows.
    let dubois = with(
        &person("DUBOIS", &["THOMAS"], ("1995", "6", "22"), "M"),
        "codeCogInseeCommuneNaissance",
        "69123",
    );
    let (status, body) = json(app.get(PATH, &dubois, Some(&jwt)).await).await;
    assert_eq!(
        (status, &body["data"]["statut_service_national"]),
        (200, &json!("pas_en_regle")),
        "{body}"
    );
}

#[tokio::test]
async fn names_and_sex_reach_the_upstream_normalised() {
    let app = TestApp::start().await;
    let jwt = app.token(&[SCOPE]).await;
    // Lower case, accents and a lower-case sex still find the person.
    let q = person("Martin", &["jéan"], ("2006", "1", "15"), "m");
    let (status, body) = json(app.get(PATH, &q, Some(&jwt)).await).await;
    assert_eq!(
        (status, &body["data"]["statut_service_national"]),
        (200, &json!("en_regle")),
        "{body}"
    );
    // Another sex is another person.
    let q = person("MARTIN", &["JEAN"], ("2006", "1", "15"), "F");
    assert_error(app.get(PATH, &q, Some(&jwt)).await, 404, "39003").await;
}

#[tokio::test]
async fn other_labels_map_to_the_contract() {
    let app = TestApp::start().await;
    let jwt = app.token(&[SCOPE]).await;
    let cases = [
        (
            "INDETERMINE",
            json!({"statut_service_national": "indetermine", "commentaires": "Situation en cours d'examen"}),
        ),
        (
            "NON CONCERNE",
            json!({"statut_service_national": "non_concerne", "commentaires": null}),
        ),
    ];
    for (nom, expected) in cases {
        let (status, body) = json(app.get(PATH, &synthetic_young(nom), Some(&jwt)).await).await;
        assert_eq!((status, &body["data"]), (200, &expected), "{nom}");
    }
}

#[tokio::test]
async fn scope_opens_the_endpoint() {
    let app = TestApp::start().await;
    let other = app.token(&["gip_mds_service_civique_statut_actuel"]).await;
    assert_error(app.get(PATH, &jean(), Some(&other)).await, 403, "00100").await;
}

#[tokio::test]
async fn upstream_failures_map_to_the_contract_codes() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let cases = [
        ("PERSONNE INCONNUE", 404, "39003"),
        ("STATUT INCONNU", 502, "39999"),
        ("HOMONYMES", 502, "39999"),
        ("ERREUR TECHNIQUE", 502, "39999"),
        ("ERREUR FORMAT", 502, "39999"),
        ("ILLISIBLE", 502, "39999"),
        ("INDISPONIBLE", 502, "39001"),
        ("REDIRECTION", 502, "39000"),
    ];
    for (nom, status, code) in cases {
        let body = assert_error(app.get(PATH, &synthetic_young(nom), Some(&jwt)).await, status, code).await;
        assert_eq!(body["errors"][0]["meta"]["provider"], "DSNJ", "{nom}");
    }
}

#[tokio::test]
async fn slow_upstream_is_39002() {
    let app = TestApp::builder().provider_timeout_secs(1).start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(PATH, &synthetic_young("LENT"), Some(&jwt)).await, 504, "39002").await;
}

#[tokio::test]
async fn unreachable_upstream_is_39001() {
    let app = TestApp::builder().dead_upstream().start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(PATH, &jean(), Some(&jwt)).await, 502, "39001").await;
}

#[tokio::test]
async fn parameters_are_checked() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let young = person("MARTIN", &["JEAN"], ("2015", "3", "1"), "M");
    let body = assert_error(app.get(PATH, &young, Some(&jwt)).await, 422, "39400").await;
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("16 et 25"));
    let cases = [
        (without(&jean(), "sexeEtatCivil"), "00427"),
        (without(&jean(), "codeCogInseePaysNaissance"), "00400"),
        (without(&jean(), "prenoms[]"), "00421"),
        (without(&jean(), "nomNaissance"), "00420"),
        (without(&jean(), "jourDateNaissance"), "00424"),
        (with(&jean(), "codeCogInseeCommuneNaissance", "20000"), "00426"),
    ];
    for (query, code) in cases {
        assert_error(app.get(PATH, &query, Some(&jwt)).await, 422, code).await;
    }
    let feb_31 = with(&with(&jean(), "moisDateNaissance", "2"), "jourDateNaissance", "31");
    assert_error(app.get(PATH, &feb_31, Some(&jwt)).await, 422, "00425").await;
}

#[tokio::test]
async fn other_versions_are_00402() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let path = "/v4/dsnj/service_national/identite";
    assert_error(app.get(path, &jean(), Some(&jwt)).await, 404, "00402").await;
}

#[tokio::test]
async fn ping_checks_the_upstream() {
    let app = TestApp::start().await;
    let (status, body) = json(app.get_raw("/api/dsnj/ping", &[], None, &[]).await).await;
    assert_eq!((status, &body["status"]), (200, &json!("ok")), "{body}");
}

/// The provider alone against the simulator, with a token the upstream refuses.
#[tokio::test]
async fn refused_token_is_39006() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, passerelle_providers::simulators()).await });
    let config = DsnjConfig {
        token: "wrong".into(),
        ..DsnjConfig::simulated(&format!("http://{address}/dsnj"))
    };
    let provider = DsnjProvider::new(config).unwrap();
    let endpoint = passerelle_catalogue::find("dsnj/service_national", "identite", 3).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let civility = Civility::parse(&Query::new(jean()), endpoint.civility.as_ref().unwrap(), today).unwrap();
    let purpose = passerelle_core::Purpose::from([("recipient".to_string(), RECIPIENT.to_string())]);
    let extras = Extras::new();
    let call = Call {
        caller: "00000000-0000-4000-8000-000000000001",
        endpoint,
        version: 3,
        civility: Some(&civility),
        extras: &extras,
        purpose: &purpose,
        request_id: "00000000-0000-4000-8000-000000000001",
        today,
    };
    assert_eq!(provider.fetch(&call).await.unwrap_err().code, "39006");
}
