//! CNOUS étudiant boursier over real HTTP: v3 and v4, by identity and by INE, the
//! scope masks, the parameters and every way the upstream can fail.

use passerelle_providers::cnous::{CnousConfig, CnousProvider};
use passerelle_providers::insee::InseeConfig;
use passerelle_providers::{Health, Provider};
use passerelle_tokens::TokenRequest;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::helpers::*;

const V3_IDENTITE: &str = "/v3/cnous/etudiant_boursier/identite";
const V4_IDENTITE: &str = "/v4/cnous/etudiant_boursier/identite";
const V3_INE: &str = "/v3/cnous/etudiant_boursier/ine";
const V4_INE: &str = "/v4/cnous/etudiant_boursier/ine";

/// The official sandbox's civility case (v4).
fn pagnol() -> Vec<(String, String)> {
    pairs(&[
        ("nomNaissance", "Pagnol"),
        ("prenoms[]", "Marcel"),
        ("anneeDateNaissance", "1998"),
        ("moisDateNaissance", "7"),
        ("jourDateNaissance", "12"),
        ("codeCogInseeCommuneNaissance", "75000"),
        ("sexeEtatCivil", "M"),
    ])
}

/// A synthetic student searched by civility (see `people_synthetic.json`).
fn student(nom: &str) -> Vec<(String, String)> {
    pairs(&[
        ("nomNaissance", nom),
        ("prenoms[]", "TEST"),
        ("anneeDateNaissance", "2000"),
        ("moisDateNaissance", "1"),
        ("jourDateNaissance", "1"),
    ])
}

fn ine(value: &str) -> Vec<(String, String)> {
    pairs(&[("ine", value)])
}

fn with(mut query: Vec<(String, String)>, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    query.extend(pairs(extra));
    query
}

fn pagnol_v4() -> Value {
    json!({
        "statut_boursier": {"est_boursier": true, "est_radie": false, "date_radiation": null},
        "periode_versement_bourse": {"date_rentree": "2020-09-01", "duree": 12},
        "etablissement_etudes": {"nom_commune": "Evry", "nom_etablissement": "ENSIIE"},
        "echelon_bourse": {"echelon": "5", "echelon_bourse_regionale_provisoire": false},
        "email": "marcel@pagnol.fr",
        "identite": {"nom": "PAGNOL", "prenoms": ["MARCEL"], "date_naissance": "1998-07-12",
                     "nom_commune_naissance": "Paris", "sexe": "M"}
    })
}

#[tokio::test]
async fn every_version_and_mode_answers_with_the_contract_fields() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let get = |path: &'static str, query: Vec<(String, String)>| {
        let (app, jwt) = (&app, &jwt);
        async move { json(app.get(path, &query, Some(jwt)).await).await }
    };

    let (status, body) = get(V4_IDENTITE, pagnol()).await;
    assert_eq!((status, &body["data"]), (200, &pagnol_v4()), "{body}");
    assert_eq!((&body["links"], &body["meta"]), (&json!({}), &json!({})));

    // v3 of the same student: `est_boursier` instead of `statut_boursier`.
    let (status, body) = get(V3_IDENTITE, pagnol()).await;
    let mut v3 = pagnol_v4();
    v3.as_object_mut().unwrap().remove("statut_boursier");
    v3["est_boursier"] = json!(true);
    assert_eq!((status, &body["data"]), (200, &v3), "{body}");

    // Accents and case do not matter to the upstream's search.
    let shouted = pagnol().into_iter().map(|(k, v)| (k, v.to_uppercase())).collect();
    let (status, _) = get(V4_IDENTITE, shouted).await;
    assert_eq!(status, 200);

    let (status, body) = get(V3_INE, ine("1234567890C")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["est_boursier"], true);
    assert_eq!(body["data"]["identite"]["nom"], "Charbonneau");
    assert_eq!(body["data"]["email"], "axelle.charbonneau@fake.fr");
    assert!(body["data"].get("statut_boursier").is_none());

    let (status, body) = get(V4_INE, ine("1234567890a")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["etablissement_etudes"]["nom_etablissement"],
        "Université Toulouse III - Paul Sabatier"
    );
    assert_eq!(body["data"]["periode_versement_bourse"]["duree"], 10);
    assert_eq!(body["data"]["statut_boursier"]["est_radie"], false);
    assert!(body["data"].get("est_boursier").is_none());
}

