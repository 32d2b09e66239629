//! The portal's alerts over real HTTP: a burst of 429s becomes one e-mail to each of
//! the applicant and the technical contact (SMTP sink) and one signed webhook (a local
//! receiver), never twice; a call from a new address (through a trusted proxy) on a
//! token older than a day alerts, and an opt-out of its e-mail stops the e-mail only;
//! the settings page is its people's, its webhook's URL and secret theirs to read (not
//! an admin's seeing the site as them); a webhook to this machine or a private network
//! is refused unless the configuration allows this machine (tests, demo).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::routing::post;
use passerelle_gateway::ip_guard::IpLimits;
use passerelle_mail::testing::{ReceivedMessage, SmtpSink};
use reqwest::StatusCode;

use crate::habilitation::id_of;
use crate::habilitation::smtp_to;
use crate::habilitation::{log_in, submitted_demande, Agent, Page, CAMILLE, ELISE, KARIM, NADIA, SOPHIE};
use crate::helpers::*;
use crate::portal::capture;

/// Camille's commune, as INSEE Sirene names it in the simulators.
const TOWN: &str = "21349910600010";

/// What the local receiver got: the signature header and the body.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A webhook receiver on 127.0.0.1 that keeps every delivery; its URL.
async fn receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let kept = received.clone();
    let routes = axum::Router::new().route(
        "/alertes",
        post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let signature = headers["passerelle-signature"].to_str().unwrap_or_default().to_string();
                kept.lock().unwrap().push((signature, body.to_vec()));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/alertes", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    (url, received)
}

/// The events received so far, each checked against `secret`.
fn events(received: &Received, secret: &str) -> Vec<serde_json::Value> {
    received
        .lock()
        .unwrap()
        .iter()
        .map(|(signature, body)| {
            let fresh = Duration::from_secs(300);
            assert!(
                passerelle_webhooks::outgoing::verify(signature, body, secret.as_bytes(), chrono::Utc::now(), fresh),
                "signed with the habilitation's secret"
            );
            serde_json::from_slice(body).unwrap()
        })
        .collect()
}

