//! The back-office's audit notices and per-provider pages over real HTTP: only admins
//! send notices, and only request ids of calls made with the habilitation's own tokens
//! (a replaced one included) are accepted; the notice reaches the three contacts over
//! SMTP and the demande's history. A provider's page counts the calls on its endpoints
//! from the rollups and lists the habilitations holding its scopes; its people read it,
//! not another provider's.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::habilitation::smtp_to;
use crate::habilitation::{log_in, Agent, Page, CAMILLE, ELISE, KARIM, NADIA, SOPHIE};
use crate::helpers::*;
use crate::portal::approved;
use crate::portal::capture;
use crate::portal::jwt;

const JULIEN: &str = "julien.roux@agglo-herault-mediterranee.example";
const CLAIRE: &str = "claire.dupont@ville-de-sainte-colombe.example";
const QUOTIENT: &str = "/v3/dss/quotient_familial/identite";

/// The site with Julien as DSS's referent and Sophie as CNOUS's, rollups every second.
async fn start(smtp: Option<passerelle_gateway::config::SmtpConfig>) -> TestApp {
    TestApp::builder()
        .habilitation(move |h| {
            h.smtp = smtp;
            h.dispatch_every_ms = 50;
            h.providers = BTreeMap::from([
                ("dss".to_string(), vec![JULIEN.to_string()]),
                ("cnous".to_string(), vec![SOPHIE.to_string()]),
            ]);
        })
        .public_site(|site| site.rollup_every_secs = 1)
        .start()
        .await
}

/// A call on the quotient familial with `jwt`: its request id.
async fn call(app: &TestApp, jwt: &str) -> String {
    let answer = app.get(QUOTIENT, &pairs(AXELLE), Some(jwt)).await;
    assert_eq!(answer.status(), StatusCode::OK);
    answer.headers()["x-request-id"].to_str().unwrap().to_string()
}

