//! Routes, versions, `recipient` and identity parameters: every bad input gets the
//! contract's error, never a 500.

use crate::helpers::*;

const QF: &str = "/v3/dss/quotient_familial/identite";

fn without(key: &str) -> Vec<(String, String)> {
    pairs(AXELLE).into_iter().filter(|(k, _)| k != key).collect()
}

fn with(key: &str, value: &str) -> Vec<(String, String)> {
    let mut q = without(key);
    q.push((key.to_string(), value.to_string()));
    q
}

#[tokio::test]
async fn unknown_paths_and_versions() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    assert_error(app.get("/v3/dss/nope/identite", &[], Some(&jwt)).await, 404, "00404").await;
    assert_error(app.get("/nothing/here", &[], Some(&jwt)).await, 404, "00404").await;
    assert_error(
        app.get("/vx/dss/quotient_familial/identite", &[], Some(&jwt)).await,
        404,
        "00404",
    )
    .await;
    let body = assert_error(
        app.get("/v4/dss/quotient_familial/identite", &pairs(AXELLE), Some(&jwt))
            .await,
        404,
        "00402",
    )
    .await;
    assert!(body["errors"][0]["detail"].as_str().unwrap().contains("v4"));
}

#[tokio::test]
async fn recipient_must_be_a_siret() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let url = |recipient: Option<&str>| {
        let mut q = pairs(AXELLE);
        if let Some(r) = recipient {
            q.push(("recipient".into(), r.into()));
        }
        q
    };
    for bad in [
        None,
        Some(""),
        Some("13002526500014"),
        Some("1300252650001"),
        Some("abcdefghijklmn"),
    ] {
        let body = assert_error(app.get_raw(QF, &url(bad), Some(&jwt), &[]).await, 422, "00210").await;
        assert_eq!(body["errors"][0]["source"]["parameter"], "recipient");
    }
    // La Poste's establishments have no valid Luhn checksum and are accepted.
    assert_eq!(
        app.get_raw(QF, &url(Some("35600000000048")), Some(&jwt), &[])
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn each_identity_field_has_its_code() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let cases = [
        (without("nomNaissance"), "00420"),
        (with("nomNaissance", "M4RTIN"), "00420"),
        (with("prenoms[]", "AX3LLE"), "00421"),
        (with("anneeDateNaissance", "19x9"), "00422"),
        (with("moisDateNaissance", "13"), "00423"),
        (with("jourDateNaissance", "32"), "00424"),
        (
            with("jourDateNaissance", "31")
                .into_iter()
                .map(|(k, v)| {
                    if k == "moisDateNaissance" {
                        (k, "2".into())
                    } else {
                        (k, v)
                    }
                })
                .collect(),
            "00425",
        ),
        (with("anneeDateNaissance", "2099"), "00425"),
        (with("codeCogInseeCommuneNaissance", "20123"), "00426"),
        (without("sexeEtatCivil"), "00427"),
        (with("sexeEtatCivil", "X"), "00427"),
        (with("codeCogInseeDepartementNaissance", "20"), "00428"),
        (without("codeCogInseePaysNaissance"), "00400"),
        (with("codeCogInseePaysNaissance", "12345"), "00400"),
        (without("codeCogInseeCommuneNaissance"), "00365"),
        (with("annee", "2001"), "00356"),
        (with("annee", "deux"), "00353"),
        (with("mois", "13"), "00354"),
    ];
    for (query, code) in cases {
        assert_error(app.get(QF, &query, Some(&jwt)).await, 422, code).await;
    }
}

#[tokio::test]
async fn too_many_prenoms() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let mut q = pairs(AXELLE);
    for p in ["A", "B", "C"] {
        q.push(("prenoms[]".into(), p.into()));
    }
    assert_error(app.get(QF, &q, Some(&jwt)).await, 422, "00421").await;
}

#[tokio::test]
async fn all_parameter_errors_come_together() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let q = pairs(&[
        ("moisDateNaissance", "0"),
        ("sexeEtatCivil", "Z"),
        ("codeCogInseePaysNaissance", "9"),
    ]);
    let (status, body) = json(app.get(QF, &q, Some(&jwt)).await).await;
    assert_eq!(status, 422);
    assert_eq!(codes(&body), vec!["00420", "00423", "00427", "00400"]);
}

#[tokio::test]
async fn malformed_query_string_is_a_clear_error() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let response = app
        .client
        .get(format!("{}{QF}?recipient=13002526500013&nomNaissance=%FF%FE", app.base))
        .bearer_auth(&jwt)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(status == 400 || status == 422, "{status}");
    assert_eq!(response.headers()["content-type"], "application/vnd.api+json");
}

#[tokio::test]
async fn hostile_inputs_never_cause_a_500() {
    let app = TestApp::start().await;
    let jwt = app.all_scopes_token().await;
    let long = "A".repeat(5000);
    let hostile = [
        with("nomNaissance", &long),
        with("anneeDateNaissance", "-1"),
        with("anneeDateNaissance", "99999999999999999999"),
        with("prenoms[]", "'; DROP TABLE tokens; --"),
        with("codeCogInseeCommuneNaissance", "\u{0}\u{1}"),
        vec![("prenoms[]".into(), "".into())],
    ];
    for q in hostile {
        let status = app.get(QF, &q, Some(&jwt)).await.status().as_u16();
        assert!(status < 500, "{status} for {q:?}");
    }
}
