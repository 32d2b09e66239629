//! The DSS family over real HTTP: the eight prestations, their masks, and every way
//! the upstream can fail.

use serde_json::json;

use crate::helpers::*;

fn person(nom: &str, prenoms: &[&str], date: (&str, &str, &str), commune: &str, sexe: &str) -> Vec<(String, String)> {
    let mut q = vec![
        ("nomNaissance".to_string(), nom.to_string()),
        ("anneeDateNaissance".into(), date.0.into()),
        ("moisDateNaissance".into(), date.1.into()),
        ("jourDateNaissance".into(), date.2.into()),
        ("sexeEtatCivil".into(), sexe.into()),
        ("codeCogInseePaysNaissance".into(), "99100".into()),
        ("codeCogInseeCommuneNaissance".into(), commune.into()),
    ];
    q.extend(prenoms.iter().map(|p| ("prenoms[]".to_string(), p.to_string())));
    q
}

#[tokio::test]
async fn the_eight_prestations_answer_with_the_contract_fields() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let mut aah = person("MARTIN", &["PIERRE", "RICHARD"], ("1987", "12", "1"), "08480", "M");
    aah.push(("nomUsage".into(), "DUPONT".into()));
    let cases = [
        (
            "allocation_adulte_handicape",
            aah,
            json!({"est_beneficiaire": true, "date_debut_droit": "2022-11-29"}),
        ),
        (
            "allocation_enfant_handicape",
            person("DUPONT", &["PIERRE"], ("2015", "3", "12"), "75112", "M"),
            json!({"status": "allocataire", "date_debut_droit": "2023-06-15"}),
        ),
        (
            "allocation_soutien_familial",
            person("LALANNE", &["FRANCIS", "GERARD"], ("2002", "11", "1"), "08480", "M"),
            json!({"est_beneficiaire": true, "date_debut_droit": "1992-11-29"}),
        ),
        (
            "complementaire_sante_solidaire",
            person("FAVRE", &["SARAH"], ("2001", "7", "8"), "13001", "F"),
            json!({"est_beneficiaire": true, "avec_participation": true, "date_debut_droit": "2025-06-01"}),
        ),
        (
            "prime_activite",
            samuel(),
            json!({"est_beneficiaire": true, "avec_majoration": true, "date_debut_droit": "1992-11-20"}),
        ),
        (
            "revenu_solidarite_active",
            samuel(),
            json!({"est_beneficiaire": true, "avec_majoration": true, "date_debut_droit": "1992-11-20"}),
        ),
    ];
    for (resource, query, expected) in cases {
        let (status, body) = json(
            app.get(&format!("/v3/dss/{resource}/identite"), &query, Some(&jwt))
                .await,
        )
        .await;
        assert_eq!((status, &body["data"]), (200, &expected), "{resource}");
        assert_eq!((&body["links"], &body["meta"]), (&json!({}), &json!({})));
    }
}

#[tokio::test]
async fn quotient_familial_maps_family_address_and_period() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let q = person("MARTIN", &["Pierre"], ("1987", "6", "27"), "51108", "M");
    let mut with_period = q.clone();
    with_period.extend([
        ("annee".to_string(), "2025".to_string()),
        ("mois".to_string(), "3".to_string()),
    ]);
    let (status, body) = json(
        app.get("/v3/dss/quotient_familial/identite", &with_period, Some(&jwt))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let data = &body["data"];
    assert_eq!(data["allocataires"].as_array().unwrap().len(), 2);
    assert_eq!(data["enfants"][1]["prenoms"], "FLEUR EDITH");
    assert_eq!(data["adresse"]["lieu_dit"], serde_json::Value::Null);
    assert_eq!(data["adresse"]["code_postal_ville"], "51000 CHÂLONS-EN-CHAMPAGNE");
    assert_eq!(
        data["quotient_familial"],
        json!({"fournisseur": "MSA", "valeur": 200, "annee": 2025, "mois": 3, "annee_calcul": 2024, "mois_calcul": 12})
    );
}

#[tokio::test]
async fn eaje_maps_calculation_parameters() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let q = person("LEFEBVRE", &["ALEXIS"], ("1982", "12", "27"), "08480", "F");
    let (status, body) = json(
        app.get("/v3/dss/participation_familiale_eaje/identite", &q, Some(&jwt))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["parametres_calcul_participation_familiale"],
        json!({"nombre_enfants_a_charge": 1, "nombre_enfants_beneficiaire_aeeh": 1, "base_ressources_annuelles": {"valeur": 40923, "annee_calcul": 2023}})
    );
    assert_eq!(body["data"]["enfants"][0]["code_cog_insee_commune_naissance"], "75113");
}