/// Waits (at most 10 s) for the journal to hold every one of `ids`.
async fn journaled(app: &TestApp, ids: &[String]) {
    let start = Instant::now();
    loop {
        let rows = app.store.recent_journal(200).await.unwrap();
        if ids.iter().all(|id| rows.iter().any(|r| &r.request_id == id)) {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "calls not journaled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn number_of(app: &TestApp, demande: &str) -> String {
    let id: uuid::Uuid = demande.rsplit('/').next().unwrap().parse().unwrap();
    app.store.demande(id).await.unwrap().unwrap().number.to_string()
}

/// Posts the audit form as `agent`, with the page's CSRF token.
async fn send_notice(agent: &mut Agent, number: &str, ids: &[String], reason: &str) -> Page {
    let page = agent.get("/habilitation/admin/audit").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Agent::csrf(&page);
    let ids = ids.join("\n");
    let form = [
        ("csrf", csrf.as_str()),
        ("demande", number),
        ("requetes", ids.as_str()),
        ("motif", reason),
        ("volume", "environ 300 appels par jour"),
    ];
    agent.post("/habilitation/admin/audit", &form).await
}

/// Rotates the demande's token from its tokens page (7 days of overlap).
async fn rotate(agent: &mut Agent, demande: &str) {
    let page = agent.get(&format!("{demande}/jetons")).await;
    let csrf = Agent::csrf(&page);
    let version = capture(&page.body, r#"name="version" value="(\d+)""#);
    let form = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("quoi", "rotate"),
        ("chevauchement", "7"),
    ];
    let rotated = agent.post(&format!("{demande}/jetons"), &form).await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.body);
}

#[tokio::test]
async fn back_office_pages_refuse_non_admins_and_a_providers_people_read_their_own_only() {
    let app = start(None).await;
    let (mut camille, _) = log_in(&app, CAMILLE).await;
    let csrf = Agent::csrf(&camille.get("/habilitation/demandes").await);
    for path in [
        "/habilitation/admin/audit",
        "/habilitation/admin/fournisseurs",
        "/habilitation/admin/fournisseurs/dss",
    ] {
        let page = camille.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}: {}", page.body);
    }
    let forged = camille
        .post(
            "/habilitation/admin/audit",
            &[
                ("csrf", &csrf),
                ("demande", "1"),
                ("requetes", "x"),
                ("motif", "m"),
                ("volume", "v"),
            ],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
    let (mut nadia, _) = log_in(&app, NADIA).await;
    let page = nadia.get("/habilitation/admin/audit").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "an instructor is no admin");

    // DSS's referent: DSS only.
    let (mut julien, _) = log_in(&app, JULIEN).await;
    let home = julien.get("/habilitation/demandes").await;
    assert!(
        home.body.contains("href=\"/habilitation/admin/fournisseurs\""),
        "{}",
        home.body
    );
    let list = julien.get("/habilitation/admin/fournisseurs").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(list.body.contains("data-fournisseur=\"dss\""), "{}", list.body);
    assert!(!list.body.contains("data-fournisseur=\"cnous\""), "{}", list.body);
    assert_eq!(
        julien.get("/habilitation/admin/fournisseurs/dss").await.status,
        StatusCode::OK
    );
    let other = julien.get("/habilitation/admin/fournisseurs/cnous").await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "{}", other.body);
    assert_eq!(
        julien.get("/habilitation/admin/audit").await.status,
        StatusCode::FORBIDDEN
    );
    let (mut sophie, _) = log_in(&app, SOPHIE).await;
    assert_eq!(
        sophie.get("/habilitation/admin/fournisseurs/dss").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        sophie.get("/habilitation/admin/fournisseurs/cnous").await.status,
        StatusCode::OK
    );

    // An admin: every provider of both bouquets.
    let (mut elise, _) = log_in(&app, ELISE).await;
    let all = elise.get("/habilitation/admin/fournisseurs").await;
    for id in ["dss", "cnous", "insee", "dgfip"] {
        assert!(
            all.body.contains(&format!("data-fournisseur=\"{id}\"")),
            "{id}: {}",
            all.body
        );
    }
    let unknown = elise.get("/habilitation/admin/fournisseurs/nulle-part").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let answer = app
        .client
        .get(format!("{}/habilitation/admin/audit", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn an_audit_notice_names_only_the_habilitations_own_calls_and_reaches_its_three_contacts() {
    let sink = passerelle_mail::testing::SmtpSink::start().await;
    let app = start(Some(smtp_to(&sink))).await;
    let (mut camille, demande) = approved(&app).await;
    let number = number_of(&app, &demande).await;
    let first = jwt(&mut camille, &demande).await;
    let mut ids = vec![call(&app, &first).await, call(&app, &first).await];
    // A replaced token's calls are the habilitation's too.
    rotate(&mut camille, &demande).await;
    let second = jwt(&mut camille, &demande).await;
    ids.push(call(&app, &second).await);
    let foreign_token = app.token(&["cnaf_quotient_familial"]).await;
    let foreign = call(&app, &foreign_token).await;
    let all: Vec<String> = ids.iter().chain([&foreign]).cloned().collect();
    journaled(&app, &all).await;

    let (mut elise, _) = log_in(&app, ELISE).await;
    let mut asked = ids.clone();
    asked.push(foreign.clone());
    asked.push("inconnu-0001".into());
    let refused = send_notice(&mut elise, &number, &asked, "Appels sans lien avec la cantine").await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let listed = capture(&refused.body, r#"(?s)<ul id="identifiants-refuses">(.*?)</ul>"#);
    assert!(listed.contains(&foreign) && listed.contains("inconnu-0001"), "{listed}");
    assert!(ids.iter().all(|id| !listed.contains(id.as_str())), "{listed}");
    assert!(
        refused.body.contains("Appels sans lien avec la cantine"),
        "the form is kept"
    );
    let unknown_number = send_notice(&mut elise, "999999", &ids, "Motif").await;
    assert_eq!(unknown_number.status, StatusCode::BAD_REQUEST);

    let sent = send_notice(&mut elise, &number, &ids, "Appels sans lien avec la cantine").await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let start = Instant::now();
    let notices = loop {
        let notices: Vec<_> = sink
            .messages()
            .into_iter()
            .filter(|m| m.subject().is_some_and(|s| s.contains("appels non conformes")))
            .collect();
        if notices.len() >= 3 {
            break notices;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{} notices", notices.len());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut reached: Vec<String> = notices.iter().flat_map(|m| m.recipients.clone()).collect();
    reached.sort();
    let mut expected = vec![CAMILLE.to_string(), KARIM.to_string(), CLAIRE.to_string()];
    expected.sort();
    assert_eq!(reached, expected, "the applicant and both contacts, once each");
    for message in &notices {
        let text = message.text().unwrap();
        assert!(text.contains("Appels sans lien avec la cantine") && text.contains("environ 300 appels par jour"));
        for id in &ids {
            assert!(text.contains(id.as_str()), "{id} in {text}");
        }
        assert!(text.contains(QUOTIENT), "{text}");
        assert!(!text.contains(&foreign), "never another's call");
        assert!(!text.contains("AXELLE") && !text.contains("MARTIN"), "no personal data");
    }

    let history = camille.get(&demande).await.body;
    assert!(history.contains("Appels non conformes signalés"), "{history}");
    assert!(history.contains("Appels sans lien avec la cantine"), "{history}");
    let page = elise.get("/habilitation/admin/audit?fait=envoye").await.body;
    assert!(page.contains("id=\"avis-envoye\""), "{page}");
    let listed = capture(&page, r#"(?s)<table id="avis">(.*?)</table>"#);
    assert!(
        listed.contains(&format!("n° {number}")) && listed.contains("<td>3</td>"),
        "{listed}"
    );
}

#[tokio::test]
async fn a_providers_page_counts_calls_on_its_endpoints_and_lists_the_habilitations_holding_its_scopes() {
    let app = start(None).await;
    let (mut camille, demande) = approved(&app).await;
    let number = number_of(&app, &demande).await;
    let token = jwt(&mut camille, &demande).await;
    for _ in 0..3 {
        call(&app, &token).await;
    }
    let (mut elise, _) = log_in(&app, ELISE).await;
    let start = Instant::now();
    let page = loop {
        let page = elise.get("/habilitation/admin/fournisseurs/dss").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        if page.body.contains(&format!(r#"<tr data-route="{QUOTIENT}">"#)) {
            break page.body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "no calls counted: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let row = capture(&page, &format!(r#"(?s)<tr data-route="{QUOTIENT}">(.*?)</tr>"#));
    assert!(row.contains("<td>3</td><td>3</td><td>0</td><td>0</td>"), "{row}");
    let held = capture(&page, r#"(?s)<table class="habilitations">(.*?)</table>"#);
    assert!(
        held.contains(&format!("data-numero=\"{number}\"")) && held.contains("Cantine de Sainte-Colombe"),
        "{held}"
    );
    assert!(held.contains("COMMUNE DE SAINTE-COLOMBE-LES-EXEMPLES"), "{held}");

    // Another provider: neither the calls nor the habilitation.
    let cnous = elise.get("/habilitation/admin/fournisseurs/cnous").await.body;
    assert!(cnous.contains("id=\"aucun-appel\""), "{cnous}");
    assert!(
        !cnous.contains("Cantine de Sainte-Colombe") && !cnous.contains(QUOTIENT),
        "{cnous}"
    );

    // DSS's referent reads the same figures.
    let (mut julien, _) = log_in(&app, JULIEN).await;
    let theirs = julien.get("/habilitation/admin/fournisseurs/dss").await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(theirs.body.contains(&row), "{}", theirs.body);
}
