//! GIP-MDS service civique over real HTTP: the sandbox people, the masks, the
//! parameters, and every way the upstream can fail.

use passerelle_providers::gip_mds::{GipMdsConfig, GipMdsProvider};
use passerelle_providers::Provider;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::helpers::*;

const PATH: &str = "/v3/gip_mds/service_civique/identite";
const ACTUEL: &str = "gip_mds_service_civique_statut_actuel";
const PASSE: &str = "gip_mds_service_civique_statut_passe";
const ORGANISME: &str = "gip_mds_service_civique_organisme_accueil";
const DATES: &str = "gip_mds_service_civique_dates";

fn person(nom: &str, prenoms: &[&str], date: (&str, &str, &str)) -> Vec<(String, String)> {
    let mut q = vec![
        ("nomNaissance".to_string(), nom.to_string()),
        ("anneeDateNaissance".into(), date.0.into()),
        ("moisDateNaissance".into(), date.1.into()),
        ("jourDateNaissance".into(), date.2.into()),
    ];
    q.extend(prenoms.iter().map(|p| ("prenoms[]".to_string(), p.to_string())));
    q
}

/// The sandbox's volunteer with a current and a past contract.
fn sophie() -> Vec<(String, String)> {
    person("BERNARD", &["SOPHIE"], ("1999", "11", "8"))
}

/// A synthetic person of the GIP-MDS simulator (see people_synthetic.json).
fn synthetic_volunteer(nom: &str) -> Vec<(String, String)> {
    person(nom, &["TEST"], ("2000", "1", "1"))
}

fn no_contract() -> Value {
    json!({"contrat_trouve": false, "organisme_accueil": {"siret": null, "raison_sociale": null}, "date_debut_contrat": null, "date_fin_contrat": null})
}

#[tokio::test]
async fn sandbox_people_get_their_contracts() {
    let app = TestApp::start().await;
    let jwt = app.token(&[ACTUEL, PASSE, ORGANISME, DATES]).await;
    let (status, body) = json(app.get(PATH, &sophie(), Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({
            "statut_actuel": {"contrat_trouve": true, "organisme_accueil": {"siret": "18009202500059", "raison_sociale": "MINISTERE DE L EDUCATION NATIONALE"}, "date_debut_contrat": "2024-10-01", "date_fin_contrat": "2025-07-31"},
            "statut_passe": {"contrat_trouve": true, "organisme_accueil": {"siret": "42229566900026", "raison_sociale": "UNIS CITE"}, "date_debut_contrat": "2021-03-15", "date_fin_contrat": "2021-11-14"}
        })
    );
    let lucas = person("petit", &["Lucas", "Antoine"], ("2000", "5", "12"));
    let (status, body) = json(app.get(PATH, &lucas, Some(&jwt)).await).await;
    assert_eq!(
        (status, &body["data"]),
        (
            200,
            &json!({"statut_actuel": no_contract(), "statut_passe": no_contract()})
        ),
        "{body}"
    );
}

#[tokio::test]
async fn contracts_are_classified() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    // (name, current contract's start, past contract's end)
    let cases = [
        ("EN COURS", json!("2025-12-01"), Value::Null),
        ("TERMINE", Value::Null, json!("2023-07-14")),
        ("RUPTURE NEUF", json!("2024-01-15"), Value::Null),
        ("DEUX CONTRATS", json!("2024-01-15"), json!("2020-07-14")),
        ("SANS CONTRAT", Value::Null, Value::Null),
    ];
    for (nom, debut_actuel, fin_passe) in cases {
        let (status, body) = json(app.get(PATH, &synthetic_volunteer(nom), Some(&jwt)).await).await;
        assert_eq!(status, 200, "{nom}: {body}");
        let data = &body["data"];
        assert_eq!(data["statut_actuel"]["date_debut_contrat"], debut_actuel, "{nom}");
        assert_eq!(
            data["statut_actuel"]["contrat_trouve"],
            !debut_actuel.is_null(),
            "{nom}"
        );
        assert_eq!(data["statut_passe"]["date_fin_contrat"], fin_passe, "{nom}");
        assert_eq!(data["statut_passe"]["contrat_trouve"], !fin_passe.is_null(), "{nom}");
    }
}

#[tokio::test]
async fn masks_follow_the_scopes() {
    let app = TestApp::start().await;
    let get = |scopes: &'static [&'static str]| {
        let app = &app;
        async move {
            let jwt = app.token(scopes).await;
            let (status, body) = json(app.get(PATH, &sophie(), Some(&jwt)).await).await;
            assert_eq!(status, 200, "{body}");
            body["data"].clone()
        }
    };
    assert_eq!(get(&[ACTUEL]).await, json!({"statut_actuel": {"contrat_trouve": true}}));
    assert_eq!(
        get(&[PASSE, ORGANISME]).await,
        json!({"statut_passe": {"contrat_trouve": true, "organisme_accueil": {"siret": "42229566900026", "raison_sociale": "UNIS CITE"}}})
    );
    assert_eq!(
        get(&[ACTUEL, DATES]).await,
        json!({"statut_actuel": {"contrat_trouve": true, "date_debut_contrat": "2024-10-01", "date_fin_contrat": "2025-07-31"}})
    );
    // Details without a status show nothing.
    assert_eq!(get(&[ORGANISME, DATES]).await, json!({}));
}

