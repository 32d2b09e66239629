//! The habilitation site in real browsers: Camille files a demande and Nadia instructs
//! it, each in her own chromium, clicking the site's links and buttons and the ProConnect
//! simulator's; the approval's token opens the gateway and its revocation closes it.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::browser::Browser;
use crate::habilitation::{CAMILLE, KARIM, NADIA, PDF};
use crate::helpers::*;

/// How long a page may take to follow a click.
const PATIENCE: Duration = Duration::from_secs(10);

/// Waits (at most 10 s) until the browser's address satisfies `wanted`.
pub(crate) async fn wait_for_url(browser: &Browser, what: &str, wanted: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let url = browser.url().await;
        if wanted(&url) {
            return url;
        }
        assert!(start.elapsed() < PATIENCE, "{what}: still on {url}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The text of the element `css` selects.
pub(crate) async fn text_of(browser: &Browser, css: &str) -> String {
    browser.find(css).await.text().await.unwrap().trim().to_string()
}

/// Types `value` into the field `#key` (emptied first).
pub(crate) async fn fill(browser: &Browser, key: &str, value: &str) {
    let field = browser.find(&format!("#{key}")).await;
    field.clear().await.unwrap_or_else(|e| panic!("clear #{key}: {e}"));
    field
        .send_keys(value)
        .await
        .unwrap_or_else(|e| panic!("type into #{key}: {e}"));
}

/// Ticks the checkbox `#id` by its label, as the DSFR draws the box on the label.
async fn tick(browser: &Browser, id: &str) {
    browser.click(&format!("label[for=\"{id}\"]")).await;
    let checked = browser.find(&format!("#{id}")).await.is_selected().await.unwrap();
    assert!(checked, "#{id} is ticked");
}

/// Clicks the button of `event` on a demande's page and waits for the page it leads to.
async fn fire(browser: &Browser, event: &str) {
    browser.click(&format!("button[data-event=\"{event}\"]")).await;
    let done = format!("fait={event}");
    wait_for_url(browser, event, |url| url.contains(&done)).await;
    browser.find("#etat").await;
}

/// From the site's home page through the ProConnect simulator to "Mes demandes"; the
/// simulator's second authorize round trip (the second factor) happens by redirect.
pub(crate) async fn log_in(browser: &Browser, app: &TestApp, email: &str, shot: Option<&str>) {
    browser.goto(&format!("{}/habilitation", app.base)).await;
    browser.click("#se-connecter").await;
    let agent = format!("button[data-agent=\"{email}\"]");
    browser.find(&agent).await;
    assert!(
        browser.url().await.starts_with(&app.simulators),
        "on the ProConnect simulator"
    );
    if let Some(name) = shot {
        browser.screenshot(name).await;
    }
    browser.click(&agent).await;
    let site = format!("{}/", app.base);
    wait_for_url(browser, "logged in", |url| url.starts_with(&site)).await;
    browser.find("#deconnexion").await;
    assert_eq!(text_of(browser, "main h1").await, "Mes demandes");
}

/// The demande's state, as its badge says it (its text, before the DSFR's capitals).
async fn state(browser: &Browser) -> String {
    let badge = browser.find("#etat").await;
    let text = badge.prop("textContent").await.unwrap().unwrap_or_default();
    text.trim().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demande_walks_from_camille_to_nadia_to_a_token_and_its_revocation_in_real_browsers() {
    let started = Instant::now();
    let Some(camille) = Browser::start().await else {
        return;
    };
    let Some(nadia) = Browser::start().await else {
        return;
    };
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let home = format!("{}/habilitation", app.base);

    // 1. Camille logs in from the home page.
    camille.goto(&home).await;
    camille.find("#se-connecter").await;
    let header_login = camille.find_all("header a[href=\"/habilitation/connexion\"]").await;
    assert_eq!(header_login.len(), 1, "the header offers the login too");
    let font = camille
        .execute("return getComputedStyle(document.body).fontFamily")
        .await;
    assert!(
        font.as_str().is_some_and(|f| f.contains("Marianne")),
        "styled by the DSFR: {font}"
    );
    camille.screenshot("habilitation-01-accueil").await;
    log_in(&camille, &app, CAMILLE, Some("habilitation-02-proconnect")).await;
    let header = text_of(&camille, "#deconnexion").await;
    assert!(header.contains("Camille"), "{header}");
    camille.screenshot("habilitation-03-mes-demandes").await;

    // 2. A RestauScol demande, filled, its legal basis attached, submitted.
    camille.click("#nouvelle-particulier").await;
    let template = "button[data-form=\"api-particulier-editeur-restauscol\"]";
    camille.find(template).await;
    camille.screenshot("habilitation-04-formulaires").await;
    camille.click(template).await;
    let edit = wait_for_url(&camille, "the new demande's form", |url| url.ends_with("/modifier")).await;
    camille.find("#formulaire").await;
    let demande = edit.trim_end_matches("/modifier").to_string();
    let path = demande.trim_start_matches(&app.base).to_string();
    fill(&camille, "intitule", "Cantine de Sainte-Colombe").await;
    fill(
        &camille,
        "cadre_juridique_nature",
        "Délibération du conseil municipal du 12 mars 2026",
    )
    .await;
    let people = [
        (
            "contact_metier",
            "Claire",
            "Dupont",
            "claire.dupont@ville-de-sainte-colombe.example",
            "Responsable de la restauration scolaire",
        ),
        (
            "contact_technique",
            "Karim",
            "Benali",
            KARIM,
            "Responsable informatique",
        ),
        (
            "delegue_protection_donnees",
            "Paul",
            "Durand",
            "dpd@ville-de-sainte-colombe.example",
            "Délégué à la protection des données",
        ),
    ];
    for (kind, given, family, email, job) in people {
        fill(&camille, &format!("{kind}_given_name"), given).await;
        fill(&camille, &format!("{kind}_family_name"), family).await;
        fill(&camille, &format!("{kind}_email"), email).await;
        fill(&camille, &format!("{kind}_phone_number"), "04 67 00 00 00").await;
        fill(&camille, &format!("{kind}_job_title"), job).await;
    }
    camille.screenshot("habilitation-05-formulaire-rempli").await;
    camille.click("#enregistrer").await;
    wait_for_url(&camille, "saved", |url| url.contains("fait=enregistree")).await;
    assert_eq!(state(&camille).await, "Brouillon");

    let folder = tempfile::tempdir().unwrap();
    let pdf = folder.path().join("deliberation.pdf");
    std::fs::write(&pdf, PDF).unwrap();
    let input = camille.find("#document").await;
    input.send_keys(&pdf.display().to_string()).await.unwrap();
    camille.click("#joindre").await;
    wait_for_url(&camille, "attached", |url| url.contains("fait=document")).await;
    let links = camille.find_all("main a[download]").await;
    assert_eq!(links.len(), 1, "one document attached");
    assert_eq!(links[0].text().await.unwrap(), "deliberation.pdf");
    tick(&camille, "cgu").await;
    tick(&camille, "dpd").await;
    fire(&camille, "submit").await;
    assert_eq!(state(&camille).await, "En instruction");
    camille.screenshot("habilitation-06-deposee").await;

    // 3. Nadia finds it on her dashboard and asks for changes.
    log_in(&nadia, &app, NADIA, None).await;
    nadia.goto(&format!("{home}/instruction")).await;
    let link = format!("main table a[href=\"{path}\"]");
    assert_eq!(text_of(&nadia, &link).await, "Cantine de Sainte-Colombe");
    nadia.screenshot("habilitation-07-instruction").await;
    nadia.click(&link).await;
    wait_for_url(&nadia, "the demande", |url| url == demande).await;
    assert_eq!(state(&nadia).await, "En instruction");
    nadia
        .find("#modele-request_changes")
        .await
        .select_by_label("Délibération manquante")
        .await
        .unwrap();
    fire(&nadia, "request_changes").await;
    assert_eq!(state(&nadia).await, "Modifications demandées");
    nadia.screenshot("habilitation-08-modifications-demandees").await;

    // 4. Camille sees it, adds a description, submits again.
    camille.client().refresh().await.unwrap();
    assert_eq!(state(&camille).await, "Modifications demandées");
    let history = text_of(&camille, "#historique").await;
    assert!(history.contains("Modifications demandées"), "{history}");
    camille.screenshot("habilitation-09-a-modifier").await;
    camille.click("#modifier").await;
    camille.find("#formulaire").await;
    assert_eq!(
        camille.find("#intitule").await.prop("value").await.unwrap().as_deref(),
        Some("Cantine de Sainte-Colombe"),
        "what she saved is kept"
    );
    fill(&camille, "description", "Tarifs de la cantine et du périscolaire").await;
    camille.click("#enregistrer").await;
    wait_for_url(&camille, "saved again", |url| url.contains("fait=enregistree")).await;
    let summary = text_of(&camille, "main dl").await;
    assert!(summary.contains("Tarifs de la cantine et du périscolaire"), "{summary}");
    tick(&camille, "cgu").await;
    tick(&camille, "dpd").await;
    fire(&camille, "submit").await;
    assert_eq!(state(&camille).await, "En instruction");

    // 5. Nadia approves.
    nadia.goto(&demande).await;
    assert_eq!(state(&nadia).await, "En instruction");
    fire(&nadia, "approve").await;
    assert_eq!(state(&nadia).await, "Validée");
    nadia.screenshot("habilitation-10-validee").await;

    // 6. Camille reads her token, which opens the gateway.
    camille.client().refresh().await.unwrap();
    assert_eq!(state(&camille).await, "Validée");
    camille.click("#voir-jeton").await;
    wait_for_url(&camille, "the token page", |url| url.ends_with("/jeton")).await;
    let jwt = camille
        .find("textarea#jeton")
        .await
        .prop("value")
        .await
        .unwrap()
        .expect("a token")
        .trim()
        .to_string();
    assert_eq!(jwt.split('.').count(), 3, "a JWT: {jwt}");
    camille.screenshot("habilitation-11-jeton").await;
    let call = || async {
        app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&jwt))
            .await
            .status()
    };
    assert_eq!(call().await, StatusCode::OK, "the token opens the gateway");
    camille.goto(&demande).await;
    let history = text_of(&camille, "#historique").await;
    for step in [
        "Demande créée",
        "Demande déposée",
        "Modifications demandées",
        "Demande validée",
    ] {
        assert!(history.contains(step), "{step} in the history: {history}");
    }

    // 7. Nadia revokes it; within 5 s the token is refused.
    nadia.goto(&demande).await;
    fill(&nadia, "motif-revoke", "Fin du marché de restauration").await;
    fire(&nadia, "revoke").await;
    let revoked_at = Instant::now();
    nadia.screenshot("habilitation-12-revoquee").await;
    loop {
        let status = call().await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(5),
            "still {status} after the revocation"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!(
        "refused {:.1} s after the revocation",
        revoked_at.elapsed().as_secs_f64()
    );
    camille.client().refresh().await.unwrap();
    let badge = state(&camille).await;
    assert_eq!(badge, "Révoquée");
    camille.screenshot("habilitation-13-revoquee-camille").await;

    // Both log out of the site (a POST with its CSRF field), then their browsers close.
    for browser in [&camille, &nadia] {
        browser.click("#deconnexion").await;
        browser.find("#se-connecter").await;
        assert_eq!(browser.url().await, home);
    }
    camille.close().await;
    nadia.close().await;
    eprintln!("the browser test took {:.1} s", started.elapsed().as_secs_f64());
}
