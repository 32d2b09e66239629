//! The shared pipeline: rate limits, cache, in-flight lock, maintenance, journal,
//! request ids and the `/api` routes.

use chrono::{Duration as Minutes, Utc};
use chrono_tz::Europe::Paris;
use passerelle_gateway::maintenance::MaintenanceWindow;
use passerelle_store::CallerId;

use crate::helpers::*;

const QF: &str = "/v3/dss/quotient_familial/identite";

#[tokio::test]
async fn per_minute_limit_of_a_token_wins_and_is_reported() {
    let app = TestApp::start().await;
    let mut request = token_request(&["cnaf_quotient_familial"]);
    request.rate_limit_per_minute = Some(2);
    let (_, jwt) = app.issue(request).await;
    for remaining in ["1", "0"] {
        let response = app.get(QF, &pairs(AXELLE), Some(&jwt)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["ratelimit-limit"], "2");
        assert_eq!(response.headers()["ratelimit-remaining"], remaining);
        let reset: u64 = response.headers()["ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!(reset >= Utc::now().timestamp() as u64);
    }
    let refused = app.get(QF, &pairs(AXELLE), Some(&jwt)).await;
    let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_error(refused, 429, "00429").await;
}

#[tokio::test]
async fn default_limit_is_twenty_per_second_per_token() {
    let app = TestApp::start().await;
    let jwt = app.token(&["cnaf_quotient_familial"]).await;
    let other = app.token(&["cnaf_quotient_familial"]).await;
    let started = std::time::Instant::now();
    let mut allowed = 0;
    for _ in 0..30 {
        if app.get(QF, &pairs(AXELLE), Some(&jwt)).await.status() == 200 {
            allowed += 1;
        }
    }
    let refill = (started.elapsed().as_secs_f64() * 20.0).ceil() as i32;
    assert!(
        allowed >= 20 && allowed <= 20 + refill,
        "{allowed} allowed, refill {refill}"
    );
    assert_eq!(
        app.get(QF, &pairs(AXELLE), Some(&other)).await.status(),
        200,
        "limits are per token"
    );
}

#[tokio::test]
async fn cache_serves_the_second_call_unless_bypassed() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let first = app.get(QF, &pairs(AXELLE), Some(&jwt)).await;
    assert_eq!(first.headers()["x-response-cached"], "false");
    assert!(
        first.headers().get("x-cache-expires-in").is_none(),
        "an uncached answer has no lifetime to announce"
    );
    let second = app.get(QF, &pairs(AXELLE), Some(&jwt)).await;
    assert_eq!(second.headers()["x-response-cached"], "true");
    let left: u64 = second.headers()["x-cache-expires-in"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        (86_000..=86_400).contains(&left),
        "quotient familial is cached 24 h, got {left}"
    );
    let mut q = pairs(AXELLE);
    q.push(("recipient".into(), RECIPIENT.into()));
    let bypass = app.get_raw(QF, &q, Some(&jwt), &[("cache-control", "no-cache")]).await;
    assert_eq!(bypass.headers()["x-response-cached"], "false");
    let rsa = app
        .get(
            "/v3/dss/revenu_solidarite_active/identite",
            &synthetic("ABSENT CNAF"),
            Some(&jwt),
        )
        .await;
    assert_eq!(rsa.status(), 404);
    let again = app
        .get(
            "/v3/dss/revenu_solidarite_active/identite",
            &synthetic("ABSENT CNAF"),
            Some(&jwt),
        )
        .await;
    assert_eq!(again.headers()["x-response-cached"], "false", "errors are not cached");
}

#[tokio::test]
async fn identical_call_in_flight_is_409() {
    let app = TestApp::builder().provider_timeout_secs(2).start().await;
    let jwt = app.all_scopes_token().await;
    let slow = synthetic("LENT");
    let (a, b) = tokio::join!(app.get("/v3/dss/prime_activite/identite", &slow, Some(&jwt)), async {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        app.get("/v3/dss/prime_activite/identite", &slow, Some(&jwt)).await
    });
    assert_error(a, 504, "37002").await;
    assert_error(b, 409, "00015").await;
    let other_token = app.all_scopes_token().await;
    let alone = app
        .get(
            "/v3/dss/prime_activite/identite",
            &synthetic("PANNE"),
            Some(&other_token),
        )
        .await;
    assert_eq!(alone.status(), 502, "the lock is per call, not global");
}

