//! FranceConnect endpoints: the bearer is a citizen's FranceConnect access token, checked
//! by the FranceConnect simulator over HTTP (a JWE to the gateway's key, wrapping a JWS).

use passerelle_providers::france_connect::jose::{self, EncryptionKey, VerifyingKey};
use passerelle_store::CallerId;
use serde_json::Value;

use crate::helpers::*;

const QF: &str = "/v3/dss/quotient_familial/france_connect";
/// The citizen of the official FranceConnect cases (DSS, MESRI, CNOUS v4).
const DUBOIS: &str = "dubois_angela_19620824_75107";

#[tokio::test]
async fn jwks_publishes_the_gateway_encryption_key() {
    let app = TestApp::start().await;
    let (status, body) = json(app.get_raw("/api/france_connect_jwks", &[], None, &[]).await).await;
    assert_eq!(status, 200);
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{body}");
    let key = &keys[0];
    for (field, value) in [("kty", "RSA"), ("use", "enc"), ("alg", "RSA-OAEP"), ("e", "AQAB")] {
        assert_eq!(key[field], value, "{body}");
    }
    assert!(key["kid"].as_str().is_some_and(|k| !k.is_empty()));
    assert_eq!(
        jose::b64_decode(key["n"].as_str().unwrap()).unwrap().len(),
        256,
        "2048-bit modulus"
    );
    let (_, again) = json(app.get_raw("/api/france_connect_jwks", &[], None, &[]).await).await;
    assert_eq!(again, body, "the key is kept");
    let stored = app
        .store
        .secret("france_connect_rsa_private")
        .await
        .unwrap()
        .expect("the key is in the store");
    let kept = EncryptionKey::from_pkcs8_der(&stored).unwrap();
    assert_eq!(kept.jwk(), *key, "the store holds the published key");
}

