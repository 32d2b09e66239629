//! The MEN family over real HTTP: scolarités v3, v4 and v5, by school and by
//! perimeter, its masks, its parameter errors and every way the upstream can fail.

use serde_json::{json, Value};

use crate::helpers::*;

const PATH: &str = "/v3/men/scolarites/identite";

fn pupil(
    nom: &str,
    prenom: &str,
    sexe: &str,
    date: (&str, &str, &str),
    search: &[(&str, &str)],
) -> Vec<(String, String)> {
    let mut q = pairs(&[
        ("nomNaissance", nom),
        ("prenoms[]", prenom),
        ("sexeEtatCivil", sexe),
        ("anneeDateNaissance", date.0),
        ("moisDateNaissance", date.1),
        ("jourDateNaissance", date.2),
        ("anneeScolaire", "2025"),
    ]);
    q.extend(pairs(search));
    q
}

/// Emma Martin, of the official v3, v4 and v5 cases.
fn emma() -> Vec<(String, String)> {
    pupil(
        "MARTIN",
        "EMMA",
        "F",
        ("2012", "8", "15"),
        &[("codeEtablissement", "0132733A")],
    )
}

/// A synthetic pupil of the MEN simulator whose answer depends on `nom`.
fn synthetic_pupil(nom: &str) -> Vec<(String, String)> {
    pupil(
        nom,
        "TEST",
        "M",
        ("2010", "1", "1"),
        &[("codeEtablissement", "0750001A")],
    )
}

fn emma_v3() -> Value {
    json!({
        "identite": {"nom": "MARTIN", "prenom": "EMMA", "sexe": "F", "date_naissance": "2012-08-15"},
        "module_elementaire_formation": {"code_mef_stat": "211324099991", "libelle": "1CAP1 STAFFEUR ORNEMANISTE"},
        "annee_scolaire": "2025-2026",
        "est_scolarise": true,
        "statut_eleve": {"code": "ST", "libelle": "Scolaire"},
        "etablissement": {"code_uai": "0132733A", "nom": "Lycée Polyvalent Antonin Artaud", "code_ministere_tutelle": "06"},
        "est_boursier": true,
        "echelon_bourse": 1
    })
}

#[tokio::test]
async fn every_version_answers_with_its_contract_fields() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let mut v5 = emma_v3();
    v5["regime_pensionnat"] = json!({"code": "2", "libelle": "Demi-pensionnaire dans l'établissement"});
    for (version, expected) in [(3, emma_v3()), (4, emma_v3()), (5, v5)] {
        let path = format!("/v{version}/men/scolarites/identite");
        let response = app.get(&path, &emma(), Some(&jwt)).await;
        assert_eq!(response.headers()["x-response-cached"], "false");
        let (status, body) = json(response).await;
        assert_eq!((status, &body["data"]), (200, &expected), "v{version}");
        assert_eq!((&body["links"], &body["meta"]), (&json!({}), &json!({})));
    }
}

#[tokio::test]
async fn versions_the_endpoint_lacks_are_00402() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    for version in [2, 6] {
        let path = format!("/v{version}/men/scolarites/identite");
        let body = assert_error(app.get(&path, &emma(), Some(&jwt)).await, 404, "00402").await;
        assert!(body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("v{version}")));
    }
}

#[tokio::test]
async fn masks_keep_only_what_the_scopes_open() {
    let app = TestApp::start().await;
    let identite = app.token(&["men_statut_identite"]).await;
    let (status, body) = json(app.get(PATH, &emma(), Some(&identite)).await).await;
    assert_eq!(status, 200);
    assert_eq!(body["data"], json!({"identite": emma_v3()["identite"]}));

    let some = app
        .token(&["men_statut_scolarite", "men_echelon_bourse", "men_regime_pensionnat"])
        .await;
    let (_, body) = json(app.get("/v5/men/scolarites/identite", &emma(), Some(&some)).await).await;
    let mut keys: Vec<&str> = body["data"].as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "annee_scolaire",
            "echelon_bourse",
            "est_scolarise",
            "regime_pensionnat",
            "statut_eleve"
        ]
    );

    // v3 has no regime_pensionnat: a token holding only that scope sees nothing.
    let regime = app.token(&["men_regime_pensionnat"]).await;
    let (_, body) = json(app.get(PATH, &emma(), Some(&regime)).await).await;
    assert_eq!(body["data"], json!({}));

    let other = app.token(&["cnaf_quotient_familial"]).await;
    assert_error(app.get(PATH, &emma(), Some(&other)).await, 403, "00100").await;
}

#[tokio::test]
async fn perimeter_searches_go_to_the_upstream_perimeter_endpoint() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let search = |s: &[(&str, &str)]| pupil("TROUVE", "TEST", "M", ("2010", "1", "1"), s);
    for found in [
        search(&[
            ("degreEtablissement", "2D"),
            ("codesBcnDepartements[]", "013"),
            ("codesBcnDepartements[]", "075"),
        ]),
        search(&[("degreEtablissement", "2D"), ("codesBcnRegions[]", "11")]),
    ] {
        let (status, body) = json(app.get(PATH, &found, Some(&jwt)).await).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["etablissement"]["code_uai"], "0750001A");
        assert_eq!(body["data"]["echelon_bourse"], 3);
    }
    for elsewhere in [
        search(&[("degreEtablissement", "2D"), ("codesBcnDepartements[]", "013")]),
        search(&[("degreEtablissement", "1D"), ("codesBcnRegions[]", "11")]),
    ] {
        let body = assert_error(app.get(PATH, &elsewhere, Some(&jwt)).await, 404, "30003").await;
        assert_eq!(body["errors"][0]["meta"]["provider"], "MEN");
    }
}

