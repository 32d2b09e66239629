//! Each bouquet's public site at its base URL: the home page links to the catalogue,
//! the status and the stats, in the DSFR served by Passerelle itself.

use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn each_bouquet_has_its_home_page_and_the_design_system_is_served_locally() {
    let app = TestApp::builder().public_site(|_| {}).start().await;
    for (base, title) in [(&app.base, "API Particulier"), (&app.entreprise_base, "API Entreprise")] {
        let home = app.client.get(format!("{base}/")).send().await.unwrap();
        assert_eq!(home.status(), StatusCode::OK);
        let csp = home.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("default-src 'none'") && !csp.contains("http"), "{csp}");
        assert_eq!(home.headers()["x-frame-options"], "DENY");
        let body = home.text().await.unwrap();
        assert!(body.contains(&format!("<h1>{title}</h1>")), "{body}");
        for link in ["/catalogue", "/statut", "/stats", "/bac-a-sable"] {
            assert!(body.contains(&format!("href=\"{link}\"")), "{link} missing");
        }
        assert!(body.contains("href=\"/dsfr/dsfr.min.css\""));
        let css = app
            .client
            .get(format!("{base}/dsfr/dsfr.min.css"))
            .send()
            .await
            .unwrap();
        assert_eq!(css.status(), StatusCode::OK, "run `npm ci --ignore-scripts` in web/");
    }
}

#[tokio::test]
async fn without_the_site_the_root_is_the_contracts_404_and_the_api_is_unchanged() {
    let app = TestApp::builder().start().await;
    let root = app.client.get(format!("{}/", app.base)).send().await.unwrap();
    assert_eq!(root.status(), StatusCode::NOT_FOUND);
    assert!(root.headers()["content-type"].to_str().unwrap().contains("json"));
    let site = TestApp::builder().public_site(|_| {}).start().await;
    let unknown = site
        .client
        .get(format!("{}/v3/nowhere", site.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(unknown.headers()["content-type"].to_str().unwrap().contains("json"));
}

/// Every site at once, as the demo runs them: each keeps its own design-system path,
/// none hides another's routes.
#[tokio::test]
async fn the_public_site_lives_beside_the_citizen_record_and_the_habilitation_site() {
    let app = TestApp::builder()
        .citizen_record()
        .habilitation(|_| {})
        .public_site(|_| {})
        .start()
        .await;
    for path in [
        "/",
        "/catalogue",
        "/dsfr/dsfr.min.css",
        "/mon-historique",
        "/mon-historique/dsfr/dsfr.min.css",
        "/habilitation",
        "/habilitation/dsfr/dsfr.min.css",
    ] {
        let answer = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK, "{path}");
    }
}