#[tokio::test]
async fn maintenance_window_answers_503_with_retry_in() {
    let now = Utc::now().with_timezone(&Paris);
    let window = MaintenanceWindow {
        provider: "dss".into(),
        resources: vec!["quotient_familial".into()],
        weekday: None,
        dates: vec![],
        start: (now - Minutes::minutes(30)).format("%H:%M").to_string(),
        end: (now + Minutes::minutes(30)).format("%H:%M").to_string(),
    };
    let app = TestApp::builder().maintenance(window).start().await;
    let jwt = app.all_scopes_token().await;
    let body = assert_error(app.get(QF, &pairs(AXELLE), Some(&jwt)).await, 503, "37020").await;
    let retry_in = body["errors"][0]["meta"]["retry_in"].as_i64().unwrap();
    assert!((1..=31 * 60).contains(&retry_in), "{retry_in}");
    let samuel = samuel();
    assert_eq!(
        app.get("/v3/dss/revenu_solidarite_active/identite", &samuel, Some(&jwt))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn every_call_has_a_journal_row_without_identity_in_clear() {
    let app = TestApp::start().await;
    let (jti, jwt) = app.issue(token_request(&["cnaf_quotient_familial"])).await;
    let ok = app.get(QF, &pairs(AXELLE), Some(&jwt)).await;
    let ok_id = ok.headers()["x-request-id"].to_str().unwrap().to_string();
    let refused = app.get(QF, &pairs(AXELLE), None).await;
    let refused_id = refused.headers()["x-request-id"].to_str().unwrap().to_string();
    let mut other = pairs(AXELLE);
    other[0].1 = "DURAND".into();
    app.get(QF, &other, Some(&jwt)).await;

    let rows = app.store.recent_journal(10).await.unwrap();
    assert_eq!(rows.len(), 3);
    let row = rows.iter().find(|r| r.request_id == ok_id).unwrap();
    assert_eq!(
        (
            row.status,
            row.caller.clone(),
            row.purpose["recipient"].as_str(),
            row.endpoint.as_str()
        ),
        (200, Some(CallerId::Token(jti)), RECIPIENT, QF)
    );
    let hash = row.params_hash.clone().unwrap();
    assert_eq!(hash.len(), 128);
    assert!(!format!("{row:?}").contains("MARTIN") && !format!("{row:?}").contains("AXELLE"));
    let other_hash = rows
        .iter()
        .find(|r| r.status == 404)
        .and_then(|r| r.params_hash.clone())
        .unwrap();
    assert_ne!(hash, other_hash, "the hash tells calls apart");
    let refused_row = rows.iter().find(|r| r.request_id == refused_id).unwrap();
    assert_eq!((refused_row.status, refused_row.caller.as_ref()), (401, None));
}

#[tokio::test]
async fn request_id_is_echoed_when_it_is_a_uuid() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let mut q = pairs(AXELLE);
    q.push(("recipient".into(), RECIPIENT.into()));
    let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    let echoed = app.get_raw(QF, &q, Some(&jwt), &[("x-request-id", id)]).await;
    assert_eq!(echoed.headers()["x-request-id"], id);
    let replaced = app.get_raw(QF, &q, Some(&jwt), &[("x-request-id", "not a uuid")]).await;
    let new_id = replaced.headers()["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(new_id).is_ok());
}

#[tokio::test]
async fn api_routes() {
    let app = TestApp::start().await;
    let (status, body) = json(app.get_raw("/api/ping", &[], None, &[]).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    let response = app.get_raw("/api/open-api.yml", &[], None, &[]).await;
    assert_eq!(response.status(), 200);
    let doc: serde_json::Value = serde_yaml::from_str(&response.text().await.unwrap()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let served: usize = passerelle_catalogue::all().iter().map(|e| e.versions.len()).sum();
    assert_eq!(paths.len(), served);
    let qf = &paths[QF]["get"];
    assert_eq!(
        qf["operationId"],
        "api_particulier_v3_cnav_quotient_familial_with_civility"
    );
    let names: Vec<_> = qf["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"recipient") && names.contains(&"prenoms[]") && names.contains(&"annee"));
}

#[tokio::test]
async fn provider_pings_check_the_upstream() {
    let app = TestApp::start().await;
    let (status, list) = json(app.get_raw("/api/pings", &[], None, &[]).await).await;
    assert_eq!(status, 200);
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "dss" && p["url"] == "/api/dss/ping"),
        "{list}"
    );
    let (status, body) = json(app.get_raw("/api/dss/ping", &[], None, &[]).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "{body}");
    assert!(body["last_ok_status"].is_string());
    let (status, body) = json(app.get_raw("/api/nope/ping", &[], None, &[]).await).await;
    assert_eq!((status, body), (404, serde_json::json!({})));

    let down = TestApp::builder().dead_upstream().start().await;
    let (status, body) = json(down.get_raw("/api/dss/ping", &[], None, &[]).await).await;
    assert_eq!((status, body["status"].as_str()), (502, Some("bad_gateway")), "{body}");
}

#[tokio::test]
async fn provider_ping_reports_maintenance() {
    let now = Utc::now().with_timezone(&Paris);
    let window = MaintenanceWindow {
        provider: "dss".into(),
        resources: vec![],
        weekday: None,
        dates: vec![],
        start: (now - Minutes::minutes(30)).format("%H:%M").to_string(),
        end: (now + Minutes::minutes(30)).format("%H:%M").to_string(),
    };
    let app = TestApp::builder().maintenance(window).start().await;
    let (status, body) = json(app.get_raw("/api/dss/ping", &[], None, &[]).await).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("maintenance")), "{body}");
    assert!(body["until"].is_string());
}

#[tokio::test]
async fn only_the_plain_version_form_routes_and_the_journal_keeps_the_template() {
    let app = TestApp::start().await;
    let token = app.all_scopes_token().await;
    let mut query = pairs(AXELLE);
    query.push(("recipient".into(), RECIPIENT.into()));
    for alias in ["/v03", "/v003", "/v+3", "/v%2B3"] {
        let path = format!("{alias}/dss/quotient_familial/identite");
        assert_error(app.get(&path, &query, Some(&token)).await, 404, "00404").await;
    }
    // A control character in the path reaches neither the journal nor the metrics.
    let forged = "/v3/dss/x%0a2026-11-26T12:00:00Z%20WARN%20forged/identite";
    assert_error(app.get(forged, &query, Some(&token)).await, 404, "00404").await;
    assert_eq!(app.get(QF, &query, Some(&token)).await.status(), 200);
    let rows = app.store.recent_journal(10).await.unwrap();
    let endpoints: Vec<&str> = rows.iter().map(|r| r.endpoint.as_str()).collect();
    assert_eq!(endpoints.iter().filter(|e| **e == QF).count(), 1, "{endpoints:?}");
    assert!(endpoints.iter().all(|e| *e == QF || *e == "unknown"), "{endpoints:?}");
}

/// Query parameters the official OpenAPI (`api-particulier-v3.yaml`) marks required,
/// per path, copied from it.
const OFFICIAL_REQUIRED: &[(&str, &[&str])] = &[
    (
        "/v3/ants/extrait_immatriculation_vehicule/france_connect",
        &["recipient", "immatriculation"],
    ),
    (
        "/v3/dss/allocation_adulte_handicape/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "codeCogInseePaysNaissance",
        ],
    ),
    ("/v3/dss/allocation_adulte_handicape/france_connect", &["recipient"]),
    (
        "/v3/dss/allocation_enfant_handicape/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "codeCogInseePaysNaissance",
        ],
    ),
    ("/v3/dss/allocation_enfant_handicape/france_connect", &["recipient"]),
    (
        "/v3/dss/allocation_soutien_familial/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "codeCogInseePaysNaissance",
        ],
    ),
    ("/v3/dss/allocation_soutien_familial/france_connect", &["recipient"]),
    (
        "/v3/dss/complementaire_sante_solidaire/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "codeCogInseePaysNaissance",
        ],
    ),
    ("/v3/dss/complementaire_sante_solidaire/france_connect", &["recipient"]),
    (
        "/v3/dss/participation_familiale_eaje/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "codeCogInseePaysNaissance",
        ],
    ),
    ("/v3/dss/participation_familiale_eaje/france_connect", &["recipient"]),
    (
        "/v3/dss/prime_activite/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "codeCogInseePaysNaissance",
        ],
    ),
    ("/v3/dss/prime_activite/france_connect", &["recipient"]),
    (
        "/v3/dss/quotient_familial/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "codeCogInseePaysNaissance",
        ],
    ),
    ("/v3/dss/quotient_familial/france_connect", &["recipient"]),
    (
        "/v3/dss/revenu_solidarite_active/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "codeCogInseePaysNaissance",
        ],
    ),
    ("/v3/dss/revenu_solidarite_active/france_connect", &["recipient"]),
    (
        "/v3/cnous/etudiant_boursier/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "anneeDateNaissance",
            "moisDateNaissance",
            "jourDateNaissance",
        ],
    ),
    ("/v3/cnous/etudiant_boursier/france_connect", &["recipient"]),
    ("/v3/cnous/etudiant_boursier/ine", &["recipient", "ine"]),
    (
        "/v4/cnous/etudiant_boursier/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "anneeDateNaissance",
            "moisDateNaissance",
            "jourDateNaissance",
        ],
    ),
    ("/v4/cnous/etudiant_boursier/france_connect", &["recipient"]),
    ("/v4/cnous/etudiant_boursier/ine", &["recipient", "ine"]),
    (
        "/v3/dsnj/service_national/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "anneeDateNaissance",
            "moisDateNaissance",
            "jourDateNaissance",
            "sexeEtatCivil",
            "codeCogInseePaysNaissance",
        ],
    ),
    ("/v3/dsnj/service_national/france_connect", &["recipient"]),
    (
        "/v3/france_travail/indemnites/identifiant",
        &["recipient", "identifiant"],
    ),
    ("/v3/france_travail/statut/identifiant", &["recipient", "identifiant"]),
    (
        "/v3/gip_mds/service_civique/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "anneeDateNaissance",
            "moisDateNaissance",
            "jourDateNaissance",
        ],
    ),
    ("/v3/gip_mds/service_civique/france_connect", &["recipient"]),
    (
        "/v3/men/scolarites/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "anneeDateNaissance",
            "moisDateNaissance",
            "jourDateNaissance",
            "anneeScolaire",
        ],
    ),
    (
        "/v4/men/scolarites/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "anneeDateNaissance",
            "moisDateNaissance",
            "jourDateNaissance",
            "anneeScolaire",
        ],
    ),
    (
        "/v5/men/scolarites/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "sexeEtatCivil",
            "anneeDateNaissance",
            "moisDateNaissance",
            "jourDateNaissance",
            "anneeScolaire",
        ],
    ),
    (
        "/v3/mesri/statut_etudiant/identite",
        &[
            "recipient",
            "nomNaissance",
            "prenoms[]",
            "anneeDateNaissance",
            "moisDateNaissance",
            "jourDateNaissance",
            "sexeEtatCivil",
        ],
    ),
    ("/v3/mesri/statut_etudiant/france_connect", &["recipient"]),
    ("/v3/mesri/statut_etudiant/ine", &["recipient", "ine"]),
    ("/v3/sdh/statut_sportif/identifiant", &["recipient", "identifiant"]),
];