#[tokio::test]
async fn real_upstream_payload_variants_are_mapped() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let (status, body) = json(app.get(V4_INE, &ine("9100000001A"), Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["statut_boursier"],
        json!({"est_boursier": true, "est_radie": true, "date_radiation": "2023-06-15"})
    );
    assert_eq!(
        body["data"]["identite"],
        json!({"nom": "Martin", "prenoms": ["Jerome", "Francis"], "date_naissance": "1980-11-14",
               "nom_commune_naissance": "La Crèche", "sexe": "M"})
    );

    let (_, body) = json(app.get(V3_IDENTITE, &student("SANS LIEU"), Some(&jwt)).await).await;
    assert_eq!(body["data"]["identite"]["nom_commune_naissance"], "La Crèche");

    let (_, body) = json(app.get(V3_INE, &ine("9100000003A"), Some(&jwt)).await).await;
    assert_eq!(
        body["data"]["echelon_bourse"],
        json!({"echelon": "0bis", "echelon_bourse_regionale_provisoire": true})
    );
}

#[tokio::test]
async fn each_scope_opens_its_field() {
    let app = TestApp::start().await;
    let cases: [(&str, &[&str]); 6] = [
        ("cnous_statut_boursier", &["statut_boursier"]),
        ("cnous_echelon_bourse", &["echelon_bourse"]),
        ("cnous_email", &["email"]),
        ("cnous_periode_versement", &["periode_versement_bourse"]),
        ("cnous_ville_etudes", &["etablissement_etudes"]),
        ("cnous_identite", &["identite"]),
    ];
    for (scope, fields) in cases {
        let jwt = app.token(&[scope]).await;
        let (status, body) = json(app.get(V4_IDENTITE, &pagnol(), Some(&jwt)).await).await;
        let keys: Vec<&str> = body["data"].as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!((status, keys.as_slice()), (200, fields), "{scope}");
    }
    // v3: `est_boursier` behind the same scope.
    let jwt = app.token(&["cnous_statut_boursier"]).await;
    let (_, body) = json(app.get(V3_INE, &ine("1234567890C"), Some(&jwt)).await).await;
    assert_eq!(body["data"], json!({"est_boursier": true}));
    // `cnous_statut_bourse` opens the endpoint but no field.
    let jwt = app.token(&["cnous_statut_bourse"]).await;
    let (status, body) = json(app.get(V3_INE, &ine("1234567890C"), Some(&jwt)).await).await;
    assert_eq!((status, &body["data"]), (200, &json!({})));
    // A token without any CNOUS scope is refused.
    let jwt = app.token(&["cnaf_quotient_familial"]).await;
    assert_error(app.get(V3_INE, &ine("1234567890C"), Some(&jwt)).await, 403, "00100").await;
}

