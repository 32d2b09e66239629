//! The portal over real HTTP: a habilitation's holders rotate its token (both answer
//! during the overlap, the old one stops when retired), restrict it within what the
//! instructor allowed, and read its usage from the journal's rollups: the 429s of a
//! burst as "quota dépassé", the last calls with their request ids, a CSV export.

use std::time::{Duration, Instant};

use regex::Regex;
use reqwest::StatusCode;

use crate::habilitation::{act, log_in, submitted_demande, Agent, Page, NADIA, SOPHIE};
use crate::helpers::*;

/// Camille's demande approved by Nadia (600 calls a minute, from 127.0.0.0/8); Camille
/// logged in, and the demande's address.
pub(crate) async fn approved(app: &TestApp) -> (Agent, String) {
    let (camille, demande) = submitted_demande(app).await;
    let (mut nadia, _) = log_in(app, NADIA).await;
    let approved = act(
        &mut nadia,
        &demande,
        "approve",
        &[("rate_limit", "600"), ("allowed_ips", "127.0.0.0/8")],
    )
    .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    (camille, demande)
}

pub(crate) fn capture(text: &str, pattern: &str) -> String {
    Regex::new(pattern)
        .unwrap()
        .captures(text)
        .unwrap_or_else(|| panic!("{pattern} not in {text}"))[1]
        .to_string()
}