/// Where the official document is stricter than the gateway (both as the real
/// gateway's code does): our document says optional, and a call without it passes.
const ACCEPTED_WITHOUT: &[(&str, &str)] = &[("/v3/dss/", "prenoms[]"), ("/men/scolarites/", "sexeEtatCivil")];

#[tokio::test]
async fn the_published_document_requires_what_the_gateway_requires() {
    let app = TestApp::start().await;
    let text = app
        .get_raw("/api/open-api.yml", &[], None, &[])
        .await
        .text()
        .await
        .unwrap();
    let doc: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    let required = |path: &str, name: &str| {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} is not published"))
            .iter()
            .find(|p| p["name"] == name)
            .map(|p| p["required"] == true)
    };
    let mut wrong = Vec::new();
    for (path, names) in OFFICIAL_REQUIRED {
        for name in *names {
            let lenient = ACCEPTED_WITHOUT.iter().any(|(p, n)| path.contains(p) && n == name);
            match required(path, name) {
                Some(true) if !lenient => {}
                Some(false) if lenient => {}
                other => wrong.push(format!("{path} {name}: {other:?}")),
            }
        }
    }
    assert!(wrong.is_empty(), "parameters published wrongly: {wrong:#?}");
    // The leniencies are real: such calls are not refused for the missing parameter
    // (MEN without a sex: `men.rs`).
    let jwt = app.all_scopes_token().await;
    let mut without_prenoms = pairs(AXELLE);
    without_prenoms.retain(|(k, _)| k != "prenoms[]");
    without_prenoms.push(("recipient".into(), RECIPIENT.into()));
    let (status, body) = json(app.get_raw(QF, &without_prenoms, Some(&jwt), &[]).await).await;
    assert!(!codes(&body).contains(&"00421".to_string()), "{status} {body}");
    // A required parameter left out is refused: `ine` on its own path.
    let ine = app.get("/v3/mesri/statut_etudiant/ine", &[], Some(&jwt)).await;
    assert_eq!(ine.status(), 422);
}
