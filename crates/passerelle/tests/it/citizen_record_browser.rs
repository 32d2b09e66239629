//! "Qui a consulté mes données ?" in a real browser: chromium follows the links and
//! submits the forms of the site and of the FranceConnect simulator, keeps the cookies
//! and loads the DSFR as a citizen's browser would.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::browser::Browser;
use crate::citizen_record::{calls_about_angela_and_samuel, ANGELA, GEORGES};
use crate::helpers::*;

/// From the site's home page, through the simulator's list, back to her record.
async fn log_in(browser: &Browser, app: &TestApp, person: &str) {
    let home = format!("{}/mon-historique", app.base);
    browser.click("#franceconnect").await;
    browser.click(&format!("[data-person=\"{person}\"]")).await;
    browser.find("#deconnexion").await;
    assert_eq!(browser.url().await, home, "back on the record after the login");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_citizen_sees_exactly_her_calls_in_a_real_browser() {
    let started = Instant::now();
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::builder().citizen_record().start().await;
    let (angela, samuel) = calls_about_angela_and_samuel(&app).await;
    let home = format!("{}/mon-historique", app.base);

    browser.goto(&home).await;
    browser.find("#franceconnect").await;
    browser.screenshot("citizen-record-home").await;
    browser.click("#franceconnect").await;
    let person = format!("[data-person=\"{ANGELA}\"]");
    browser.find(&person).await;
    assert!(
        browser.url().await.starts_with(&app.simulators),
        "on the FranceConnect simulator"
    );
    browser.click(&person).await;
    browser.find("#deconnexion").await;
    assert_eq!(browser.url().await, home);
    browser.screenshot("citizen-record-angela").await;

    let mut shown = BTreeSet::new();
    for row in browser.find_all("#consultations tbody tr").await {
        shown.insert(row.attr("data-reference").await.unwrap().expect("a reference"));
    }
    let hers: BTreeSet<String> = angela.iter().cloned().collect();
    assert_eq!(shown, hers, "exactly her two calls");
    assert_eq!(browser.find_all("#consultations tbody tr").await.len(), 2);
    assert!(!browser.source().await.contains(samuel.as_str()), "nobody else's");
    let greeting = browser.find("main .fr-text--lead").await.text().await.unwrap();
    assert_eq!(greeting, "Bonjour Angela Claire Louise DUBOIS.");

    // Styled by the DSFR that Passerelle serves: its stylesheets, its Marianne font.
    let font = browser
        .execute("return getComputedStyle(document.body).fontFamily")
        .await;
    assert!(font.as_str().is_some_and(|f| f.contains("Marianne")), "{font}");
    let sheets = browser
        .execute("return [...document.styleSheets].map(s => s.href)")
        .await;
    let sheets: Vec<&str> = sheets.as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
    assert!(
        sheets.contains(&format!("{}/mon-historique/dsfr/dsfr.min.css", app.base).as_str()),
        "{sheets:?}"
    );
    assert!(sheets.iter().all(|s| s.starts_with(&app.base)), "{sheets:?}");
    let marianne_loaded = browser
        .execute_async(
            "const done = arguments[0];
             document.fonts.ready.then(() => done([...document.fonts]
               .filter(f => f.family.replace(/\"/g, '') === 'Marianne' && f.status === 'loaded')
               .length));",
        )
        .await;
    assert!(marianne_loaded.as_u64().is_some_and(|n| n > 0), "{marianne_loaded}");

    // "Se déconnecter": a POST with its CSRF field, back to the home page.
    browser.click("#deconnexion").await;
    browser.find("#franceconnect").await;
    assert_eq!(browser.url().await, home);
    assert!(browser.find_all("#consultations").await.is_empty());

    log_in(&browser, &app, GEORGES).await;
    browser.find("#aucune-consultation").await;
    let page = browser.source().await;
    for id in angela.iter().chain([&samuel]) {
        assert!(!page.contains(id.as_str()), "{id} is not Georges's");
    }
    browser.screenshot("citizen-record-georges").await;
    browser.close().await;
    eprintln!("the browser test took {:.1} s", started.elapsed().as_secs_f64());
}
