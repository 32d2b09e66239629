//! MESRI statut étudiant over real HTTP: both modes, masks, parameters, and every way
//! the upstream can fail.

use chrono::NaiveDate;
use passerelle_core::{ApiError, Query};
use passerelle_providers::mesri::{MesriConfig, MesriProvider};
use passerelle_providers::{Call, Extras, Health, Provider};
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::helpers::*;

const IDENTITE: &str = "/v3/mesri/statut_etudiant/identite";
const INE: &str = "/v3/mesri/statut_etudiant/ine";

/// A student of the official cases (`civility_etudiant_inscrit.yml`): no birth country.
fn jacques() -> Vec<(String, String)> {
    pairs(&[
        ("nomNaissance", "MARTIN"),
        ("prenoms[]", "Jacques"),
        ("anneeDateNaissance", "2004"),
        ("moisDateNaissance", "1"),
        ("jourDateNaissance", "1"),
        ("sexeEtatCivil", "M"),
        ("codeCogInseeCommuneNaissance", "75102"),
    ])
}

fn jacques_data() -> Value {
    json!({
        "identite": {"nom_naissance": "Martin", "prenom": "Jacques", "date_naissance": "2004-01-01"},
        "admissions": [{
            "date_debut": "2024-10-01", "date_fin": "2025-08-31", "est_inscrit": true,
            "regime_formation": {"libelle": "formation initiale", "code": "RF1"},
            "code_cog_insee_commune": "92000",
            "etablissement_etudes": {"uai": "0330023W", "nom": "Université Paris Nanterre"}
        }]
    })
}

/// A synthetic student (people_synthetic.json) whose answer depends on `nom`.
fn synthetic_student(nom: &str) -> Vec<(String, String)> {
    pairs(&[
        ("nomNaissance", nom),
        ("prenoms[]", "TEST"),
        ("anneeDateNaissance", "1980"),
        ("moisDateNaissance", "1"),
        ("jourDateNaissance", "1"),
        ("sexeEtatCivil", "M"),
        ("codeCogInseeCommuneNaissance", "75056"),
    ])
}

fn ine(value: &str) -> Vec<(String, String)> {
    pairs(&[("ine", value)])
}

