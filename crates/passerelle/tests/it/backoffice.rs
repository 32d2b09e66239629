//! The operators' back-office over real HTTP: only admins reach it; organisations are
//! found and shown with their members, demandes and tokens (never a token string); a
//! ban stops a token at the gateway now or at its date, a replacement answers without
//! the ban, a created token answers; the letters reach the applicant and the technical
//! contact; an admin sees the site as an agent, read-only, tokens masked, journaled.

use std::time::{Duration, Instant};

use chrono::Utc;
use chrono_tz::Europe::Paris;
use reqwest::StatusCode;
use uuid::Uuid;

use crate::habilitation::id_of;
use crate::habilitation::smtp_to;
use crate::habilitation::{log_in, Agent, Page, CAMILLE, ELISE, KARIM, NADIA};
use crate::helpers::*;
use crate::portal::approved;
use crate::portal::capture;
use crate::portal::jwt;
use crate::portal::status_of;

/// Camille's commune, as INSEE Sirene names it in the simulators.
const TOWN: &str = "21349910600010";

/// Waits (at most `secs`) for `jwt` to answer `wanted` at the gateway.
async fn until_status(app: &TestApp, jwt: &str, wanted: StatusCode, secs: u64) {
    let start = Instant::now();
    loop {
        let status = status_of(app, jwt).await;
        if status == wanted {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "still {status}, not {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Posts a token action from the organisation's page, with its CSRF token and the
/// demande's version as the page shows them.
async fn token_action(elise: &mut Agent, demande: &str, fields: &[(&str, &str)]) -> Page {
    let page = elise.get(&format!("/habilitation/admin/organisations/{TOWN}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let id = id_of(demande);
    let section = capture(&page.body, &format!(r#"(?s)data-demande="{id}">(.*?)</section>"#));
    let version = capture(&section, r#"name="version" value="(\d+)""#);
    let csrf = Agent::csrf(&page);
    let mut form = vec![("csrf", csrf.as_str()), ("version", version.as_str())];
    form.extend_from_slice(fields);
    elise
        .post(&format!("/habilitation/admin/demandes/{id}/jetons"), &form)
        .await
}

async fn token_of(app: &TestApp, demande: &str) -> passerelle_store::TokenRecord {
    let record = app.store.demande(id_of(demande)).await.unwrap().unwrap();
    let body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
    let jti: Uuid = body["token"].as_str().unwrap().parse().unwrap();
    app.store.token(jti).await.unwrap().unwrap()
}

/// Waits (at most 10 s) until a message whose subject holds `subject` reached each
/// of `people`; returns those messages.
async fn letters_about(
    sink: &passerelle_mail::testing::SmtpSink,
    subject: &str,
    people: &[&str],
) -> Vec<passerelle_mail::testing::ReceivedMessage> {
    let start = Instant::now();
    loop {
        let found: Vec<_> = sink
            .messages()
            .into_iter()
            .filter(|m| m.subject().is_some_and(|s| s.contains(subject)))
            .collect();
        let reached = |p: &&str| {
            found
                .iter()
                .any(|m| m.recipients.iter().any(|r| r.eq_ignore_ascii_case(p)))
        };
        if people.iter().all(reached) {
            return found;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no « {subject} » to all of {people:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn with_mail() -> (TestApp, passerelle_mail::testing::SmtpSink) {
    let sink = passerelle_mail::testing::SmtpSink::start().await;
    let smtp = smtp_to(&sink);
    let app = TestApp::builder()
        .habilitation(move |h| {
            h.smtp = Some(smtp);
            h.dispatch_every_ms = 50;
        })
        .start()
        .await;
    (app, sink)
}

#[tokio::test]
async fn only_admins_reach_the_back_office() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved(&app).await;
    let id = id_of(&demande);
    let (mut nadia, _) = log_in(&app, NADIA).await;
    let pages = [
        "/habilitation/admin".to_string(),
        "/habilitation/admin/organisations?q=sainte".to_string(),
        format!("/habilitation/admin/organisations/{TOWN}"),
        "/habilitation/admin/journal".to_string(),
    ];
    for agent in [&mut camille, &mut nadia] {
        let home = agent.get("/habilitation/habilitations").await;
        let csrf = Agent::csrf(&home);
        for path in &pages {
            let page = agent.get(path).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
            assert!(!page.body.contains(KARIM), "{path}: {}", page.body);
        }
        let ban = [
            ("csrf", csrf.as_str()),
            ("version", "3"),
            ("quoi", "ban"),
            ("motif", "x"),
        ];
        let refused = agent
            .post(&format!("/habilitation/admin/demandes/{id}/jetons"), &ban)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        let impersonate = [("csrf", csrf.as_str()), ("email", KARIM), ("siret", TOWN)];
        let refused = agent.post("/habilitation/admin/imitation", &impersonate).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    }
    let (mut elise, _) = log_in(&app, ELISE).await;
    for path in &pages {
        let page = elise.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
    }
    let home = elise.get("/habilitation/admin").await.body;
    for link in [
        "/admin/organisations",
        "/admin/courriels",
        "/admin/audit",
        "/admin/fournisseurs",
        "/admin/journal",
    ] {
        assert!(home.contains(link), "{link}: {home}");
    }
    let unknown = elise.get("/habilitation/admin/organisations/00000000000000").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn organisations_are_found_and_shown_with_members_demandes_and_tokens_never_their_strings() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved(&app).await;
    let token = jwt(&mut camille, &demande).await;
    let (mut elise, _) = log_in(&app, ELISE).await;
    let page = elise.get(&format!("/habilitation/admin/organisations/{TOWN}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let number = capture(&page.body, r#">n° (\d+) — Cantine de Sainte-Colombe<"#);
    for q in [TOWN, "2134 9910", "sainte-colombe", "KARIM.BENALI", number.as_str()] {
        let found = elise
            .get(&format!("/habilitation/admin/organisations?q={}", urlencode(q)))
            .await;
        assert!(
            found.body.contains(&format!("data-siret=\"{TOWN}\"")),
            "{q}: {}",
            found.body
        );
    }
    let none = elise
        .get("/habilitation/admin/organisations?q=personne%40nulle-part.example")
        .await;
    assert!(!none.body.contains("data-siret="), "{}", none.body);

    let body = page.body;
    for shown in [
        CAMILLE,
        KARIM,
        "Demandeur",
        "Contact technique",
        "Cantine de Sainte-Colombe",
        "Validée",
        "actif",
        "jamais (90 derniers jours)",
    ] {
        assert!(body.contains(shown), "{shown}: {body}");
    }
    let jti = token_of(&app, &demande).await.jti;
    assert!(body.contains(&jti.to_string()), "{body}");
    assert!(!body.contains(&token), "never the token string");
}

#[tokio::test]
async fn a_ban_now_stops_the_token_writes_to_its_people_and_a_created_token_answers() {
    let (app, sink) = with_mail().await;
    let (mut camille, demande) = approved(&app).await;
    let old = jwt(&mut camille, &demande).await;
    assert_eq!(status_of(&app, &old).await, StatusCode::OK);
    let jti = token_of(&app, &demande).await.jti.to_string();
    let (mut elise, _) = log_in(&app, ELISE).await;

    let refused = token_action(
        &mut elise,
        &demande,
        &[("quoi", "ban"), ("jeton", &jti), ("motif", " ")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "a ban needs its reason");
    let banned = token_action(
        &mut elise,
        &demande,
        &[
            ("quoi", "ban"),
            ("jeton", &jti),
            ("motif", "Jeton publié sur un dépôt public."),
        ],
    )
    .await;
    assert_eq!(banned.status, StatusCode::SEE_OTHER, "{}", banned.body);
    until_status(&app, &old, StatusCode::UNAUTHORIZED, 5).await;
    let letters = letters_about(&sink, "désactivé", &[CAMILLE, KARIM]).await;
    assert!(
        letters
            .iter()
            .all(|m| m.text().unwrap().contains("Jeton publié sur un dépôt public.")),
        "the reason is written"
    );

    // A new token, ending in 30 days, for the habilitation still validated.
    let end = (Utc::now().with_timezone(&Paris) + chrono::Duration::days(30)).date_naive();
    let too_late = (Utc::now() + chrono::Duration::days(600)).date_naive().to_string();
    let refused = token_action(&mut elise, &demande, &[("quoi", "create"), ("fin", &too_late)]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "18 months at most");
    let created = token_action(&mut elise, &demande, &[("quoi", "create"), ("fin", &end.to_string())]).await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let new = jwt(&mut camille, &demande).await;
    assert_ne!(new, old);
    assert_eq!(status_of(&app, &new).await, StatusCode::OK);
    let record = token_of(&app, &demande).await;
    assert_eq!(
        record.expires_at.with_timezone(&Paris).date_naive(),
        end,
        "its last day is the one chosen"
    );
    let journal = elise.get("/habilitation/admin/journal").await.body;
    assert!(
        journal.contains("Jeton banni") && journal.contains("Jeton créé"),
        "{journal}"
    );
    let history = camille.get(&demande).await.body;
    assert!(history.contains("Jetons gérés"), "{history}");
}

#[tokio::test]
async fn a_ban_at_a_date_with_a_replacement_lets_the_old_token_answer_until_then_and_not_the_new_one_inherit_it() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved(&app).await;
    let old = jwt(&mut camille, &demande).await;
    let old_record = token_of(&app, &demande).await;
    let (mut elise, _) = log_in(&app, ELISE).await;
    let at = (Utc::now() + chrono::Duration::seconds(4)).with_timezone(&Paris);
    let (day, time) = (at.format("%Y-%m-%d").to_string(), at.format("%H:%M:%S").to_string());
    let banned = token_action(
        &mut elise,
        &demande,
        &[
            ("quoi", "ban"),
            ("jeton", &old_record.jti.to_string()),
            ("motif", "Fuite probable du jeton."),
            ("date", &day),
            ("heure", &time),
            ("remplacer", "1"),
        ],
    )
    .await;
    assert_eq!(banned.status, StatusCode::SEE_OTHER, "{}", banned.body);

    let replacement = token_of(&app, &demande).await;
    assert_ne!(replacement.jti, old_record.jti);
    assert_eq!(replacement.revoked_at, None, "the replacement does not inherit the ban");
    assert_eq!(
        (&replacement.scopes, replacement.expires_at),
        (&old_record.scopes, old_record.expires_at)
    );
    let kept = app.store.token(old_record.jti).await.unwrap().unwrap();
    assert_eq!(kept.revoked_at.map(|r| r.timestamp()), Some(at.timestamp()));
    let new = jwt(&mut camille, &demande).await;
    assert_ne!(new, old);
    assert_eq!(
        status_of(&app, &old).await,
        StatusCode::OK,
        "the old token answers until the date"
    );
    assert_eq!(status_of(&app, &new).await, StatusCode::OK);
    let mine = camille.get("/habilitation/habilitations").await.body;
    assert!(mine.contains("Remplacez le jeton banni avant le"), "{mine}");
    let letters = app.store.outbox("mail", 50).await.unwrap();
    let to_karim = letters
        .iter()
        .find(|i| i.body.contains("banni le") && i.body.contains(KARIM))
        .expect("the technical contact is told");
    assert!(to_karim.body.contains("jeton de remplacement"), "{}", to_karim.body);

    until_status(&app, &old, StatusCode::UNAUTHORIZED, 10).await;
    assert_eq!(status_of(&app, &new).await, StatusCode::OK);
}

#[tokio::test]
async fn an_admin_sees_the_site_as_an_agent_read_only_with_tokens_masked_and_every_page_journaled() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved(&app).await;
    let real = jwt(&mut camille, &demande).await;
    let version_before = app.store.demande(id_of(&demande)).await.unwrap().unwrap().version;
    let (mut elise, _) = log_in(&app, ELISE).await;
    let org = elise.get(&format!("/habilitation/admin/organisations/{TOWN}")).await;
    let csrf = Agent::csrf(&org);
    let started = elise
        .post(
            "/habilitation/admin/imitation",
            &[("csrf", &csrf), ("email", KARIM), ("siret", TOWN)],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);

    let mine = elise.get("/habilitation/habilitations").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.body.contains("Vous voyez le site comme"), "{}", mine.body);
    assert!(
        mine.body.contains("Cantine de Sainte-Colombe"),
        "Karim's habilitation: {}",
        mine.body
    );
    let shown = elise.get(&format!("{demande}/jeton")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("jeton masqué"), "{}", shown.body);
    assert!(!shown.body.contains(&real), "never the token");
    let tokens = elise.get(&format!("{demande}/jetons")).await;
    assert_eq!(tokens.status, StatusCode::OK);
    let version = capture(&tokens.body, r#"name="version" value="(\d+)""#);
    let rotate = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("quoi", "rotate"),
        ("chevauchement", "0"),
    ];
    let refused = elise.post(&format!("{demande}/jetons"), &rotate).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("lecture seule"), "{}", refused.body);
    let admin_page = elise.get("/habilitation/admin").await;
    assert_eq!(admin_page.status, StatusCode::FORBIDDEN, "no back-office as Karim");
    assert_eq!(
        app.store.demande(id_of(&demande)).await.unwrap().unwrap().version,
        version_before,
        "nothing changed"
    );
    assert_eq!(status_of(&app, &real).await, StatusCode::OK);

    let stopped = elise
        .post("/habilitation/admin/imitation/fin", &[("csrf", &csrf)])
        .await;
    assert_eq!(stopped.status, StatusCode::SEE_OTHER, "{}", stopped.body);
    let back = elise.get("/habilitation/admin/journal").await;
    assert_eq!(back.status, StatusCode::OK, "Elise is herself again");
    for seen in [
        "Imitation commencée",
        "Page vue en imitation",
        "Imitation arrêtée",
        "/habilitation/habilitations",
        &format!("{demande}/jeton"),
        KARIM,
    ] {
        assert!(back.body.contains(seen), "{seen}: {}", back.body);
    }
    let actions = app.store.operator_actions(50).await.unwrap();
    let kinds: Vec<&str> = actions.iter().rev().map(|a| a.action.as_str()).collect();
    assert_eq!(kinds.first(), Some(&"impersonation_start"));
    assert_eq!(kinds.last(), Some(&"impersonation_stop"));
    assert!(actions.iter().all(|a| a.admin == ELISE), "{actions:?}");
    assert!(
        actions.iter().any(|a| a.demande_id == Some(id_of(&demande))),
        "{actions:?}"
    );
}

#[tokio::test]
async fn a_rotation_is_written_to_the_applicant_and_the_technical_contact() {
    let (app, sink) = with_mail().await;
    let (mut karim, _) = log_in(&app, KARIM).await;
    let (_, demande) = approved(&app).await;
    let page = karim.get(&format!("{demande}/jetons")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let version = capture(&page.body, r#"name="version" value="(\d+)""#);
    let csrf = Agent::csrf(&page);
    let rotated = karim
        .post(
            &format!("{demande}/jetons"),
            &[
                ("csrf", csrf.as_str()),
                ("version", version.as_str()),
                ("quoi", "rotate"),
                ("chevauchement", "7"),
            ],
        )
        .await;
    assert_eq!(rotated.status, StatusCode::SEE_OTHER, "{}", rotated.body);
    let letters = letters_about(&sink, "renouvelé", &[CAMILLE, KARIM]).await;
    let text = letters[0].text().unwrap();
    assert!(
        text.contains("Karim") && text.contains("répond encore jusqu'au"),
        "{text}"
    );
}

#[tokio::test]
async fn an_impersonating_admin_posts_no_form_and_logging_out_ends_the_impersonation_journaled() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (_, demande) = approved(&app).await;
    let version = app.store.demande(id_of(&demande)).await.unwrap().unwrap().version;
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
    let v = version.to_string();
    let forms: [(String, Vec<(&str, &str)>); 4] = [
        ("/habilitation/demandes".into(), vec![("form", "api-particulier-libre")]),
        (
            format!("{demande}/action"),
            vec![("version", &v), ("event", "message"), ("reason", "Bonjour")],
        ),
        (
            format!("{demande}/delegations"),
            vec![("version", &v), ("quoi", "grant"), ("editeur", "x")],
        ),
        (
            format!("{demande}/prolonger"),
            vec![
                ("version", &v),
                ("encore", "oui"),
                ("objet", "oui"),
                ("contacts", "oui"),
            ],
        ),
    ];
    for (path, fields) in forms {
        let mut form = vec![("csrf", csrf.as_str())];
        form.extend(fields);
        let refused = elise.post(&path, &form).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{path}: {}", refused.body);
        assert!(refused.body.contains("lecture seule"), "{path}: {}", refused.body);
    }
    assert_eq!(
        app.store.demande(id_of(&demande)).await.unwrap().unwrap().version,
        version,
        "nothing changed"
    );

    let out = elise.post("/habilitation/deconnexion", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER, "{}", out.body);
    let actions = app.store.operator_actions(50).await.unwrap();
    let last = &actions[0];
    assert_eq!(
        (last.action.as_str(), last.path.as_str()),
        ("impersonation_stop", "/habilitation/deconnexion")
    );
    assert_eq!(last.agent.as_deref(), Some(CAMILLE));
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
