//! The public stats of each bouquet: real calls through the gateway, rolled up by the
//! site's job, then read back on `/stats`, `/stats.json` and `/stats.csv`.

use std::time::Duration;

use chrono::Utc;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const RSA: &str = "/v3/dss/revenu_solidarite_active/identite";
const PRIME: &str = "/v3/dss/prime_activite/identite";
const SIRENE: &str = "/v3/insee/sirene/unites_legales/775672272";
const SIRENE_ROUTE: &str = "/v3/insee/sirene/unites_legales/{siren}";

async fn stats_json(app: &TestApp, base: &str) -> Value {
    let answer = app.client.get(format!("{base}/stats.json")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["access-control-allow-origin"], "*");
    answer.json().await.unwrap()
}

fn months_total(stats: &Value) -> u64 {
    stats["appels_par_mois"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["appels"].as_u64().unwrap())
        .sum()
}

/// The stats once the rollups have counted `calls` calls (at most 30 s).
async fn stats_counting(app: &TestApp, base: &str, calls: u64) -> Value {
    for _ in 0..120 {
        let stats = stats_json(app, base).await;
        if months_total(&stats) >= calls {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the rollups never counted {calls} calls at {base}");
}

fn route<'a>(stats: &'a Value, path: &str) -> &'a Value {
    let routes = stats["appels_par_point_d_acces"].as_array().unwrap();
    routes
        .iter()
        .find(|r| r["point_d_acces"] == path)
        .unwrap_or(&Value::Null)
}