async fn data(app: &TestApp, path: &str, query: &[(String, String)], jwt: &str) -> Value {
    let (status, body) = json(app.get(path, query, Some(jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn both_modes_answer_with_the_contract_fields() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    assert_eq!(data(&app, IDENTITE, &jacques(), &jwt).await, jacques_data());
    // Accents and case do not matter to the upstream's matching.
    let mut folded = jacques();
    folded[0].1 = "Martín".into();
    folded[1].1 = "JACQUES".into();
    assert_eq!(data(&app, IDENTITE, &folded, &jwt).await, jacques_data());
    let by_ine = data(&app, INE, &ine("1234567890c"), &jwt).await;
    assert_eq!(
        by_ine,
        json!({
            "identite": {"nom_naissance": "Charbonneau", "prenom": "Axelle", "date_naissance": "2001-01-02"},
            "admissions": [{
                "date_debut": "2023-09-01", "date_fin": "2024-08-31", "est_inscrit": true,
                "regime_formation": {"libelle": "formation initiale", "code": "RF1"},
                "code_cog_insee_commune": "31555",
                "etablissement_etudes": {"uai": "0313124C", "nom": "Université Toulouse Capitole"}
            }]
        })
    );
}

#[tokio::test]
async fn regimes_map_to_their_codes_and_statut_to_est_inscrit() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let expected = json!([
        ["RF1", true],
        ["RF2", false],
        ["RF3", true],
        ["RF4", false],
        ["RF5", true],
        ["RF6", false],
        ["RF7", true],
        [null, false]
    ]);
    for (path, query) in [(IDENTITE, synthetic_student("REGIMES")), (INE, ine("9999999001A"))] {
        let data = data(&app, path, &query, &jwt).await;
        let got: Vec<Value> = data["admissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| json!([a["regime_formation"]["code"], a["est_inscrit"]]))
            .collect();
        assert_eq!(Value::Array(got), expected, "{path}");
    }
}

#[tokio::test]
async fn the_birthplace_can_be_found_by_name_through_insee() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let mut rennais = synthetic_student("RENNAIS");
    rennais.retain(|(k, _)| k != "codeCogInseeCommuneNaissance");
    let (status, _) = json(app.get(IDENTITE, &rennais, Some(&jwt)).await).await;
    assert_eq!(status, 404, "without a birthplace, nobody matches");
    rennais.push(("nomCommuneNaissance".into(), "Rennes".into()));
    rennais.push(("codeCogInseeDepartementNaissance".into(), "35".into()));
    let data = data(&app, IDENTITE, &rennais, &jwt).await;
    assert_eq!(data["identite"]["nom_naissance"], "Rennais");
}

#[tokio::test]
async fn masks_follow_the_scopes() {
    let app = TestApp::start().await;
    let identite_only = app.token(&["mesri_identite"]).await;
    let data_ = data(&app, IDENTITE, &jacques(), &identite_only).await;
    assert_eq!(data_, json!({"identite": jacques_data()["identite"]}));

    let dates_only = app.token(&["mesri_admissions"]).await;
    let data_ = data(&app, INE, &ine("1234567890C"), &dates_only).await;
    assert_eq!(
        data_,
        json!({"admissions": [{"date_debut": "2023-09-01", "date_fin": "2024-08-31"}]})
    );

    let some = app
        .token(&[
            "mesri_admissions",
            "mesri_admission_inscrit",
            "mesri_admission_commune_etudes",
        ])
        .await;
    let data_ = data(&app, IDENTITE, &jacques(), &some).await;
    assert_eq!(
        data_,
        json!({"admissions": [{"date_debut": "2024-10-01", "date_fin": "2025-08-31",
            "est_inscrit": true, "code_cog_insee_commune": "92000"}]})
    );

    let others = app
        .token(&[
            "mesri_admissions",
            "mesri_admission_regime_formation",
            "mesri_admission_etablissement_etudes",
        ])
        .await;
    let data_ = data(&app, IDENTITE, &jacques(), &others).await;
    let admission = &data_["admissions"][0];
    assert!(admission.get("regime_formation").is_some());
    assert!(admission.get("etablissement_etudes").is_some());
    assert!(admission.get("est_inscrit").is_none());
    assert!(admission.get("code_cog_insee_commune").is_none());

    // A scope of another family opens nothing here.
    let other = app.token(&["cnaf_quotient_familial"]).await;
    assert_error(app.get(INE, &ine("1234567890C"), Some(&other)).await, 403, "00100").await;
}

#[tokio::test]
async fn upstream_answers_map_to_the_contract_codes() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let cases = [
        ("INCONNU", "1234567404G", 404, "25003"),
        ("PANNE", "9999999500A", 502, "25999"),
        ("INDISPONIBLE", "9999999503A", 502, "25001"),
        ("PASSERELLE", "9999999502A", 502, "25001"),
        ("DELAI", "9999999504A", 504, "25002"),
        ("ILLISIBLE", "9999999200A", 502, "25999"),
        ("SANS NOM", "9999999201A", 502, "25999"),
        ("REDIRECTION", "9999999302A", 502, "25000"),
        ("REFUS", "9999999400A", 502, "25999"),
    ];
    for (nom, number, status, code) in cases {
        let body = assert_error(
            app.get(IDENTITE, &synthetic_student(nom), Some(&jwt)).await,
            status,
            code,
        )
        .await;
        assert_eq!(body["errors"][0]["meta"]["provider"], "MESRI", "{nom}");
        assert_error(app.get(INE, &ine(number), Some(&jwt)).await, status, code).await;
    }
    let body = assert_error(app.get(INE, &ine("1234567404G"), Some(&jwt)).await, 404, "25003").await;
    assert_eq!(body["errors"][0]["title"], "Entité non trouvée");
    assert_eq!(
        body["errors"][0]["detail"],
        "Aucun étudiant n'a pu être trouvé avec les critères de recherche fournis."
    );
}

#[tokio::test]
async fn slow_upstream_is_a_504_within_the_budget() {
    let app = TestApp::builder().provider_timeout_secs(1).start().await;
    let jwt = app.all_scopes_token().await;
    let started = std::time::Instant::now();
    assert_error(
        app.get(IDENTITE, &synthetic_student("LENT"), Some(&jwt)).await,
        504,
        "25002",
    )
    .await;
    assert_error(app.get(INE, &ine("9999999408A"), Some(&jwt)).await, 504, "25002").await;
    assert!(started.elapsed().as_secs() < 5);
}

#[tokio::test]
async fn parameters_are_checked_with_their_codes() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(INE, &[], Some(&jwt)).await, 422, "00360").await;
    let body = assert_error(app.get(INE, &ine("12345"), Some(&jwt)).await, 422, "00360").await;
    assert_eq!(body["errors"][0]["source"]["parameter"], "ine");
    assert_error(app.get(INE, &ine("1234567890I"), Some(&jwt)).await, 422, "00360").await;

    let (status, body) = json(app.get(IDENTITE, &[], Some(&jwt)).await).await;
    assert_eq!(status, 422);
    assert_eq!(codes(&body), ["00420", "00421", "00422", "00423", "00424", "00427"]);

    let mut two = jacques();
    two.push(("prenoms[]".into(), "Paul".into()));
    assert_error(app.get(IDENTITE, &two, Some(&jwt)).await, 422, "00421").await;

    let mut bad_date = jacques();
    bad_date[4].1 = "31".into();
    bad_date[3].1 = "2".into();
    assert_error(app.get(IDENTITE, &bad_date, Some(&jwt)).await, 422, "00425").await;

    let mut bad_sexe = jacques();
    bad_sexe[5].1 = "X".into();
    assert_error(app.get(IDENTITE, &bad_sexe, Some(&jwt)).await, 422, "00427").await;

    let mut bad_commune = jacques();
    bad_commune[6].1 = "7510".into();
    assert_error(app.get(IDENTITE, &bad_commune, Some(&jwt)).await, 422, "00426").await;

    // Parameters of other endpoints are ignored when well formed; the shared civility
    // parser still refuses a malformed birth country or usage name.
    let mut extra = jacques();
    extra.push(("codeCogInseePaysNaissance".into(), "99134".into()));
    extra.push(("nomUsage".into(), "Durand".into()));
    extra.push(("campaignYear".into(), "x".into()));
    assert_eq!(data(&app, IDENTITE, &extra, &jwt).await, jacques_data());
    let mut malformed = jacques();
    malformed.push(("codeCogInseePaysNaissance".into(), "12".into()));
    malformed.push(("nomUsage".into(), "1".into()));
    let (status, body) = json(app.get(IDENTITE, &malformed, Some(&jwt)).await).await;
    assert_eq!(status, 422);
    assert_eq!(codes(&body), ["00366", "00400"]);
}