pub(crate) async fn jwt(agent: &mut Agent, demande: &str) -> String {
    let page = agent.get(&format!("{demande}/jeton")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    capture(&page.body, r#"(?s)id="jeton"[^>]*>([^<]+)</textarea>"#)
        .trim()
        .to_string()
}

/// Posts one of the tokens page's forms, with the page's CSRF token and version.
async fn manage(agent: &mut Agent, demande: &str, fields: &[(&str, &str)]) -> Page {
    let page = agent.get(&format!("{demande}/jetons")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Agent::csrf(&page);
    let version = capture(&page.body, r#"name="version" value="(\d+)""#);
    let mut form = vec![("csrf", csrf.as_str()), ("version", version.as_str())];
    form.extend_from_slice(fields);
    agent.post(&format!("{demande}/jetons"), &form).await
}

pub(crate) async fn status_of(app: &TestApp, jwt: &str) -> StatusCode {
    app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(jwt))
        .await
        .status()
}

/// Waits (at most 5 s, a token cache's life and more) for `jwt` to answer `wanted`.
async fn until_status(app: &TestApp, jwt: &str, wanted: StatusCode) {
    let start = Instant::now();
    loop {
        let status = status_of(app, jwt).await;
        if status == wanted {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "still {status}, not {wanted}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_rotation_overlaps_then_the_old_token_is_retired_and_restrictions_stay_within_the_habilitation() {
    let app = TestApp::builder()
        .habilitation(|_| {})
        .public_site(|site| site.rollup_every_secs = 1)
        .start()
        .await;
    let (mut camille, demande) = approved(&app).await;
    let first = jwt(&mut camille, &demande).await;
    assert_eq!(status_of(&app, &first).await, StatusCode::OK);
    let tokens = camille.get(&format!("{demande}/jetons")).await;
    assert!(
        tokens
            .body
            .contains("au plus 600 appels par minute ; adresses : 127.0.0.0/8"),
        "{}",
        tokens.body
    );

    let rotated = manage(
        &mut camille,
        &demande,
        &[("quoi", "rotate"), ("chevauchement", "7"), ("nom", "Serveur B")],
    )
    .await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.body);
    let second = jwt(&mut camille, &demande).await;
    assert_ne!(first, second);
    assert_eq!(status_of(&app, &second).await, StatusCode::OK);
    assert_eq!(
        status_of(&app, &first).await,
        StatusCode::OK,
        "the old token answers during the overlap"
    );
    let page = camille.get(&format!("{demande}/jetons")).await.body;
    assert!(
        page.contains("Serveur B") && page.contains("remplacé, répond encore"),
        "{page}"
    );
    let history = camille.get(&demande).await.body;
    assert!(history.contains("Jetons gérés"), "{history}");

    let old = capture(&page, r#"class="ancien-jeton" data-jeton="([0-9a-f-]+)""#);
    let retired = manage(&mut camille, &demande, &[("quoi", "retire"), ("jeton", &old)]).await;
    assert_eq!(retired.status, StatusCode::SEE_OTHER, "{}", retired.body);
    until_status(&app, &first, StatusCode::UNAUTHORIZED).await;
    assert_eq!(status_of(&app, &second).await, StatusCode::OK);

    // Within the instructor's ceiling only.
    for (addresses, per_minute) in [("10.0.0.0/8", "60"), ("127.0.0.1", "601"), ("pas une adresse", "")] {
        let refused = manage(
            &mut camille,
            &demande,
            &[
                ("quoi", "restrict"),
                ("adresses", addresses),
                ("par_minute", per_minute),
            ],
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{addresses} {per_minute}");
    }
    let restricted = manage(
        &mut camille,
        &demande,
        &[("quoi", "restrict"), ("adresses", "127.0.0.2/32"), ("par_minute", "60")],
    )
    .await;
    assert_eq!(restricted.status, StatusCode::SEE_OTHER, "{}", restricted.body);
    // Calls come from 127.0.0.1: now outside the token's own list.
    until_status(&app, &second, StatusCode::FORBIDDEN).await;
    let reopened = manage(
        &mut camille,
        &demande,
        &[("quoi", "restrict"), ("adresses", "127.0.0.1"), ("par_minute", "")],
    )
    .await;
    assert_eq!(reopened.status, StatusCode::SEE_OTHER, "{}", reopened.body);
    until_status(&app, &second, StatusCode::OK).await;
}

#[tokio::test]
async fn no_one_outside_the_habilitation_sees_or_changes_its_tokens_and_pages_are_never_cached() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved(&app).await;
    let (mut sophie, _) = log_in(&app, SOPHIE).await;
    for path in ["jetons", "usage", "usage.csv", "jeton"] {
        let page = sophie.get(&format!("{demande}/{path}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
    }
    let mine = sophie.get("/habilitation/habilitations").await;
    assert!(
        !mine.body.contains(&demande.rsplit('/').next().unwrap().to_string()),
        "{}",
        mine.body
    );
    let page = camille.get(&format!("{demande}/jetons")).await;
    let csrf = Agent::csrf(&page);
    let version = capture(&page.body, r#"name="version" value="(\d+)""#);
    let forged = sophie
        .post(
            &format!("{demande}/jetons"),
            &[("csrf", &csrf), ("version", &version), ("quoi", "rotate")],
        )
        .await;
    assert_ne!(forged.status, StatusCode::SEE_OTHER, "{}", forged.body);
    // Nadia instructs it but is no holder: she reads, she does not rotate.
    let (mut nadia, _) = log_in(&app, NADIA).await;
    let hers = nadia.get(&format!("{demande}/jetons")).await;
    assert_eq!(hers.status, StatusCode::OK);
    assert!(
        !hers.body.contains("id=\"renouveler\"") && !hers.body.contains("/jeton\""),
        "{}",
        hers.body
    );
    let fields = [
        ("csrf", Agent::csrf(&hers)),
        ("version", version.clone()),
        ("quoi", "rotate".to_string()),
        ("chevauchement", "0".to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = nadia.post(&format!("{demande}/jetons"), &fields).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    let answer = app
        .client
        .get(format!("{}{demande}/jetons", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let list = camille.get("/habilitation/habilitations").await;
    assert!(list.body.contains("class=\"habilitation\""), "{}", list.body);
}

#[tokio::test]
async fn a_burst_over_the_limit_shows_quota_exceeded_with_the_last_calls_and_a_csv() {
    let app = TestApp::builder()
        .habilitation(|_| {})
        .public_site(|site| site.rollup_every_secs = 1)
        .start()
        .await;
    let (mut camille, demande) = approved(&app).await;
    let restricted = manage(
        &mut camille,
        &demande,
        &[("quoi", "restrict"), ("adresses", "127.0.0.0/8"), ("par_minute", "3")],
    )
    .await;
    assert_eq!(restricted.status, StatusCode::SEE_OTHER, "{}", restricted.body);
    let token = jwt(&mut camille, &demande).await;
    let mut ids = Vec::new();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let answer = app
            .get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&token))
            .await;
        statuses.push(answer.status().as_u16());
        ids.push(answer.headers()["x-request-id"].to_str().unwrap().to_string());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 5, "{statuses:?}");

    let start = Instant::now();
    let page = loop {
        let page = camille.get(&format!("{demande}/usage")).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        if page.body.contains("id=\"quota-depasse\"") {
            break page;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no notice: {}", page.body);
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert!(page.body.contains("5 appel(s)"), "{}", page.body);
    let total = capture(&page.body, r#"(?s)<tr id="total">(.*?)</tr>"#);
    assert!(
        total.contains("<td>8</td><td>3</td><td>5</td><td>0</td><td>5</td><td>0</td>"),
        "{total}"
    );
    for id in &ids {
        assert!(page.body.contains(id.as_str()), "request {id} among the last calls");
    }
    assert!(
        !page.body.contains("AXELLE") && !page.body.contains("axelle"),
        "no personal data"
    );

    // Calls refused for an address the token does not allow are its holders' to see.
    let moved = manage(
        &mut camille,
        &demande,
        &[("quoi", "restrict"), ("adresses", "127.0.0.2"), ("par_minute", "3")],
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    for _ in 0..2 {
        let refused = app
            .get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(&token))
            .await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    let start = Instant::now();
    loop {
        let page = camille.get(&format!("{demande}/usage")).await;
        if page.body.contains("2 appel(s) refusés (401 ou 403)") {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "refusals not shown: {}",
            page.body
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let csv = camille.get(&format!("{demande}/usage.csv?periode=30j")).await;
    assert_eq!(csv.status, StatusCode::OK);
    let mut reader = csv::Reader::from_reader(csv.body.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{}", csv.body);
    assert_eq!(
        (&rows[0][2], &rows[0][3], &rows[0][6], &rows[0][7]),
        ("10", "3", "5", "2")
    );
}

/// The applicant sends the token as a one-time link: the letter carries it, the first
/// opening shows the token, the second nothing; no one else may send one.
#[tokio::test]
async fn the_applicant_sends_the_token_as_a_one_time_link_valid_once() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved(&app).await;
    let token = jwt(&mut camille, &demande).await;
    let refused = manage(
        &mut camille,
        &demande,
        &[("quoi", "transmit"), ("destinataire", "pas-une-adresse")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
    let sent = manage(
        &mut camille,
        &demande,
        &[("quoi", "transmit"), ("destinataire", "Dev@Editeur.example")],
    )
    .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);

    let letters = app.store.outbox("mail", 100).await.unwrap();
    let letter = letters
        .iter()
        .map(|item| serde_json::from_str::<serde_json::Value>(&item.body).unwrap())
        .find(|l| l["to"][0]["email"] == "dev@editeur.example")
        .expect("a letter to the developer");
    let text = letter["text"].as_str().unwrap();
    assert!(!text.contains(&token), "the letter never carries the token itself");
    let link = capture(text, r"(http://\S+/habilitation/lien/[0-9a-f]{32})");
    let client = reqwest::Client::new();
    // A mail filter that follows the link uses nothing up.
    for _ in 0..2 {
        let scanned = client.get(&link).send().await.unwrap();
        assert_eq!(scanned.status(), StatusCode::OK);
        assert!(scanned.text().await.unwrap().contains("id=\"afficher\""));
    }
    let first = client.post(&link).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(first.headers()["cache-control"], "no-store");
    let page = first.text().await.unwrap();
    let shown = capture(&page, r#"(?s)id="jeton"[^>]*>([^<]+)</textarea>"#);
    assert_eq!(shown.trim(), token);
    let again = client.post(&link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::GONE, "a one-time link");
    let made_up = client
        .post(format!("{}/habilitation/lien/{}", app.base, "0".repeat(32)))
        .send()
        .await
        .unwrap();
    assert_eq!(made_up.status(), StatusCode::GONE);

    // The technical contact sees the token but does not send it.
    let (mut karim, _) = log_in(&app, crate::habilitation::KARIM).await;
    let page = karim.get(&format!("{demande}/jetons")).await;
    let csrf = Agent::csrf(&page);
    let version = capture(&page.body, r#"name="version" value="(\d+)""#);
    let forbidden = karim
        .post(
            &format!("{demande}/jetons"),
            &[
                ("csrf", &csrf),
                ("version", &version),
                ("quoi", "transmit"),
                ("destinataire", "x@editeur.example"),
            ],
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN, "{}", forbidden.body);
}

/// Revoking a habilitation stops every token it holds, the one a rotation replaced too.
#[tokio::test]
async fn a_revocation_stops_the_token_a_rotation_replaced_too() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved(&app).await;
    let first = jwt(&mut camille, &demande).await;
    let rotated = manage(&mut camille, &demande, &[("quoi", "rotate"), ("chevauchement", "30")]).await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.body);
    let second = jwt(&mut camille, &demande).await;
    let again = manage(&mut camille, &demande, &[("quoi", "rotate"), ("chevauchement", "30")]).await;
    assert_eq!(
        again.status,
        StatusCode::BAD_REQUEST,
        "one overlap at a time: {}",
        again.body
    );
    let (mut nadia, _) = log_in(&app, NADIA).await;
    let revoked = act(&mut nadia, &demande, "revoke", &[("reason", "Fin du marché")]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    until_status(&app, &second, StatusCode::UNAUTHORIZED).await;
    until_status(&app, &first, StatusCode::UNAUTHORIZED).await;
}

/// In the token's last 90 days the applicant prolongs it at once when nothing changed:
/// 18 months added to its end; a changed purpose sends to an update instead.
#[tokio::test]
async fn the_applicant_prolongs_a_token_near_its_end_by_eighteen_months_added() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved(&app).await;
    let token = jwt(&mut camille, &demande).await;
    let page = camille.get(&format!("{demande}/jetons")).await.body;
    assert!(!page.contains("id=\"prolonger\""), "not offered 18 months ahead");
    let jti: uuid::Uuid = capture(&page, r#"data-jeton="([0-9a-f-]+)""#).parse().unwrap();
    let near_end = chrono::Utc::now() + chrono::Duration::days(30);
    assert!(app.store.set_token_expiry(jti, near_end).await.unwrap());
    let ending = app.store.token(jti).await.unwrap().unwrap().expires_at;

    let page = camille.get(&format!("{demande}/jetons")).await.body;
    assert!(page.contains("id=\"prolonger\""), "{page}");
    let wizard = camille.get(&format!("{demande}/prolonger")).await;
    let csrf = Agent::csrf(&wizard);
    let version = capture(&wizard.body, r#"name="version" value="(\d+)""#);
    let answer = |purpose: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("version", version.clone()),
            ("responsable", "oui".to_string()),
            ("meme_objet", purpose.to_string()),
            ("memes_contacts", "oui".to_string()),
        ]
    };
    let changed = answer("non");
    let changed: Vec<(&str, &str)> = changed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = camille.post(&format!("{demande}/prolonger"), &changed).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("Mettez à jour la demande"), "{}", refused.body);
    assert_eq!(app.store.token(jti).await.unwrap().unwrap().expires_at, ending);

    let same = answer("oui");
    let same: Vec<(&str, &str)> = same.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = camille.post(&format!("{demande}/prolonger"), &same).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let prolonged = app.store.token(jti).await.unwrap().unwrap().expires_at;
    assert_eq!(
        prolonged,
        ending + chrono::Duration::days(548),
        "added to its end, not from today"
    );
    assert_eq!(
        status_of(&app, &token).await,
        StatusCode::OK,
        "the same string still answers"
    );

    // The technical contact reminds; the applicant prolongs.
    let (mut karim, _) = log_in(&app, crate::habilitation::KARIM).await;
    let theirs = karim.get(&format!("{demande}/prolonger")).await;
    assert!(theirs.body.contains("id=\"pas-de-prolongation\""), "{}", theirs.body);
}
