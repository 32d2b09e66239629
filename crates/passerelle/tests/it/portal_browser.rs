//! The portal in a real browser: Camille, holder of an approved habilitation, finds it
//! under "Mes habilitations", renews its token (both tokens answer a call during the
//! overlap), lowers its limit, and after a burst of calls reads "Quota dépassé".

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::browser::Browser;
use crate::habilitation::CAMILLE;
use crate::habilitation_browser::{fill, log_in, text_of, wait_for_url};
use crate::helpers::*;
use crate::portal::approved;

async fn shown_token(browser: &Browser) -> String {
    browser.click("#voir-jeton").await;
    let value = browser
        .find("#jeton")
        .await
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    value.trim().to_string()
}

async fn call(app: &TestApp, jwt: &str) -> StatusCode {
    app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(jwt))
        .await
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn camille_renews_her_token_calls_with_both_and_sees_her_quota_exceeded() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = TestApp::builder()
        .habilitation(|_| {})
        .public_site(|site| site.rollup_every_secs = 1)
        .start()
        .await;
    let (_, demande) = approved(&app).await;
    let tokens_url = format!("{}{demande}/jetons", app.base);

    log_in(&browser, &app, CAMILLE, None).await;
    browser.click("header a[href=\"/habilitation/habilitations\"]").await;
    browser.find("tr.habilitation").await;
    assert_eq!(text_of(&browser, "main h1").await, "Mes habilitations");
    browser.screenshot("portail-01-mes-habilitations").await;
    browser.click("tr.habilitation a").await;
    wait_for_url(&browser, "the tokens page", |url| url == tokens_url).await;
    browser.screenshot("portail-02-jetons").await;
    let first = shown_token(&browser).await;
    assert_eq!(call(&app, &first).await, StatusCode::OK);

    browser.goto(&tokens_url).await;
    fill(&browser, "nom", "Serveur de production B").await;
    browser.click("#renouveler-jeton").await;
    wait_for_url(&browser, "rotated", |url| url.contains("fait=rotate")).await;
    assert!(text_of(&browser, "#fait").await.contains("nouveau jeton est prêt"));
    assert_eq!(browser.find_all("tr.ancien-jeton").await.len(), 1);
    browser.screenshot("portail-03-jeton-renouvele").await;
    let second = shown_token(&browser).await;
    assert_ne!(first, second);
    assert_eq!(call(&app, &second).await, StatusCode::OK, "the new token answers");
    assert_eq!(
        call(&app, &first).await,
        StatusCode::OK,
        "the old one too, during the overlap"
    );

    browser.goto(&tokens_url).await;
    fill(&browser, "par_minute", "3").await;
    browser.click("#restreindre-jeton").await;
    wait_for_url(&browser, "restricted", |url| url.contains("fait=restrict")).await;
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..8 {
            statuses.push(call(&app, &second).await.as_u16());
        }
        statuses
    };
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 5, "{statuses:?}");

    browser.click("#voir-usage").await;
    let start = Instant::now();
    loop {
        if !browser.find_all("#quota-depasse").await.is_empty() {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no quota notice");
        tokio::time::sleep(Duration::from_millis(500)).await;
        browser.goto(&browser.url().await).await;
    }
    assert!(text_of(&browser, "#quota-depasse").await.contains("5 appel(s)"));
    assert_eq!(
        browser.find_all("tr.appel").await.len(),
        9,
        "the first call and the burst"
    );
    browser.screenshot("portail-04-usage-quota-depasse").await;
    browser.close().await;
}