#[tokio::test]
async fn versions_other_than_v3_are_00402() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    for (path, query) in [
        ("/v4/mesri/statut_etudiant/identite", jacques()),
        ("/v4/mesri/statut_etudiant/ine", ine("1234567890C")),
        ("/v5/mesri/statut_etudiant/ine", ine("1234567890C")),
    ] {
        assert_error(app.get(path, &query, Some(&jwt)).await, 404, "00402").await;
    }
}

#[tokio::test]
async fn the_ping_searches_an_unknown_ine() {
    let app = TestApp::start().await;
    let (status, body) = json(app.get_raw("/api/mesri/ping", &[], None, &[]).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}");
}

/// Serves `router` on a free port; its base URL.
async fn serve(router: axum::Router) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

/// The adapter alone: a search by INE on behalf of the token `caller`.
async fn fetch_by_ine(provider: &MesriProvider, caller: &str) -> Result<Value, ApiError> {
    let endpoint = passerelle_catalogue::find("mesri/statut_etudiant", "ine", 3).unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let extras: Extras = provider
        .parse_extras(endpoint, &Query::from_pairs(&[("ine", "1234567890C")]), today)
        .unwrap();
    let purpose = passerelle_core::Purpose::from([("recipient".to_string(), RECIPIENT.to_string())]);
    let call = Call {
        caller,
        endpoint,
        version: 3,
        civility: None,
        extras: &extras,
        purpose: &purpose,
        request_id: "3f0c6f5e-2b1d-4c47-9a43-0d6f3f1b2c3d",
        today,
    };
    provider.fetch(&call).await.map(|f| f.data)
}

/// The adapter alone, against the simulator, with credentials the simulator refuses.
#[tokio::test]
async fn a_refused_api_key_is_25006_and_pings_down() {
    let base = serve(passerelle_providers::simulators()).await;
    let providers = passerelle_providers::ProvidersConfig::simulated(&base);
    let mut config: MesriConfig = providers.mesri.clone();
    config.api_key_ine = "wrong".into();
    config.api_key_civility = "wrong".into();
    let provider = MesriProvider::new(config, &providers.insee).unwrap();
    let error = fetch_by_ine(&provider, "00000000-0000-4000-8000-000000000001")
        .await
        .unwrap_err();
    assert_eq!((error.code.as_str(), error.kind.status()), ("25006", 502));
    assert_eq!(provider.ping().await, Health::Down("25006".into()));

    let good = MesriProvider::new(providers.mesri.clone(), &providers.insee).unwrap();
    assert_eq!(good.ping().await, Health::Ok);
}

/// `X-Caller` carries the caller token's id, as the real gateway sends it.
#[tokio::test]
async fn x_caller_is_the_callers_token_id() {
    use std::sync::{Arc, Mutex};

    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = seen.clone();
    let upstream = axum::Router::new().route(
        "/etudiant",
        axum::routing::get(move |headers: axum::http::HeaderMap| async move {
            let caller = headers.get("x-caller").and_then(|v| v.to_str().ok());
            record.lock().unwrap().push(caller.unwrap_or_default().to_string());
            axum::http::StatusCode::NOT_FOUND
        }),
    );
    let base = serve(upstream).await;
    let insee = passerelle_providers::ProvidersConfig::simulated(&base).insee;
    let provider = MesriProvider::new(MesriConfig::simulated(&base), &insee).unwrap();
    let error = fetch_by_ine(&provider, "6a1f0e3c-58d2-4b7a-9c1e-2f3d4b5a6c7d")
        .await
        .unwrap_err();
    assert_eq!(error.code, "25003");
    assert_eq!(*seen.lock().unwrap(), ["DINUM - 6a1f0e3c-58d2-4b7a-9c1e-2f3d4b5a6c7d"]);
}