/// The letters whose subject holds `about`, by recipient.
fn letters_about(sink: &SmtpSink, about: &str) -> Vec<String> {
    let mut to: Vec<String> = sink
        .messages()
        .iter()
        .filter(|m: &&ReceivedMessage| m.subject().is_some_and(|s| s.contains(about)))
        .flat_map(|m| m.recipients.clone())
        .map(|r| r.to_lowercase())
        .collect();
    to.sort();
    to
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(30), "{what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Posts the alerts form: the kinds and channels in `on` checked, `webhook` as URL.
async fn save(agent: &mut Agent, demande: &str, on: &[&str], webhook: &str) -> Page {
    let page = agent.get(&format!("{demande}/alertes")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Agent::csrf(&page);
    let mut form = vec![("csrf", csrf.as_str()), ("quoi", "enregistrer"), ("webhook", webhook)];
    form.extend(on.iter().map(|box_name| (*box_name, "oui")));
    agent.post(&format!("{demande}/alertes"), &form).await
}

const EVERY_BOX: [&str; 6] = [
    "mail_spike",
    "webhook_spike",
    "mail_new_address",
    "webhook_new_address",
    "mail_unused",
    "webhook_unused",
];

/// Restricts the main token to `per_minute` calls a minute, from the tokens page.
async fn restrict(agent: &mut Agent, demande: &str, per_minute: &str) {
    let page = agent.get(&format!("{demande}/jetons")).await;
    let csrf = Agent::csrf(&page);
    let version = capture(&page.body, r#"name="version" value="(\d+)""#);
    let fields = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("quoi", "restrict"),
        ("adresses", "127.0.0.0/8"),
        ("par_minute", per_minute),
    ];
    let done = agent.post(&format!("{demande}/jetons"), &fields).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
}

async fn jwt(agent: &mut Agent, demande: &str) -> String {
    let page = agent.get(&format!("{demande}/jeton")).await;
    capture(&page.body, r#"(?s)id="jeton"[^>]*>([^<]+)</textarea>"#)
        .trim()
        .to_string()
}

#[tokio::test]
async fn a_burst_of_refusals_and_a_new_address_alert_once_by_mail_and_signed_webhook() {
    let sink = SmtpSink::start().await;
    let smtp = smtp_to(&sink);
    let (url, received) = receiver().await;
    let app = TestApp::builder()
        .habilitation(move |h| {
            h.smtp = Some(smtp);
            h.dispatch_every_ms = 50;
            h.alerts.every_secs = 1;
            h.alerts.spike_min_calls = 5;
            // The receiver listens on this machine.
            h.alerts.allow_loopback_webhooks = true;
        })
        .public_site(|site| site.rollup_every_secs = 1)
        // Calls reach the gateway through a proxy on 127.0.0.1 that names the client.
        .ip_limits(IpLimits::default(), &["127.0.0.1"])
        .start()
        .await;
    let (mut camille, demande) = crate::portal::approved(&app).await;
    let saved = save(&mut camille, &demande, &EVERY_BOX, &url).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = camille.get(&format!("{demande}/alertes")).await.body;
    let secret = capture(&page, r#"id="secret">([0-9a-f]{64})<"#);

    // A burst over a limit of one call a minute: 7 refusals (429).
    restrict(&mut camille, &demande, "1").await;
    let token = jwt(&mut camille, &demande).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let answer = app
            .get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&token))
            .await;
        statuses.push(answer.status().as_u16());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 7, "{statuses:?}");

    let spike = "Pic d'appels refusés";
    until("the spike's letters", || letters_about(&sink, spike).len() >= 2).await;
    until("the spike's webhook", || !received.lock().unwrap().is_empty()).await;
    // Several runs of the job later: still one of each.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(letters_about(&sink, spike), [CAMILLE, KARIM], "once, to each");
    let hooks = events(&received, &secret);
    assert_eq!(hooks.len(), 1, "{hooks:?}");
    assert_eq!(hooks[0]["event"], "alert.spike");
    assert_eq!(hooks[0]["data"]["found"]["throttled"], 7);
    // The outbox names the demande, never the receiver's URL nor its secret.
    for item in app.store.outbox("webhook", 10).await.unwrap() {
        assert!(
            !item.body.contains(&secret) && !item.body.contains(&url),
            "{}",
            item.body
        );
    }
    let letter = sink
        .messages()
        .into_iter()
        .find(|m| m.subject().is_some_and(|s| s.contains(spike)))
        .unwrap()
        .text()
        .unwrap();
    assert!(letter.contains(&format!("{demande}/alertes")), "{letter}");

    // The e-mail of new addresses turned off; its webhook stays.
    let off: Vec<&str> = EVERY_BOX.into_iter().filter(|b| *b != "mail_new_address").collect();
    let saved = save(&mut camille, &demande, &off, &url).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let page = camille.get(&format!("{demande}/alertes")).await.body;
    assert!(
        !page.contains(r#"name="mail_new_address" value="oui" checked"#)
            && page.contains(r#"name="webhook_new_address" value="oui" checked"#),
        "{page}"
    );

    // A token issued days ago, which has called from 127.0.0.1 since then…
    let tokens = camille.get(&format!("{demande}/jetons")).await.body;
    let jti: uuid::Uuid = capture(&tokens, r#"data-jeton="([0-9a-f-]+)""#).parse().unwrap();
    let days_ago = chrono::Utc::now() - chrono::Duration::days(3);
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.state.config.database_url())
        .await
        .unwrap();
    sqlx::query("UPDATE tokens SET issued_at = ? WHERE jti = ?")
        .bind(days_ago.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .bind(jti.to_string())
        .execute(&mut db)
        .await
        .unwrap();
    let known = passerelle_store::TokenAddress {
        jti,
        address: "127.0.0.1".into(),
        first_seen: days_ago,
        last_seen: days_ago,
        calls: 1,
    };
    app.store.record_addresses(&[known]).await.unwrap();
    // … calls from 127.0.0.9 for the first time.
    app.get_raw(
        "/v3/dss/quotient_familial/identite",
        &with_recipient(&pairs(AXELLE)),
        Some(&token),
        &[("x-forwarded-for", "127.0.0.9")],
    )
    .await;
    until("the new address's webhook", || received.lock().unwrap().len() >= 2).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let hooks = events(&received, &secret);
    assert_eq!(hooks.len(), 2, "{hooks:?}");
    assert_eq!(hooks[1]["event"], "alert.new_address");
    assert_eq!(hooks[1]["data"]["found"]["address"], "127.0.0.9");
    assert!(
        letters_about(&sink, "nouvelle adresse").is_empty(),
        "its e-mail was turned off"
    );

    // The tokens page shows the addresses used; the settings page the alerts.
    let tokens = camille.get(&format!("{demande}/jetons")).await.body;
    assert!(
        tokens.contains("<td>127.0.0.9</td>") && tokens.contains("<td>127.0.0.1</td>"),
        "{tokens}"
    );
    let page = camille.get(&format!("{demande}/alertes")).await.body;
    assert_eq!(page.matches("class=\"alerte\"").count(), 2, "{page}");
    assert!(page.contains("premier appel depuis 127.0.0.9"), "{page}");
}

#[tokio::test]
async fn the_settings_are_their_holders_to_change_others_of_the_demande_read_and_outsiders_see_nothing() {
    // As in production (the simulated configuration allows this machine).
    let app = TestApp::builder()
        .habilitation(|h| h.alerts.allow_loopback_webhooks = false)
        .start()
        .await;
    let (mut camille, demande) = crate::portal::approved(&app).await;
    let page = camille.get(&format!("{demande}/alertes")).await;
    assert_eq!(page.status, StatusCode::OK);
    for bad in [
        "http://hooks.example/alertes",
        "pas une adresse",
        "https://u:p@hooks.example/",
        // This machine and private networks.
        "http://127.0.0.1:8099/alertes",
        "https://127.0.0.1/alertes",
        "https://10.0.0.7/alertes",
        "https://169.254.169.254/latest/meta-data",
        "https://localhost/alertes",
    ] {
        let refused = save(&mut camille, &demande, &EVERY_BOX, bad).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{bad}: {}", refused.body);
    }
    let saved = save(&mut camille, &demande, &[], "https://hooks.example/alertes").await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);

    // Another organisation's agent: nothing, neither read nor written.
    let (mut sophie, _) = log_in(&app, SOPHIE).await;
    let theirs = sophie.get(&format!("{demande}/alertes")).await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{}", theirs.body);
    assert!(!theirs.body.contains("hooks.example"));
    let csrf = Agent::csrf(&page);
    let forged = sophie
        .post(
            &format!("{demande}/alertes"),
            &[
                ("csrf", &csrf),
                ("quoi", "enregistrer"),
                ("webhook", "https://evil.example/"),
            ],
        )
        .await;
    assert!(
        forged.status == StatusCode::NOT_FOUND || forged.status == StatusCode::FORBIDDEN,
        "{}",
        forged.status
    );

    // The instructor reads, without the secret nor the URL, and changes nothing.
    let (mut nadia, _) = log_in(&app, NADIA).await;
    let hers = nadia.get(&format!("{demande}/alertes")).await;
    assert_eq!(hers.status, StatusCode::OK);
    assert!(
        hers.body.contains("id=\"lecture-seule\"")
            && !hers.body.contains("id=\"secret\"")
            && !hers.body.contains("hooks.example")
            && hers.body.contains("Une adresse est configurée"),
        "{}",
        hers.body
    );
    let refused = save(&mut nadia, &demande, &EVERY_BOX, "").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // The technical contact changes them.
    let (mut karim, _) = log_in(&app, KARIM).await;
    let changed = save(&mut karim, &demande, &EVERY_BOX, "").await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    let settings = app.store.alert_settings(id_of(&demande)).await.unwrap().unwrap();
    assert!(
        settings.opt_outs.is_empty() && settings.webhook_url.is_none(),
        "{settings:?}"
    );
    assert_eq!(settings.updated_by, KARIM);

    // A demande not approved yet has no token, and so no alerts.
    let (_, draft) = submitted_demande(&app).await;
    let none = camille.get(&format!("{draft}/alertes")).await;
    assert_eq!(none.status, StatusCode::BAD_REQUEST, "{}", none.body);
}

/// An admin seeing the site as the applicant reads neither the webhook's secret nor
/// its URL (which may hold a secret of its own), as no token.
#[tokio::test]
async fn an_admin_seeing_the_site_as_the_applicant_reads_no_webhook_secret_nor_url() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = crate::portal::approved(&app).await;
    let saved = save(
        &mut camille,
        &demande,
        &EVERY_BOX,
        "https://hooks.example/alertes?cle=xyz",
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let hers = camille.get(&format!("{demande}/alertes")).await.body;
    let secret = capture(&hers, r#"id="secret">([0-9a-f]{64})<"#);
    assert!(hers.contains("hooks.example/alertes?cle=xyz"), "{hers}");

    let (mut elise, _) = log_in(&app, ELISE).await;
    let org = elise.get(&format!("/habilitation/admin/organisations/{TOWN}")).await;
    let csrf = Agent::csrf(&org);
    let started = elise
        .post(
            "/habilitation/admin/imitation",
            &[("csrf", &csrf), ("email", CAMILLE), ("siret", TOWN)],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let seen = elise.get(&format!("{demande}/alertes")).await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.body);
    assert!(seen.body.contains("Vous voyez le site comme"), "{}", seen.body);
    assert!(
        !seen.body.contains(&secret)
            && !seen.body.contains("id=\"secret\"")
            && !seen.body.contains("cle=xyz")
            && seen.body.contains("Une adresse est configurée"),
        "{}",
        seen.body
    );
}

#[tokio::test]
async fn a_token_unused_for_60_days_alerts_once_by_mail_until_it_serves_again() {
    let sink = SmtpSink::start().await;
    let smtp = smtp_to(&sink);
    let app = TestApp::builder()
        .habilitation(move |h| {
            h.smtp = Some(smtp);
            h.dispatch_every_ms = 50;
            h.alerts.every_secs = 1;
        })
        .public_site(|site| site.rollup_every_secs = 1)
        .start()
        .await;
    let (mut camille, demande) = crate::portal::approved(&app).await;
    let tokens = camille.get(&format!("{demande}/jetons")).await.body;
    let jti: uuid::Uuid = capture(&tokens, r#"data-jeton="([0-9a-f-]+)""#).parse().unwrap();
    let subject = "Votre jeton ne sert plus";
    // A fresh token, never used: no alert.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(letters_about(&sink, subject).is_empty());

    // Issued 61 days ago, and no call since.
    let long_ago = chrono::Utc::now() - chrono::Duration::days(61);
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(&app.state.config.database_url())
        .await
        .unwrap();
    sqlx::query("UPDATE tokens SET issued_at = ? WHERE jti = ?")
        .bind(long_ago.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        .bind(jti.to_string())
        .execute(&mut db)
        .await
        .unwrap();
    until("the unused token's letters", || {
        letters_about(&sink, subject).len() >= 2
    })
    .await;
    // Several runs of the job later: still once to each.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(letters_about(&sink, subject), [CAMILLE, KARIM]);
    let page = camille.get(&format!("{demande}/alertes")).await.body;
    assert!(page.contains("aucun appel depuis 60 jours"), "{page}");
}