#[tokio::test]
async fn upstream_failures_map_to_the_contract_errors() {
    let app = TestApp::start().await;
    // Many calls in a row: a per-minute limit instead of the default 20 per second.
    let request = TokenRequest {
        rate_limit_per_minute: Some(10_000),
        ..token_request(&passerelle_catalogue::all_scopes())
    };
    let jwt = app.issue(request).await.1;
    let cases = [
        ("PANNE", "9000000001A", 502, "26000"),
        ("INDISPONIBLE", "9000000002A", 502, "26001"),
        ("HOMONYME", "9000000005A", 409, "26015"),
        ("ILLISIBLE", "9000000006A", 502, "26999"),
        ("INCOMPLET", "9000000007A", 502, "26999"),
        ("ETRANGE", "9000000008A", 502, "26999"),
        ("REDIRECTION", "9000000009A", 502, "26000"),
        ("DELAI", "9000000010A", 504, "26002"),
        ("PERSONNE", "9999999999A", 404, "26003"),
    ];
    for (nom, number, status, code) in cases {
        for path in [V3_IDENTITE, V4_IDENTITE] {
            let body = assert_error(app.get(path, &student(nom), Some(&jwt)).await, status, code).await;
            if status != 404 {
                assert_eq!(body["errors"][0]["meta"]["provider"], "CNOUS", "{nom}");
            }
        }
        for path in [V3_INE, V4_INE] {
            assert_error(app.get(path, &ine(number), Some(&jwt)).await, status, code).await;
        }
    }
    let body = assert_error(
        app.get(V3_IDENTITE, &student("PERSONNE"), Some(&jwt)).await,
        404,
        "26003",
    )
    .await;
    assert_eq!(
        body["errors"][0]["detail"],
        "Aucun étudiant boursier n'a pu être trouvé avec les critères de recherche fournis."
    );
    // The upstream's 400 is about the INE when searching by INE, the civility otherwise.
    assert_error(app.get(V4_IDENTITE, &student("REFUSE"), Some(&jwt)).await, 422, "00366").await;
    assert_error(app.get(V4_INE, &ine("9000000004A"), Some(&jwt)).await, 422, "00360").await;
}

#[tokio::test]
async fn a_slow_upstream_is_a_timeout() {
    let app = TestApp::builder().provider_timeout_secs(1).start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(V4_INE, &ine("9000000003A"), Some(&jwt)).await, 504, "26002").await;
    assert_error(app.get(V3_IDENTITE, &student("LENT"), Some(&jwt)).await, 504, "26002").await;
}

#[tokio::test]
async fn a_dead_upstream_is_unavailable() {
    let app = TestApp::builder().dead_upstream().start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(V4_INE, &ine("1234567890A"), Some(&jwt)).await, 502, "26001").await;
}