/// Particulier: RSA 3 answered, 1 refused for a missing scope, 1 without a token;
/// prime d'activité 2 answered, 1 person unknown; one path no route serves.
/// Entreprise: Sirene answered twice.
async fn calls(app: &TestApp) {
    let token = app.all_scopes_token().await;
    for _ in 0..3 {
        assert_eq!(app.get(RSA, &samuel(), Some(&token)).await.status(), 200);
    }
    let scopeless = app.token(&[]).await;
    assert_eq!(app.get(RSA, &samuel(), Some(&scopeless)).await.status(), 403);
    assert_eq!(app.get(RSA, &samuel(), None).await.status(), 401);
    for _ in 0..2 {
        assert_eq!(app.get(PRIME, &samuel(), Some(&token)).await.status(), 200);
    }
    let nobody = synthetic(&unknown_name());
    assert_eq!(app.get(PRIME, &nobody, Some(&token)).await.status(), 404);
    assert_eq!(app.get("/v3/nowhere", &[], Some(&token)).await.status(), 404);

    let (_, entreprise) = app.issue(entreprise_token_request()).await;
    let purpose = [
        ("context", "Statistiques"),
        ("recipient", RECIPIENT),
        ("object", "Essai des statistiques"),
    ];
    for _ in 0..2 {
        let url = format!("{}{SIRENE}", app.entreprise_base);
        let answer = app
            .client
            .get(url)
            .query(&purpose)
            .bearer_auth(&entreprise)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
}

#[tokio::test]
async fn each_endpoint_and_month_shows_exactly_the_calls_made_and_papers_count_successes_only() {
    let app = TestApp::builder()
        .public_site(|c| c.rollup_every_secs = 1)
        .start()
        .await;
    calls(&app).await;

    let stats = stats_counting(&app, &app.base, 8).await;
    assert_eq!(stats["api"], "particulier");
    let papers = &stats["justificatifs_papier_evites"];
    assert_eq!(papers["nombre"], 5, "2xx data calls only: {papers}");
    assert_eq!(papers["au"], Utc::now().format("%Y-%m-%d").to_string());
    let months = stats["appels_par_mois"].as_array().unwrap();
    assert_eq!(months.len(), 12);
    let this_month = Utc::now().format("%Y-%m").to_string();
    assert_eq!(months[11]["mois"], this_month.as_str());
    assert_eq!(
        (months[11]["appels"].as_u64(), months[11]["appels_reussis"].as_u64()),
        (Some(8), Some(5))
    );
    assert_eq!(months_total(&stats), 8, "the unknown path is no data call");

    let rsa = route(&stats, RSA);
    assert_eq!(
        (rsa["appels"].as_u64(), rsa["appels_reussis"].as_u64()),
        (Some(5), Some(3))
    );
    assert_eq!(rsa["appels_reussis_30_jours"], 3);
    assert!(rsa["latence_p50_ms"].as_f64().is_some());
    let prime = route(&stats, PRIME);
    assert_eq!(
        (prime["appels"].as_u64(), prime["appels_reussis"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(stats["appels_par_point_d_acces"].as_array().unwrap().len(), 2);
    let by_month = stats["appels_par_mois_et_point_d_acces"].as_array().unwrap();
    assert_eq!(by_month.len(), 2);
    assert!(by_month.iter().all(|r| r["mois"] == this_month.as_str()));
    assert!(
        !stats.to_string().contains("insee"),
        "API Entreprise's calls never show here"
    );

    // API Entreprise's own figures, named for companies, without API Particulier's calls.
    let theirs = stats_counting(&app, &app.entreprise_base, 2).await;
    assert_eq!(theirs["api"], "entreprise");
    assert_eq!(theirs["justificatifs_papier_evites"]["nombre"], 2);
    let label = theirs["justificatifs_papier_evites"]["libelle"].as_str().unwrap();
    assert!(label.contains("entreprises"), "{label}");
    let sirene = route(&theirs, SIRENE_ROUTE);
    assert_eq!(
        (sirene["appels"].as_u64(), sirene["appels_reussis"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(months_total(&theirs), 2);
    assert!(
        !theirs.to_string().contains("/v3/dss"),
        "API Particulier's calls never show there"
    );
}

#[tokio::test]
async fn the_csv_is_open_data_with_its_documented_columns() {
    let app = TestApp::builder()
        .public_site(|c| c.rollup_every_secs = 1)
        .start()
        .await;
    calls(&app).await;
    stats_counting(&app, &app.base, 8).await;

    let answer = app.client.get(format!("{}/stats.csv", app.base)).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let disposition = answer.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    let body = answer.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "api",
            "mois",
            "point_d_acces",
            "intitule",
            "fournisseur",
            "appels",
            "appels_reussis"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let this_month = Utc::now().format("%Y-%m").to_string();
    let mut seen: Vec<(String, u64, u64)> = rows
        .iter()
        .map(|r| {
            assert_eq!((&r[0], &r[1]), ("particulier", this_month.as_str()));
            (r[2].to_string(), r[5].parse().unwrap(), r[6].parse().unwrap())
        })
        .collect();
    seen.sort();
    assert_eq!(seen, [(PRIME.to_string(), 3, 2), (RSA.to_string(), 5, 3)]);

    let theirs = app
        .client
        .get(format!("{}/stats.csv", app.entreprise_base))
        .send()
        .await
        .unwrap();
    let body = theirs.text().await.unwrap();
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(body.as_bytes())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (&rows[0][0], &rows[0][2], &rows[0][5]),
        ("entreprise", SIRENE_ROUTE, "2")
    );
}

#[tokio::test]
async fn the_page_shows_the_headline_the_months_chart_and_table_and_the_routes() {
    let app = TestApp::builder()
        .public_site(|c| c.rollup_every_secs = 1)
        .start()
        .await;
    calls(&app).await;
    stats_counting(&app, &app.base, 8).await;

    let answer = app.client.get(format!("{}/stats", app.base)).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let csp = answer.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let page = answer.text().await.unwrap();
    assert!(page.contains("<span id=\"justificatifs-nombre\">5</span> justificatifs papier évités"));
    assert!(page.contains("aria-current=\"page\">Statistiques"));
    // The chart is drawn without script, its figures in the table beside it.
    assert!(page.contains("<svg") && !page.contains("<script"));
    assert_eq!(page.matches("<rect ").count(), 24, "two bars a month");
    let month = passerelle_month(Utc::now());
    assert!(
        page.contains(&format!("<th scope=\"row\">{month}</th><td>8</td><td>5</td>")),
        "{page}"
    );
    assert!(page.contains(&format!("<code>{RSA}</code>")));
    assert!(page.contains("href=\"/stats.csv\""));
    // No habilitation here yet: the sections say so.
    assert!(page.contains("0 habilitations en vigueur"));
    assert!(page.contains("Aucune demande décidée depuis le"));

    let theirs = app
        .client
        .get(format!("{}/stats", app.entreprise_base))
        .send()
        .await
        .unwrap();
    let page = theirs.text().await.unwrap();
    assert!(page.contains("<span id=\"justificatifs-nombre\">2</span> justificatifs papier évités aux entreprises"));
    assert!(!page.contains("/v3/dss"));
}

/// `décembre 2026`, as the page names a month.
fn passerelle_month(at: chrono::DateTime<Utc>) -> String {
    use chrono::Datelike;
    const MONTHS: [&str; 12] = [
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ];
    format!("{} {}", MONTHS[at.month0() as usize], at.year())
}

/// The page in a real browser, as the public reads it: the headline figure, the chart
/// drawn without script, the monthly table.
#[tokio::test]
async fn in_a_browser_the_stats_page_shows_the_papers_avoided_and_the_monthly_chart() {
    let Some(browser) = crate::browser::Browser::start().await else {
        return;
    };
    let app = TestApp::builder()
        .public_site(|site| site.rollup_every_secs = 1)
        .start()
        .await;
    calls(&app).await;
    stats_counting(&app, &app.base, 5).await;
    browser.goto(&format!("{}/", app.base)).await;
    browser.click("a[href=\"/stats\"]").await;
    let papers = browser.find("#justificatifs-nombre").await.text().await.unwrap();
    assert_eq!(papers.trim(), "5", "RSA 3 and prime d'activité 2 answered");
    assert_eq!(browser.find_all("#mois tbody tr").await.len(), 12);
    browser.find("svg").await;
    browser.screenshot("stats-01-particulier").await;
    browser.close().await;
}
