//! The back-office and the editors' space in a real browser: Élise, an admin, finds
//! Camille's commune, opens it and sees the portal as Camille, read-only with the
//! token masked; Camille delegates her habilitation to an editor whose user, Julien,
//! takes a token of his own from his space and calls the gateway with it.

use passerelle_gateway::config::EditorConfig;
use reqwest::StatusCode;

use crate::browser::Browser;
use crate::habilitation::{CAMILLE, ELISE};
use crate::habilitation_browser::{fill, log_in, text_of, wait_for_url};
use crate::helpers::*;
use crate::portal::approved;

const JULIEN: &str = "julien.roux@agglo-herault-mediterranee.example";
const SAINTE_COLOMBE: &str = "21349910600010";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_finds_an_organisation_and_sees_the_portal_as_its_applicant_read_only() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (_, demande) = approved(&app).await;

    log_in(&browser, &app, ELISE, None).await;
    browser.click("header a[href=\"/habilitation/admin\"]").await;
    wait_for_url(&browser, "the back-office", |url| url.ends_with("/habilitation/admin")).await;
    browser.screenshot("backoffice-01-accueil").await;
    browser.click("a[href=\"/habilitation/admin/organisations\"]").await;
    fill(&browser, "q", "sainte-colombe").await;
    browser.click("form[role=search] button, .fr-search-bar button").await;
    wait_for_url(&browser, "the search", |url| url.contains("q=sainte-colombe")).await;
    assert_eq!(browser.find_all("tr.organisation").await.len(), 1);
    browser.click("tr.organisation a").await;
    let page = format!("/habilitation/admin/organisations/{SAINTE_COLOMBE}");
    wait_for_url(&browser, "the organisation", |url| url.ends_with(&page)).await;
    assert_eq!(browser.find_all("section.demande tr.jeton").await.len(), 1);
    assert!(
        !browser.source().await.contains("eyJ"),
        "no token string in the back-office"
    );
    browser.screenshot("backoffice-02-organisation").await;

    let as_camille = format!("tr.membre[data-email=\"{CAMILLE}\"] button");
    browser.click(&as_camille).await;
    browser.find("#imitation").await;
    browser.goto(&format!("{}/habilitation/habilitations", app.base)).await;
    assert_eq!(browser.find_all("tr.habilitation").await.len(), 1);
    assert!(text_of(&browser, "#imitation").await.contains(CAMILLE));
    browser.screenshot("backoffice-03-imitation").await;
    browser.goto(&format!("{}{demande}/jeton", app.base)).await;
    assert!(!browser.source().await.contains("eyJ"), "the token is masked");

    browser.click("#arreter-imitation").await;
    wait_for_url(&browser, "back in the back-office", |url| {
        url.contains("/habilitation/admin")
    })
    .await;
    assert!(browser.find_all("#imitation").await.is_empty());
    browser.goto(&format!("{}/habilitation/admin/journal", app.base)).await;
    let journal = text_of(&browser, "#journal").await;
    assert!(journal.contains(CAMILLE), "{journal}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camille_delegates_to_an_editor_whose_user_takes_a_token_of_its_own() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::builder()
        .habilitation(|h| {
            h.editors = vec![EditorConfig {
                id: "numerique-mutualise".into(),
                name: "Service numérique mutualisé".into(),
                sirets: vec!["24340081900120".into()],
            }]
        })
        .start()
        .await;
    let (_, demande) = approved(&app).await;

    log_in(&browser, &app, CAMILLE, None).await;
    browser.goto(&format!("{}{demande}/jetons", app.base)).await;
    browser.click(&format!("a[href=\"{demande}/delegations\"]")).await;
    browser.find("#deleguer").await;
    browser.click("#deleguer-editeur").await;
    wait_for_url(&browser, "granted", |url| url.contains("fait=grant")).await;
    browser.screenshot("editeur-01-delegations").await;
    browser.close().await;

    let Some(browser) = Browser::start().await else {
        return;
    };
    log_in(&browser, &app, JULIEN, None).await;
    browser.goto(&format!("{}/habilitation/editeur", app.base)).await;
    assert!(text_of(&browser, "main h1").await.starts_with("Espace éditeur"));
    browser.screenshot("editeur-02-espace").await;
    browser.click("#habilitations-deleguees a").await;
    browser.click("#prendre-jeton").await;
    let jwt = browser
        .find("#jeton")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    let answer = app
        .get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(jwt.trim()))
        .await;
    assert_eq!(answer.status(), StatusCode::OK, "the delegated token answers");
    browser.close().await;
}