#[tokio::test]
async fn campaign_year_selects_the_campaign() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let (status, body) = json(
        app.get(
            V4_INE,
            &with(ine("9100000004A"), &[("campaignYear", "2022")]),
            Some(&jwt),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["periode_versement_bourse"]["date_rentree"], "2022-09-01");
    let (status, _) = json(
        app.get(
            V4_IDENTITE,
            &with(student("CAMPAGNE"), &[("campaignYear", "2022")]),
            Some(&jwt),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    // Another campaign, or none, finds nothing.
    assert_error(app.get(V4_INE, &ine("9100000004A"), Some(&jwt)).await, 404, "26003").await;
    assert_error(
        app.get(
            V4_IDENTITE,
            &with(student("CAMPAGNE"), &[("campaignYear", "2023")]),
            Some(&jwt),
        )
        .await,
        404,
        "26003",
    )
    .await;
    for bad in ["2020", "3000", "22", "deux"] {
        let body = assert_error(
            app.get(V4_INE, &with(ine("9100000004A"), &[("campaignYear", bad)]), Some(&jwt))
                .await,
            422,
            "00368",
        )
        .await;
        assert_eq!(body["errors"][0]["source"]["parameter"], "campaignYear", "{bad}");
    }
}

#[tokio::test]
async fn the_birth_commune_name_is_transcoged() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let by_name = with(
        student("TRANSCOGAGE"),
        &[
            ("nomCommuneNaissance", "Gennevilliers"),
            ("codeCogInseeDepartementNaissance", "92"),
        ],
    );
    let (status, body) = json(app.get(V4_IDENTITE, &by_name, Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    let by_code = with(student("TRANSCOGAGE"), &[("codeCogInseeCommuneNaissance", "92036")]);
    assert_eq!(json(app.get(V4_IDENTITE, &by_code, Some(&jwt)).await).await.0, 200);
    // Without a birthplace the upstream finds nobody; an unknown commune is no error.
    assert_error(
        app.get(V4_IDENTITE, &student("TRANSCOGAGE"), Some(&jwt)).await,
        404,
        "26003",
    )
    .await;
    let unknown = with(
        student("TRANSCOGAGE"),
        &[
            ("nomCommuneNaissance", "Nullepart"),
            ("codeCogInseeDepartementNaissance", "92"),
        ],
    );
    assert_error(app.get(V4_IDENTITE, &unknown, Some(&jwt)).await, 404, "26003").await;
}

#[tokio::test]
async fn parameters_are_checked_with_their_codes() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    for (query, code) in [
        (vec![], "00360"),
        (ine("12345"), "00360"),
        (ine("1234567890I"), "00360"),
    ] {
        let body = assert_error(app.get(V3_INE, &query, Some(&jwt)).await, 422, code).await;
        assert_eq!(body["errors"][0]["source"]["parameter"], "ine");
    }
    let body = assert_error(
        app.get(V3_IDENTITE, &pairs(&[("nomNaissance", "NOEL")]), Some(&jwt))
            .await,
        422,
        "00421",
    )
    .await;
    assert_eq!(
        codes(&body),
        ["00421", "00422", "00423", "00424"],
        "every error at once"
    );
    assert_error(
        app.get(V4_IDENTITE, &student("PANNE")[1..], Some(&jwt)).await,
        422,
        "00420",
    )
    .await;
    let impossible_date = pairs(&[
        ("nomNaissance", "X"),
        ("prenoms[]", "TEST"),
        ("anneeDateNaissance", "2000"),
        ("moisDateNaissance", "2"),
        ("jourDateNaissance", "30"),
    ]);
    assert_error(app.get(V4_IDENTITE, &impossible_date, Some(&jwt)).await, 422, "00425").await;
    let bad_commune = with(student("X"), &[("codeCogInseeCommuneNaissance", "2C001")]);
    assert_error(app.get(V4_IDENTITE, &bad_commune, Some(&jwt)).await, 422, "00426").await;
    // Sex is optional, and so is the country (France when absent); a malformed one is 00400.
    let no_sex: Vec<_> = pagnol().into_iter().filter(|(k, _)| k != "sexeEtatCivil").collect();
    assert_error(app.get(V4_IDENTITE, &no_sex, Some(&jwt)).await, 404, "26003").await;
    let bad_country = with(pagnol(), &[("codeCogInseePaysNaissance", "n'importe")]);
    assert_error(app.get(V4_IDENTITE, &bad_country, Some(&jwt)).await, 422, "00400").await;
}

#[tokio::test]
async fn versions_the_endpoint_lacks_are_00402() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    for path in [
        "/v2/cnous/etudiant_boursier/ine",
        "/v5/cnous/etudiant_boursier/ine",
        "/v5/cnous/etudiant_boursier/identite",
    ] {
        assert_error(app.get(path, &ine("1234567890A"), Some(&jwt)).await, 404, "00402").await;
    }
    // FranceConnect is served in v3 and v4 only.
    assert_error(
        app.get("/v5/cnous/etudiant_boursier/france_connect", &[], Some("cnous"))
            .await,
        404,
        "00402",
    )
    .await;
}

async fn simulators() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, passerelle_providers::simulators()).await.unwrap() });
    base
}

#[tokio::test]
async fn ping_checks_credentials_and_the_search() {
    let base = simulators().await;
    let insee = InseeConfig::simulated(&format!("{base}/insee"));
    let config = CnousConfig::simulated(&format!("{base}/cnous"));
    let provider = CnousProvider::new(config.clone(), &insee).unwrap();
    assert_eq!(provider.ping().await, Health::Ok);
    let refused = CnousProvider::new(
        CnousConfig {
            client_secret: "mauvais".into(),
            ..config
        },
        &insee,
    )
    .unwrap();
    assert_eq!(refused.ping().await, Health::Down("26006".into()));
}
