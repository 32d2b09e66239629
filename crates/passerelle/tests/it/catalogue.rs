//! What each bouquet says it serves: its `/api/open-api.yml` lists exactly the paths
//! of the real OpenAPI document (API Entreprise's deprecated operations included), and
//! every provider of its catalogue has a ping in `/api/pings` that passes through the
//! simulators.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::helpers::TestApp;

/// The paths of the real documents (`api-particulier-v3.yaml`, `api-entreprise.yaml`).
const PARTICULIER_OFFICIAL: &str = include_str!("../../../particulier/src/official_paths.txt");
const ENTREPRISE_OFFICIAL: &str = include_str!("../../../entreprise/src/official_paths.txt");

async fn get(app: &TestApp, url: String) -> reqwest::Response {
    app.client.get(url).send().await.unwrap()
}

async fn open_api_paths(app: &TestApp, base: &str) -> BTreeSet<String> {
    let text = get(app, format!("{base}/api/open-api.yml")).await.text().await.unwrap();
    let doc: Value = serde_yaml::from_str(&text).unwrap();
    doc["paths"].as_object().unwrap().keys().cloned().collect()
}

fn lines(text: &str) -> BTreeSet<String> {
    text.lines().map(str::to_string).collect()
}

#[tokio::test]
async fn each_bouquets_open_api_lists_the_paths_of_the_real_document() {
    let app = TestApp::start().await;
    assert_eq!(open_api_paths(&app, &app.base).await, lines(PARTICULIER_OFFICIAL));
    let mut entreprise = lines(ENTREPRISE_OFFICIAL);
    // The real document also lists the token's own route.
    entreprise.insert("/privileges".into());
    assert_eq!(entreprise.len(), 52);
    assert_eq!(open_api_paths(&app, &app.entreprise_base).await, entreprise);
}

/// `/api/pings` of `base`: the provider names it lists, each checked at its own URL.
async fn pings(app: &TestApp, base: &str) -> BTreeSet<String> {
    let list: Value = get(app, format!("{base}/api/pings")).await.json().await.unwrap();
    let mut names = BTreeSet::new();
    for entry in list.as_array().unwrap() {
        let name = entry["name"].as_str().unwrap();
        assert_eq!(entry["url"], format!("/api/{name}/ping"));
        let response = get(app, format!("{base}/api/{name}/ping")).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!((status, &body["status"]), (200, &Value::from("ok")), "{name}: {body}");
        names.insert(name.to_string());
    }
    names
}

#[tokio::test]
async fn every_provider_of_each_catalogue_has_a_ping_that_passes() {
    let app = TestApp::start().await;
    let particulier: BTreeSet<String> = passerelle_catalogue::all()
        .iter()
        .map(|e| e.provider.as_str().to_string())
        .collect();
    assert_eq!(pings(&app, &app.base).await, particulier);
    let entreprise: BTreeSet<String> = passerelle_entreprise::OPERATIONS
        .iter()
        .map(|o| o.endpoint.provider.as_str().to_string())
        .collect();
    assert_eq!(entreprise.len(), 23);
    assert_eq!(pings(&app, &app.entreprise_base).await, entreprise);
}