#[tokio::test]
async fn regime_and_bourse_are_null_when_the_upstream_has_none() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let (status, body) = json(
        app.get(
            "/v5/men/scolarites/identite",
            &synthetic_pupil("SANS BOURSE"),
            Some(&jwt),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(
        (
            &data["est_boursier"],
            &data["echelon_bourse"],
            &data["regime_pensionnat"]
        ),
        (&Value::Null, &Value::Null, &Value::Null)
    );
    assert_eq!(
        data["module_elementaire_formation"],
        json!({"code_mef_stat": null, "libelle": null})
    );
    assert_eq!(data["statut_eleve"]["code"], "AP");
}

#[tokio::test]
async fn upstream_failures_map_to_the_contract_codes() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    for (nom, status, code) in [
        ("PERSONNE", 404, "30003"),
        ("SANS SCOLARITE", 404, "30004"),
        ("PANNE", 502, "30000"),
        ("INDISPONIBLE", 502, "30001"),
        ("EXPIRE", 504, "30002"),
        ("REDIRECTION", 502, "30000"),
        ("ETRANGE", 502, "30999"),
        ("ILLISIBLE", 502, "30999"),
        ("INCOMPLET", 502, "30999"),
    ] {
        let body = assert_error(app.get(PATH, &synthetic_pupil(nom), Some(&jwt)).await, status, code).await;
        assert_eq!(body["errors"][0]["meta"]["provider"], "MEN", "{nom}");
    }
    let body = assert_error(
        app.get(PATH, &synthetic_pupil("SANS SCOLARITE"), Some(&jwt)).await,
        404,
        "30004",
    )
    .await;
    assert_eq!(body["errors"][0]["title"], "Scolarité non trouvée");
}

#[tokio::test]
async fn slow_upstream_is_30002_within_the_budget() {
    let app = TestApp::builder().provider_timeout_secs(1).start().await;
    let jwt = app.all_scopes_token().await;
    let started = std::time::Instant::now();
    assert_error(app.get(PATH, &synthetic_pupil("LENT"), Some(&jwt)).await, 504, "30002").await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[tokio::test]
async fn unreachable_upstream_is_30001() {
    let app = TestApp::builder().dead_upstream().start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(PATH, &emma(), Some(&jwt)).await, 502, "30001").await;
}

#[tokio::test]
async fn parameter_errors_come_all_at_once() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let (status, body) = json(app.get(PATH, &[], Some(&jwt)).await).await;
    assert_eq!(status, 422);
    assert_eq!(
        codes(&body),
        ["00420", "00421", "00422", "00423", "00424", "00411", "00410"]
    );
    let with = |search: &[(&str, &str)]| pupil("MARTIN", "EMMA", "F", ("2012", "8", "15"), search);
    for (search, code) in [
        (vec![("codeEtablissement", "ABC")], "00410"),
        (
            vec![("codeEtablissement", "0132733A"), ("codesBcnRegions[]", "11")],
            "00419",
        ),
        (vec![("codesBcnRegions[]", "11")], "00412"),
        (
            vec![
                ("degreEtablissement", "2D"),
                ("codesBcnRegions[]", "11"),
                ("codesBcnDepartements[]", "013"),
            ],
            "00413",
        ),
        (vec![("degreEtablissement", "2D"), ("codesBcnRegions[]", " ")], "00414"),
        (
            vec![("degreEtablissement", "2D"), ("codesBcnDepartements[]", "999")],
            "00416",
        ),
        (vec![("degreEtablissement", "2D"), ("codesBcnRegions[]", "42")], "00417"),
    ] {
        let body = assert_error(app.get(PATH, &with(&search), Some(&jwt)).await, 422, code).await;
        assert_eq!(codes(&body).len(), 1, "{body}");
        assert_eq!(body["errors"][0]["title"], "Entité non traitable");
    }
    let mut bad = emma();
    bad.retain(|(k, _)| k != "anneeScolaire" && k != "sexeEtatCivil");
    bad.push(("anneeScolaire".into(), "2025/2026".into()));
    bad.push(("sexeEtatCivil".into(), "X".into()));
    let (status, body) = json(app.get(PATH, &bad, Some(&jwt)).await).await;
    assert_eq!((status, codes(&body)), (422, vec!["00427".into(), "00411".into()]));
}

#[tokio::test]
async fn the_sex_is_optional_and_birth_place_is_not_asked() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    // Without the sex, the search reaches the upstream (which finds nobody here).
    let mut no_sex = synthetic_pupil("TROUVE");
    no_sex.retain(|(k, _)| k != "sexeEtatCivil");
    assert_error(app.get(PATH, &no_sex, Some(&jwt)).await, 404, "30003").await;
    // No birth country is needed; birth place parameters are checked like on every
    // identite endpoint, but not sent.
    let mut extra = emma();
    extra.push(("codeCogInseeCommuneNaissance".into(), "13055".into()));
    let (status, _) = json(app.get(PATH, &extra, Some(&jwt)).await).await;
    assert_eq!(status, 200);
    extra.retain(|(k, _)| k != "codeCogInseeCommuneNaissance");
    extra.push(("codeCogInseeCommuneNaissance".into(), "nope".into()));
    assert_error(app.get(PATH, &extra, Some(&jwt)).await, 422, "00426").await;
}