#[tokio::test]
async fn masks_remove_fields_the_token_cannot_see() {
    let app = TestApp::start().await;
    let qf_only = app.token(&["cnaf_quotient_familial"]).await;
    let (_, body) = json(
        app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&qf_only))
            .await,
    )
    .await;
    let keys: Vec<_> = body["data"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, vec!["quotient_familial"]);

    let family = app.token(&["cnaf_allocataires", "cnaf_enfants"]).await;
    let (_, body) = json(
        app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&family))
            .await,
    )
    .await;
    let keys: Vec<_> = body["data"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, vec!["allocataires", "enfants"]);

    let rsa = app.token(&["revenu_solidarite_active"]).await;
    let (_, body) = json(
        app.get("/v3/dss/revenu_solidarite_active/identite", &samuel(), Some(&rsa))
            .await,
    )
    .await;
    assert_eq!(
        body["data"],
        json!({"est_beneficiaire": true, "date_debut_droit": "1992-11-20"})
    );

    let majoration = app.token(&["revenu_solidarite_active_majoration"]).await;
    let (_, body) = json(
        app.get(
            "/v3/dss/revenu_solidarite_active/identite",
            &samuel(),
            Some(&majoration),
        )
        .await,
    )
    .await;
    assert_eq!(body["data"], json!({"avec_majoration": true}));
}

#[tokio::test]
async fn masks_apply_to_cached_answers_too() {
    let app = TestApp::start().await;
    let all = app.all_scopes_token().await;
    let qf_only = app.token(&["cnaf_quotient_familial"]).await;
    assert_eq!(
        app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&all))
            .await
            .status(),
        200
    );
    let response = app
        .get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&qf_only))
        .await;
    assert_eq!(response.headers()["x-response-cached"], "true");
    let (_, body) = json(response).await;
    assert_eq!(body["data"].as_object().unwrap().len(), 1);
}

#[tokio::test]
async fn upstream_failures_map_to_the_contract_codes() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let cases = [
        ("INCONNU SNGI", 422, "00355"),
        ("NON REFERENCE", 404, "35003"),
        ("ABSENT CNAF", 404, "23003"),
        ("ABSENT MSA", 404, "10003"),
        ("PERSONNE INCONNUE", 404, "37003"),
        ("PANNE", 502, "37000"),
        ("INDISPONIBLE", 502, "37001"),
        ("SATURE", 502, "37008"),
        ("ILLISIBLE", 502, "37999"),
        ("REDIRECTION", 502, "37000"),
        ("REQUETE INVALIDE", 422, "00366"),
    ];
    for (nom, status, code) in cases {
        let body = assert_error(
            app.get(
                "/v3/dss/allocation_soutien_familial/identite",
                &synthetic(nom),
                Some(&jwt),
            )
            .await,
            status,
            code,
        )
        .await;
        if code.len() == 5 && !code.starts_with("00") {
            assert!(body["errors"][0]["meta"]["provider"].is_string(), "{body}");
        }
    }
}

#[tokio::test]
async fn slow_upstream_is_a_504_within_the_budget() {
    let app = TestApp::builder().provider_timeout_secs(1).start().await;
    let jwt = app.all_scopes_token().await;
    let started = std::time::Instant::now();
    assert_error(
        app.get("/v3/dss/prime_activite/identite", &synthetic("LENT"), Some(&jwt))
            .await,
        504,
        "37002",
    )
    .await;
    assert!(started.elapsed() < std::time::Duration::from_secs(3));
}

#[tokio::test]
async fn unreachable_upstream_is_37001() {
    let app = TestApp::builder().dead_upstream().start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(
        app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&jwt))
            .await,
        502,
        "37001",
    )
    .await;
}

#[tokio::test]
async fn refused_client_credentials_are_37006() {
    let app = TestApp::builder().dss_secret("wrong").start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(
        app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&jwt))
            .await,
        502,
        "37006",
    )
    .await;
}

#[tokio::test]
async fn accents_and_case_reach_the_upstream_folded() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let q = person(
        "Lefèbvre",
        &["Alexis", "Gérôme", "Jean-Philippe"],
        ("1982", "12", "27"),
        "08480",
        "F",
    );
    let (status, body) = json(app.get("/v3/dss/quotient_familial/identite", &q, Some(&jwt)).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["data"]["allocataires"][0]["prenoms"],
        "ALEXIS GÉRÔME JEAN-PHILIPPE"
    );
}