/// The simulator's answer, asked directly: only the gateway's published key opens it,
/// and the JWS inside verifies with the simulator's JWKS.
#[tokio::test]
async fn check_token_answer_opens_only_with_the_published_key() {
    let app = TestApp::start().await;
    let form = [
        ("client_id", "passerelle-demo-quotient_familial"),
        ("client_secret", "demo-secret-fc-quotient_familial"),
        ("token", "cnaf_qfv2"),
    ];
    let url = format!("{}/france_connect/api/v2/checktoken", app.simulators);
    let _ = app.get_raw("/api/france_connect_jwks", &[], None, &[]).await;
    let response = app.client.post(&url).form(&form).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let jwe = response.text().await.unwrap();
    assert_eq!(jwe.split('.').count(), 5, "a compact JWE");
    let stranger = EncryptionKey::generate().unwrap();
    assert!(stranger.decrypt(&jwe).is_err(), "another key cannot open it");
    let key = app.state.france_connect.key().await.unwrap();
    let jws = String::from_utf8(key.decrypt(&jwe).unwrap()).unwrap();
    let jwks: Value = app
        .client
        .get(format!("{}/france_connect/api/v2/jwks", app.simulators))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let claims = jose::verify(&jws, &VerifyingKey::from_jwks(&jwks)).unwrap();
    let ti = &claims["token_introspection"];
    assert_eq!(
        (ti["active"].as_bool(), ti["family_name"].as_str()),
        (Some(true), Some("CNAF"))
    );
    let mut tampered: Vec<String> = jws.split('.').map(str::to_string).collect();
    tampered[1] = jose::b64(br#"{"token_introspection":{"active":true}}"#);
    assert!(jose::verify(&tampered.join("."), &VerifyingKey::from_jwks(&jwks)).is_err());
}

#[tokio::test]
async fn sandbox_token_gets_its_quotient_familial() {
    let app = TestApp::start().await;
    let (status, body) = json(app.get(QF, &[], Some("cnaf_qfv2")).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["quotient_familial"]["valeur"], 620, "{body}");
    assert_eq!(body["data"]["allocataires"][0]["nom_naissance"], "CNAF");
    let rows = app.store.recent_journal(5).await.unwrap();
    let row = rows.iter().find(|r| r.endpoint == QF).expect("journaled");
    assert!(matches!(row.caller, Some(CallerId::Citizen(_))), "{row:?}");
    assert_eq!((row.status, row.purpose["recipient"].as_str()), (200, RECIPIENT));
}

#[tokio::test]
async fn each_citizen_is_journaled_under_their_own_caller() {
    let app = TestApp::start().await;
    // Two tokens of one citizen (the same identity), then another citizen.
    for token in ["cnaf_qfv2", "cnaf_eaje", DUBOIS] {
        assert_eq!(app.get(QF, &[], Some(token)).await.status(), 200);
    }
    let rows = app.store.recent_journal(10).await.unwrap();
    let callers: Vec<String> = rows
        .iter()
        .filter(|r| r.endpoint == QF)
        .map(|r| match &r.caller {
            Some(CallerId::Citizen(id)) => id.clone(),
            other => panic!("a citizen's call journaled as {other:?}"),
        })
        .collect();
    // Newest first: DUBOIS, then the two tokens of the first citizen.
    assert_eq!(callers.len(), 3, "{rows:?}");
    assert_eq!(callers[1], callers[2], "one citizen, one caller");
    assert_ne!(callers[0], callers[1], "two citizens told apart");
    assert!(callers
        .iter()
        .all(|id| id.len() == 32 && !id.to_lowercase().contains("dubois")));
}

#[tokio::test]
async fn official_citizen_on_several_endpoints() {
    let app = TestApp::start().await;
    let (status, aah) = json(
        app.get("/v3/dss/allocation_adulte_handicape/france_connect", &[], Some(DUBOIS))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{aah}");
    assert!(aah["data"]["est_beneficiaire"].is_boolean(), "{aah}");
    let (status, mesri) = json(
        app.get("/v3/mesri/statut_etudiant/france_connect", &[], Some(DUBOIS))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{mesri}");
    assert!(mesri["data"]["admissions"].is_array(), "{mesri}");
    assert!(mesri["data"].get("identite").is_none(), "no identity block: {mesri}");
    let cnous = "/v3/cnous/etudiant_boursier/france_connect";
    let (status, boursier) = json(app.get(cnous, &[], Some("dubois_angela_19620824_75007")).await).await;
    assert_eq!(status, 200, "{boursier}");
    assert_eq!(boursier["data"]["echelon_bourse"]["echelon"], "5", "{boursier}");
    assert!(
        boursier["data"].get("identite").is_none(),
        "cnous_identite is dropped: {boursier}"
    );
    let (status, civique) = json(
        app.get(
            "/v3/gip_mds/service_civique/france_connect",
            &[],
            Some("service_civique"),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{civique}");
    assert!(
        civique["data"]["statut_actuel"]["contrat_trouve"].is_boolean(),
        "{civique}"
    );
}

#[tokio::test]
async fn scopes_come_from_the_france_connect_token() {
    let app = TestApp::start().await;
    let (status, narrow) = json(app.get(QF, &[], Some("fc_qf_seul")).await).await;
    assert_eq!(status, 200, "{narrow}");
    let data = narrow["data"].as_object().unwrap();
    assert!(data.contains_key("quotient_familial"), "{narrow}");
    for masked in ["allocataires", "enfants", "adresse"] {
        assert!(!data.contains_key(masked), "{masked} needs its own scope: {narrow}");
    }
    let (_, full) = json(app.get(QF, &[], Some("cnaf_qfv2")).await).await;
    assert!(full["data"]["allocataires"].is_array(), "{full}");
    let refused = app.get(QF, &[], Some("cnaf_css")).await;
    assert_error(refused, 403, "00100").await;
}

#[tokio::test]
async fn endpoint_parameters_still_come_from_the_query() {
    let app = TestApp::start().await;
    let year = chrono::Utc::now().format("%Y").to_string().parse::<i32>().unwrap() - 1;
    let period = [
        ("annee".to_string(), year.to_string()),
        ("mois".to_string(), "3".to_string()),
    ];
    let (status, body) = json(app.get(QF, &period, Some("cnaf_qfv2")).await).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["quotient_familial"]["annee"], year);
    assert_eq!(body["data"]["quotient_familial"]["mois"], 3);
    let bad = app
        .get(QF, &[("mois".to_string(), "13".to_string())], Some("cnaf_qfv2"))
        .await;
    assert_error(bad, 422, "00354").await;
}

#[tokio::test]
async fn cache_is_keyed_by_the_citizen_not_the_token() {
    let app = TestApp::start().await;
    let first = app.get(QF, &[], Some("cnaf_qfv2")).await;
    assert_eq!(first.headers()["x-response-cached"], "false");
    // Another token of the same citizen: same identity, same answer.
    let same_person = app.get(QF, &[], Some("cnaf_eaje")).await;
    assert_eq!(same_person.headers()["x-response-cached"], "true");
    let other = app.get(QF, &[], Some(DUBOIS)).await;
    assert_eq!(other.headers()["x-response-cached"], "false");
    let (status, body) = json(other).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["allocataires"][0]["nom_naissance"], "DUBOIS", "{body}");
}

#[tokio::test]
async fn refused_tokens() {
    let app = TestApp::start().await;
    assert_error(app.get(QF, &[], Some("mal~forme%")).await, 401, "50001").await;
    assert_error(app.get(QF, &[], Some("jeton_inconnu")).await, 401, "50002").await;
    assert_error(app.get(QF, &[], Some("fc_inactif")).await, 401, "50002").await;
    let body = assert_error(app.get(QF, &[], Some("fc_sans_identite_pivot")).await, 401, "50003").await;
    let detail = body["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("openid profile cnaf_quotient_familial"), "{detail}");
    assert_error(app.get(QF, &[], Some("fc_nom_invalide")).await, 422, "00420").await;
    assert_error(app.get(QF, &[], Some("fc_date_invalide")).await, 422, "00425").await;
    assert_error(app.get(QF, &[], None).await, 401, "00101").await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get(QF, &[], Some(&jwt)).await, 401, "50002").await;
}

#[tokio::test]
async fn gateway_with_wrong_client_secret_is_refused() {
    let app = TestApp::builder().france_connect_secret("not-the-secret").start().await;
    assert_error(app.get(QF, &[], Some("cnaf_qfv2")).await, 401, "50002").await;
}

#[tokio::test]
async fn france_connect_failures_are_51xxx() {
    let app = TestApp::start().await;
    assert_error(app.get(QF, &[], Some("fc_erreur_serveur")).await, 502, "51999").await;
    let dead = TestApp::builder().dead_france_connect().await.start().await;
    let body = assert_error(dead.get(QF, &[], Some("cnaf_qfv2")).await, 502, "51001").await;
    assert_eq!(body["errors"][0]["meta"]["provider"], "FranceConnect");
}

#[tokio::test]
async fn recipient_stays_mandatory() {
    let app = TestApp::start().await;
    let query = [("recipient".to_string(), "12345".to_string())];
    let refused = app.get_raw(QF, &query, Some("cnaf_qfv2"), &[]).await;
    assert_error(refused, 422, "00210").await;
    let none = app.get_raw(QF, &[], Some("cnaf_qfv2"), &[]).await;
    assert_error(none, 422, "00210").await;
}

#[tokio::test]
async fn rate_limit_is_per_france_connect_token() {
    let app = TestApp::builder().per_second(3).start().await;
    let started = std::time::Instant::now();
    let mut allowed = 0;
    for _ in 0..8 {
        let response = app.get(QF, &[], Some("cnaf_qfv2")).await;
        assert!(response.headers().contains_key("ratelimit-limit"));
        if response.status() == 200 {
            allowed += 1;
        } else {
            assert_error(response, 429, "00429").await;
        }
    }
    let refill = (started.elapsed().as_secs_f64() * 3.0).ceil() as i32;
    assert!(
        allowed >= 3 && allowed <= 3 + refill,
        "{allowed} allowed, refill {refill}"
    );
    if allowed < 8 {
        let other = app.get(QF, &[], Some("cnaf_eaje")).await;
        assert_eq!(other.status(), 200, "another token has its own quota");
    }
}

#[tokio::test]
async fn open_api_lists_the_france_connect_endpoints() {
    let app = TestApp::start().await;
    let text = app
        .get_raw("/api/open-api.yml", &[], None, &[])
        .await
        .text()
        .await
        .unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let fc: Vec<_> = paths.keys().filter(|p| p.ends_with("/france_connect")).collect();
    assert!(fc.len() >= 13, "{fc:?}");
    let qf = &paths[QF]["get"];
    assert_eq!(
        qf["operationId"],
        "api_particulier_v3_cnav_quotient_familial_with_france_connect"
    );
    let names: Vec<_> = qf["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"annee") && !names.contains(&"nomNaissance"),
        "{names:?}"
    );
    let scheme = doc["components"]["securitySchemes"]["jwt_bearer_token"]["description"]
        .as_str()
        .unwrap();
    assert!(scheme.contains("FranceConnect"), "{scheme}");
}

#[tokio::test]
async fn sandbox_tokens_of_the_other_families() {
    let app = TestApp::start().await;
    let cnous = "/v4/cnous/etudiant_boursier/france_connect";
    let (status, full) = json(app.get(cnous, &[], Some("cnous")).await).await;
    assert_eq!(status, 200, "{full}");
    assert!(
        full["data"]["email"].is_string() && full["data"].get("identite").is_none(),
        "{full}"
    );
    let (status, mesri) = json(
        app.get("/v3/mesri/statut_etudiant/france_connect", &[], Some("mesri"))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{mesri}");
    assert!(mesri["data"].get("identite").is_none(), "{mesri}");
    let dsnj = "/v3/dsnj/service_national/france_connect";
    let (status, national) = json(app.get(dsnj, &[], Some("fc_service_national")).await).await;
    assert_eq!(status, 200, "{national}");
    assert_eq!(national["data"]["statut_service_national"], "en_regle", "{national}");
    // Thomas Delatour (all_fc) is a citizen DSNJ does not know.
    assert_error(app.get(dsnj, &[], Some("all_fc")).await, 404, "39003").await;
}
