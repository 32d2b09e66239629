//! Each bouquet's status page (`/statut`) and its Atom feed: the providers' state from
//! the prober's checks, a provider whose simulator stops, the 90-day bars, the notices
//! written in the store and with `passerelle status`; and the page in a real browser.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Datelike, NaiveDate, SecondsFormat, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use passerelle_bouquet::{MaintenanceWindow, ProviderId};
use passerelle_store::{Check, CheckStatus, NewNotice, NoticeKind, NoticeNote};
use quick_xml::events::Event;
use reqwest::StatusCode;

use crate::binary::cli;
use crate::browser::Browser;
use crate::helpers::*;

/// How long a change may take to show (probes run every second in these tests).
const PATIENCE: Duration = Duration::from_secs(30);

async fn status_page(app: &TestApp, base: &str) -> String {
    let answer = app.client.get(format!("{base}/statut")).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    let csp = answer.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    answer.text().await.unwrap()
}

/// The `data-etat` of the element with `id` on `page`.
fn state<'a>(page: &'a str, id: &str) -> Option<&'a str> {
    let pattern = format!("id=\"{id}\" data-etat=\"");
    let start = page.find(&pattern)? + pattern.len();
    page[start..].split('"').next()
}

/// The page once `ready` holds (at most `PATIENCE`).
async fn wait_for(app: &TestApp, base: &str, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let page = status_page(app, base).await;
        if ready(&page) {
            return page;
        }
        assert!(start.elapsed() < PATIENCE, "{what} not shown in time:\n{page}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The providers `/api/pings` lists.
async fn providers(app: &TestApp, base: &str) -> Vec<String> {
    let (status, list) = json(app.client.get(format!("{base}/api/pings")).send().await.unwrap()).await;
    assert_eq!(status, 200);
    let list = list.as_array().unwrap();
    list.iter().map(|p| p["name"].as_str().unwrap().to_string()).collect()
}

/// The part of `page` about `provider`.
fn provider_block<'a>(page: &'a str, provider: &str) -> &'a str {
    let start = page.find(&format!("id=\"fournisseur-{provider}\"")).unwrap();
    let rest = &page[start..];
    let end = rest[1..]
        .find("class=\"statut-fournisseur ")
        .map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

fn all_up(page: &str, providers: &[String]) -> bool {
    providers
        .iter()
        .all(|p| state(page, &format!("fournisseur-{p}")) == Some("ok"))
}

#[tokio::test]
async fn every_provider_of_each_bouquet_shows_up_after_a_probe() {
    let app = TestApp::builder().public_site(|c| c.probe_every_secs = 1).start().await;
    for (base, count) in [(&app.base, 9), (&app.entreprise_base, 23)] {
        let names = providers(&app, base).await;
        assert_eq!(names.len(), count);
        let page = wait_for(&app, base, "every provider up", |page| all_up(page, &names)).await;
        assert_eq!(state(&page, "etat-general"), Some("tout-va-bien"), "{page}");
        assert!(page.contains("Tous les fournisseurs fonctionnent"));
        assert!(page.contains("Dernière vérification le <time datetime=\""));
        assert!(page.contains("href=\"/api/pings\""));
        for name in &names {
            assert!(
                page.contains(&format!("href=\"/api/{name}/ping\"")),
                "{name}'s ping link"
            );
            // The machine-readable route agrees with the page.
            let ping = app.client.get(format!("{base}/api/{name}/ping")).send().await.unwrap();
            assert_eq!(ping.status(), StatusCode::OK, "{name}");
        }
        assert_eq!(page.matches("class=\"statut-jour ").count(), 90 * count);
        assert!(page.contains("href=\"/statut/flux.atom\""));
        let css = app
            .client
            .get(format!("{base}/statut/statut.css"))
            .send()
            .await
            .unwrap();
        assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    }
}

#[tokio::test]
async fn a_provider_whose_simulator_stops_shows_down_while_the_others_stay_up() {
    let mut app = TestApp::builder()
        .own_dsnj_simulator()
        .public_site(|c| c.probe_every_secs = 1)
        .start()
        .await;
    let names = providers(&app, &app.base).await;
    wait_for(&app, &app.base, "every provider up", |page| all_up(page, &names)).await;

    app.stop_dsnj_simulator();
    let page = wait_for(&app, &app.base, "DSNJ down", |page| {
        state(page, "fournisseur-dsnj") == Some("panne")
    })
    .await;
    let others: Vec<String> = names.into_iter().filter(|n| n != "dsnj").collect();
    assert!(all_up(&page, &others), "the others stay up:\n{page}");
    assert_eq!(state(&page, "etat-general"), Some("degrade"));
    assert!(page.contains("Service dégradé : 1 fournisseur en panne"));
    assert!(page.contains("En panne : DSNJ."));
    let ping = app
        .client
        .get(format!("{}/api/dsnj/ping", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        ping.status() == StatusCode::OK || ping.status() == StatusCode::BAD_GATEWAY,
        "the ping route keeps an ok a minute; the page does not"
    );
    // API Entreprise's providers are not DSNJ's simulator.
    let entreprise = status_page(&app, &app.entreprise_base).await;
    assert_ne!(state(&entreprise, "etat-general"), Some("degrade"));
}

#[tokio::test]
async fn maintenance_windows_and_announced_maintenances_are_not_breakdowns() {
    // SDH closed all day, every day (two windows: one ending at midnight is the
    // wrap-around kind); MEN one evening a week, two days from today in Paris, so that
    // the test never runs inside it (it did on Sundays from 23:00 to 23:45).
    let morning = MaintenanceWindow::daily(ProviderId::new("sdh"), "00:00", "12:00");
    let afternoon = MaintenanceWindow::daily(ProviderId::new("sdh"), "12:00", "00:00");
    let days = [
        ("mon", "lundi"),
        ("tue", "mardi"),
        ("wed", "mercredi"),
        ("thu", "jeudi"),
        ("fri", "vendredi"),
        ("sat", "samedi"),
        ("sun", "dimanche"),
    ];
    let today = Utc::now().with_timezone(&Paris).weekday().num_days_from_monday() as usize;
    let (day, jour) = days[(today + 2) % 7];
    let mut weekly = MaintenanceWindow::daily(ProviderId::new("men"), "23:00", "23:45");
    weekly.weekday = Some(day.into());
    let mut app = TestApp::builder()
        .maintenance(morning)
        .maintenance(afternoon)
        .maintenance(weekly)
        .own_dsnj_simulator()
        .public_site(|c| c.probe_every_secs = 1)
        .start()
        .await;
    // DSNJ stops inside a maintenance its operator announced.
    let now = Utc::now();
    let announced = NewNotice {
        bouquet: "particulier".into(),
        provider: Some("dsnj".into()),
        kind: NoticeKind::Maintenance,
        title: "Migration de la DSNJ".into(),
        starts_at: now - chrono::Duration::minutes(1),
        ends_at: Some(now + chrono::Duration::hours(1)),
        note: NoticeNote {
            at: now,
            text: "Interruption prévue.".into(),
        },
    };
    app.store.open_notice(&announced).await.unwrap();
    app.stop_dsnj_simulator();
    // Probes run side by side: under load MEN's first check may land a probe later.
    let page = wait_for(&app, &app.base, "SDH and DSNJ in maintenance, MEN up", |page| {
        state(page, "fournisseur-sdh") == Some("maintenance")
            && state(page, "fournisseur-dsnj") == Some("maintenance")
            && state(page, "fournisseur-men") == Some("ok")
    })
    .await;
    assert_eq!(state(&page, "etat-general"), Some("maintenance"), "{page}");
    assert!(page.contains("En maintenance : DSNJ, SDH."), "{page}");
    let windows = &page[page.find("id=\"maintenances-programmees\"").unwrap()..];
    assert!(
        windows.contains(&format!(
            "<strong>MEN</strong> (tous ses points d&#39;accès) : Chaque {jour}, de 23:00 à 23:45 (heure de Paris)"
        )),
        "{windows}"
    );
    assert!(windows.contains("En cours</strong> <strong>SDH</strong>"), "{windows}");
    assert!(page.contains("Maintenance n° 1 : Migration de la DSNJ"));
    let sdh = provider_block(&page, "sdh");
    assert!(sdh.contains("statut-jour--maintenance"), "{sdh}");
    assert!(sdh.contains("<strong class=\"statut-disponibilite\">pas de mesure</strong>"));
}

#[tokio::test]
async fn the_prober_stops_with_the_gateway() {
    let app = TestApp::builder().public_site(|c| c.probe_every_secs = 1).start().await;
    let store = app.store.clone();
    let since = Utc::now().with_timezone(&Paris).date_naive() - chrono::Duration::days(1);
    let checks = || async {
        let days = store.check_days("particulier", since).await.unwrap();
        days.iter().map(|d| d.checks).sum::<i64>()
    };
    let start = Instant::now();
    while checks().await < 9 * 2 {
        assert!(start.elapsed() < PATIENCE, "two probes in time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(app);
    let start = Instant::now();
    loop {
        let before = checks().await;
        tokio::time::sleep(Duration::from_millis(2500)).await;
        if checks().await == before {
            break;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "the prober still runs after the gateway stopped"
        );
    }
}

/// `1er mai 2026`, as the page writes a day.
fn french_day(day: NaiveDate) -> String {
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
    let number = match day.day() {
        1 => "1er".to_string(),
        n => n.to_string(),
    };
    format!("{number} {} {}", MONTHS[day.month0() as usize], day.year())
}

#[tokio::test]
async fn the_90_day_bar_shows_each_recorded_day_and_its_share() {
    // No prober: the page shows only the days written here.
    let app = TestApp::builder().public_site(|c| c.probe_every_secs = 0).start().await;
    let today = Utc::now().with_timezone(&Paris).date_naive();
    let record = |days_ago: i64, status: CheckStatus, n: usize| {
        let day = today - chrono::Duration::days(days_ago);
        let noon = Utc.from_utc_datetime(&day.and_hms_opt(11, 0, 0).unwrap());
        let store = app.store.clone();
        async move {
            for i in 0..n {
                let check = Check {
                    bouquet: "particulier".into(),
                    provider: "ants".into(),
                    day,
                    at: noon + chrono::Duration::minutes(i as i64),
                    status,
                };
                store.record_check(&check).await.unwrap();
            }
        }
    };
    record(10, CheckStatus::Ok, 3).await;
    record(10, CheckStatus::Down, 1).await;
    record(20, CheckStatus::Ok, 2).await;
    record(30, CheckStatus::Maintenance, 2).await;
    record(120, CheckStatus::Down, 5).await;

    let page = status_page(&app, &app.base).await;
    let ants = provider_block(&page, "ants");
    let day = |ago: i64| french_day(today - chrono::Duration::days(ago));
    for (ago, class, label) in [
        (10, "panne", format!("{} : 75\u{a0}% de disponibilité", day(10))),
        (20, "ok", format!("{} : 100\u{a0}% de disponibilité", day(20))),
        (30, "maintenance", format!("{} : maintenance", day(30))),
        (11, "aucune", format!("{} : pas de mesure", day(11))),
        (0, "aucune", format!("{} : pas de mesure", day(0))),
    ] {
        let cell = format!("<li class=\"statut-jour statut-jour--{class}\" title=\"{label}\"><span class=\"fr-sr-only\">{label}</span></li>");
        assert!(ants.contains(&cell), "day -{ago}: {cell}\n{ants}");
    }
    assert!(!ants.contains(&day(120)), "older than 90 days");
    assert_eq!(ants.matches("class=\"statut-jour ").count(), 90);
    // 5 checks up, 1 down over the 90 days; maintenance aside.
    assert!(
        ants.contains("<strong class=\"statut-disponibilite\">83,33\u{a0}%</strong>"),
        "{ants}"
    );
    assert_eq!(state(&page, "fournisseur-ants"), Some("sans-mesure"), "10 days old");
    assert_eq!(state(&page, "fournisseur-dss"), Some("sans-mesure"));
    assert!(page.contains("Jamais vérifié."));
    assert_eq!(state(&page, "etat-general"), Some("inconnu"));
}

/// The Atom feed's entries (each as child name → text, `link` its href), after
/// checking that it is well-formed Atom.
fn atom_entries(xml: &str) -> Vec<HashMap<String, String>> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut path: Vec<String> = Vec::new();
    let mut entries: Vec<HashMap<String, String>> = Vec::new();
    let mut feed_children = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if path.is_empty() {
                    assert_eq!(name, "feed");
                    let ns = e.try_get_attribute("xmlns").unwrap().unwrap();
                    assert_eq!(ns.unescape_value().unwrap(), "http://www.w3.org/2005/Atom");
                }
                if path.len() == 1 {
                    feed_children.push(name.clone());
                    if name == "entry" {
                        entries.push(HashMap::new());
                    }
                }
                path.push(name);
            }
            Event::Empty(e) if path.len() == 2 && path[1] == "entry" && e.name().as_ref() == b"link" => {
                let href = e.try_get_attribute("href").unwrap().unwrap();
                let href = href.unescape_value().unwrap().into_owned();
                entries.last_mut().unwrap().insert("link".into(), href);
            }
            Event::Text(t) if path.len() == 3 && path[1] == "entry" => {
                let text = t.unescape().unwrap().into_owned();
                let entry = entries.last_mut().unwrap();
                entry.entry(path[2].clone()).or_default().push_str(&text);
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    for required in ["id", "title", "updated", "author"] {
        assert!(
            feed_children.iter().any(|c| c == required),
            "the feed has its {required}"
        );
    }
    entries
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[tokio::test]
async fn notices_from_the_store_and_the_cli_show_on_the_page_and_in_the_atom_feed() {
    let app = TestApp::builder().public_site(|c| c.probe_every_secs = 1).start().await;
    let now = Utc::now();
    let incident = app
        .store
        .open_notice(&NewNotice {
            bouquet: "particulier".into(),
            provider: Some("dsnj".into()),
            kind: NoticeKind::Incident,
            title: "<b>Lenteurs</b> & erreurs".into(),
            starts_at: now - chrono::Duration::minutes(30),
            ends_at: None,
            note: NoticeNote {
                at: now - chrono::Duration::minutes(30),
                text: "Nous enquêtons <script>alert(1)</script>.".into(),
            },
        })
        .await
        .unwrap();
    let later = NoticeNote {
        at: now - chrono::Duration::minutes(5),
        text: "Le fournisseur a trouvé la cause.\nRetour attendu vers 15 h.".into(),
    };
    assert!(app.store.add_note(incident.number, &later).await.unwrap());

    // An operator announces a maintenance with the binary, on the same store.
    let data = app.state.config.data_dir.to_str().unwrap().to_string();
    let starts = rfc3339(now + chrono::Duration::days(2));
    let ends = rfc3339(now + chrono::Duration::days(2) + chrono::Duration::hours(2));
    let (ok, out) = cli(&[
        "status",
        "open",
        "--bouquet",
        "particulier",
        "--kind",
        "maintenance",
        "--title",
        "Mise à jour de Passerelle",
        "--starts-at",
        &starts,
        "--ends-at",
        &ends,
        "--note",
        "Les appels échoueront pendant deux heures.",
        "--data-dir",
        &data,
    ])
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("notice 2 opened"), "{out}");
    let (ok, out) = cli(&[
        "status",
        "open",
        "--bouquet",
        "particulier",
        "--provider",
        "dss",
        "--kind",
        "incident",
        "--title",
        "Erreurs 502",
        "--note",
        "Constaté.",
        "--data-dir",
        &data,
    ])
    .await;
    assert!(ok, "{out}");
    let (ok, out) = cli(&["status", "note", "3", "Corrigé chez la CNAV.", "--data-dir", &data]).await;
    assert!(ok, "{out}");
    let (ok, out) = cli(&["status", "close", "3", "--note", "Rétabli.", "--data-dir", &data]).await;
    assert!(ok, "{out}");
    let (ok, out) = cli(&["status", "close", "3", "--data-dir", &data]).await;
    assert!(!ok && out.contains("over already"), "{out}");
    let (ok, out) = cli(&[
        "status",
        "open",
        "--bouquet",
        "particulier",
        "--provider",
        "nobody",
        "--kind",
        "incident",
        "--title",
        "x",
        "--note",
        "x",
        "--data-dir",
        &data,
    ])
    .await;
    assert!(!ok && out.contains("no provider of particulier"), "{out}");
    let (ok, listing) = cli(&["status", "list", "--data-dir", &data]).await;
    assert!(ok, "{listing}");
    for line in [
        "#1  incident  particulier/dsnj",
        "#2  maintenance  particulier  from",
        "#3  incident  particulier/dss",
    ] {
        assert!(listing.contains(line), "{line} in\n{listing}");
    }

    let page = status_page(&app, &app.base).await;
    assert_eq!(
        state(&page, "etat-general").map(|s| s == "degrade" || s == "panne"),
        Some(true)
    );
    let current = &page[page.find("id=\"en-cours\"").unwrap()..page.find("id=\"fournisseurs\"").unwrap()];
    assert!(current.contains("id=\"avis-1\""), "{current}");
    assert!(
        current.contains("Incident n° 1 : &#60;b&#62;Lenteurs&#60;/b&#62; &#38; erreurs"),
        "{current}"
    );
    assert!(!page.contains("<script>alert") && !page.contains("<b>Lenteurs"));
    assert!(current.contains("Le fournisseur a trouvé la cause.\nRetour attendu vers 15 h."));
    assert!(current.contains("DSNJ."));
    assert!(current.contains("Maintenance n° 2 : Mise à jour de Passerelle"));
    assert!(current.contains("À venir"));
    assert!(current.contains("API Particulier : tous les fournisseurs."));
    let past = &page[page.find("id=\"historique\"").unwrap()..];
    assert!(
        past.contains("Incident n° 3 : Erreurs 502") && past.contains("Terminé"),
        "{past}"
    );
    assert!(past.contains("Rétabli."));
    // API Entreprise's page shows none of them.
    let entreprise = status_page(&app, &app.entreprise_base).await;
    assert!(!entreprise.contains("Lenteurs") && !entreprise.contains("Erreurs 502"));

    let answer = app
        .client
        .get(format!("{}/statut/flux.atom", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["content-type"], "application/atom+xml; charset=utf-8");
    let xml = answer.text().await.unwrap();
    let entries = atom_entries(&xml);
    assert_eq!(entries.len(), 3, "{xml}");
    let first = app.store.notice(1).await.unwrap().unwrap();
    let entry = entries
        .iter()
        .find(|e| e["id"] == format!("urn:uuid:{}", first.id))
        .expect("notice 1's entry");
    assert_eq!(entry["title"], "Incident n° 1 : <b>Lenteurs</b> & erreurs");
    assert_eq!(entry["updated"], rfc3339(later.at), "its last note");
    assert_eq!(entry["link"], "/statut#avis-1");
    assert!(entry["content"].starts_with(&format!(
        "{} à ",
        french_day(later.at.with_timezone(&Paris).date_naive())
    )));
    assert!(entry["content"].contains("Nous enquêtons <script>alert(1)</script>."));
    let closed = app.store.notice(3).await.unwrap().unwrap();
    let closed_entry = entries
        .iter()
        .find(|e| e["id"] == format!("urn:uuid:{}", closed.id))
        .unwrap();
    assert_eq!(closed_entry["updated"], rfc3339(closed.updated_at()));
    assert!(
        closed_entry["summary"].starts_with("CNAV — du "),
        "{}",
        closed_entry["summary"]
    );
    let entreprise = app
        .client
        .get(format!("{}/statut/flux.atom", app.entreprise_base))
        .send()
        .await
        .unwrap();
    assert!(atom_entries(&entreprise.text().await.unwrap()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_in_a_real_browser_shows_a_provider_down_once_its_simulator_stops() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let mut app = TestApp::builder()
        .own_dsnj_simulator()
        .public_site(|c| c.probe_every_secs = 1)
        .start()
        .await;
    let names = providers(&app, &app.base).await;
    wait_for(&app, &app.base, "every provider up", |page| all_up(page, &names)).await;
    browser.goto(&format!("{}/statut", app.base)).await;
    browser.find("#etat-general[data-etat=\"tout-va-bien\"]").await;
    let badge = browser.find("#fournisseur-dsnj .fr-badge").await;
    // The DSFR shows badges in capitals.
    assert_eq!(badge.text().await.unwrap().to_lowercase(), "opérationnel");
    browser.screenshot("statut-01-tout-va-bien").await;

    app.stop_dsnj_simulator();
    let start = Instant::now();
    while browser
        .find_all("#fournisseur-dsnj[data-etat=\"panne\"]")
        .await
        .is_empty()
    {
        assert!(
            start.elapsed() < PATIENCE,
            "DSNJ never showed down:\n{}",
            browser.source().await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        browser.client().refresh().await.unwrap();
    }
    // The operator says what is known.
    let now = Utc::now();
    let notice = NewNotice {
        bouquet: "particulier".into(),
        provider: Some("dsnj".into()),
        kind: NoticeKind::Incident,
        title: "La DSNJ ne répond plus".into(),
        starts_at: now,
        ends_at: None,
        note: NoticeNote {
            at: now,
            text: "Les appels aux points d'accès de la DSNJ échouent. Nous avons prévenu le fournisseur.".into(),
        },
    };
    app.store.open_notice(&notice).await.unwrap();
    browser.client().refresh().await.unwrap();
    browser.find("#avis-1").await;
    let badge = browser.find("#fournisseur-dsnj .fr-badge").await;
    assert_eq!(badge.text().await.unwrap().to_lowercase(), "en panne");
    let alert = browser.find("#etat-general").await;
    assert!(alert.text().await.unwrap().contains("Service dégradé"));
    browser.screenshot("statut-02-fournisseur-en-panne").await;
    browser.close().await;
}