#[tokio::test]
async fn scopes_open_the_endpoint() {
    let app = TestApp::start().await;
    let other = app.token(&["dsnj_statut_service_national"]).await;
    assert_error(app.get(PATH, &sophie(), Some(&other)).await, 403, "00100").await;
}

#[tokio::test]
async fn upstream_failures_map_to_the_contract_codes() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let cases = [
        ("PERSONNE INCONNUE", 404, "31003"),
        ("PANNE", 502, "31999"),
        ("ILLISIBLE", 502, "31999"),
        ("SANS INDIVIDU", 502, "31999"),
        ("INDISPONIBLE", 502, "31001"),
        ("REDIRECTION", 502, "31000"),
    ];
    for (nom, status, code) in cases {
        let body = assert_error(app.get(PATH, &synthetic_volunteer(nom), Some(&jwt)).await, status, code).await;
        assert_eq!(body["errors"][0]["meta"]["provider"], "GIP-MDS", "{nom}");
    }
    let body = assert_error(
        app.get(PATH, &synthetic_volunteer("HOMONYMES"), Some(&jwt)).await,
        422,
        "00391",
    )
    .await;
    assert!(body["errors"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("plusieurs personnes"));
}

#[tokio::test]
async fn slow_upstream_is_31002() {
    let app = TestApp::builder().provider_timeout_secs(1).start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(
        app.get(PATH, &synthetic_volunteer("LENT"), Some(&jwt)).await,
        504,
        "31002",
    )
    .await;
}

#[tokio::test]
async fn unreachable_upstream_is_31001() {
    let app = TestApp::builder().dead_upstream().start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(PATH, &sophie(), Some(&jwt)).await, 502, "31001").await;
}

#[tokio::test]
async fn parameters_are_checked() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let (status, body) = json(app.get(PATH, &[], Some(&jwt)).await).await;
    assert_eq!(
        (status, codes(&body)),
        (
            422,
            vec!["00420", "00421", "00422", "00423", "00424"]
                .into_iter()
                .map(String::from)
                .collect::<Vec<_>>()
        )
    );
    let feb_30 = person("BERNARD", &["SOPHIE"], ("1999", "2", "30"));
    assert_error(app.get(PATH, &feb_30, Some(&jwt)).await, 422, "00425").await;
    let bad_name = person("BERN4RD", &["SOPHIE"], ("1999", "11", "8"));
    assert_error(app.get(PATH, &bad_name, Some(&jwt)).await, 422, "00420").await;
    // Sex and birthplace are optional (no country is France) and not sent upstream,
    // but malformed ones are refused, as on every identity endpoint.
    let mut extra = sophie();
    extra.push(("sexeEtatCivil".into(), "F".into()));
    extra.push(("codeCogInseePaysNaissance".into(), "99100".into()));
    assert_eq!(app.get(PATH, &extra, Some(&jwt)).await.status(), 200);
    let mut odd = sophie();
    odd.push(("sexeEtatCivil".into(), "X".into()));
    odd.push(("codeCogInseePaysNaissance".into(), "1".into()));
    let (status, body) = json(app.get(PATH, &odd, Some(&jwt)).await).await;
    assert_eq!(
        (status, codes(&body)),
        (422, vec!["00427".to_string(), "00400".to_string()])
    );
}

#[tokio::test]
async fn other_versions_are_00402() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let path = "/v4/gip_mds/service_civique/identite";
    assert_error(app.get(path, &sophie(), Some(&jwt)).await, 404, "00402").await;
}

#[tokio::test]
async fn ping_checks_the_upstream() {
    let app = TestApp::start().await;
    let (status, body) = json(app.get_raw("/api/gip_mds/ping", &[], None, &[]).await).await;
    assert_eq!((status, &body["status"]), (200, &json!("ok")), "{body}");
}

/// The provider alone against the simulator, with credentials the upstream refuses.
#[tokio::test]
async fn refused_client_credentials_are_31006() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, passerelle_providers::simulators()).await });
    let config = GipMdsConfig {
        client_secret: "wrong".into(),
        ..GipMdsConfig::simulated(&format!("http://{address}/gip_mds"))
    };
    let provider = GipMdsProvider::new(config).unwrap();
    assert_eq!(
        provider.ping().await,
        passerelle_providers::Health::Down("31006".into())
    );
}
