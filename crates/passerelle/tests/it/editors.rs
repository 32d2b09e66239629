//! Editors and delegations over real HTTP: Camille delegates her habilitation to the
//! agglomeration's shared digital service (an editor, Julien's organisation); Julien
//! finds it in his editor's space and its CSV, takes a delegated token of his own that
//! the gateway answers, reads that token's usage (never Camille's calls); Sophie, of
//! another organisation, sees nothing of it; revoking the delegation, or the
//! habilitation, stops the delegated token at once.

use std::time::{Duration, Instant};

use passerelle_gateway::config::EditorConfig;
use reqwest::StatusCode;

use crate::habilitation::{act, log_in, Agent, Page, CAMILLE, ELISE, NADIA, SOPHIE};
use crate::helpers::*;
use crate::portal::approved;
use crate::portal::capture;

const JULIEN: &str = "julien.roux@agglo-herault-mediterranee.example";
const EDITOR: &str = "Service numérique mutualisé";

async fn with_editor() -> TestApp {
    TestApp::builder()
        .habilitation(|h| {
            h.editors = vec![EditorConfig {
                id: "numerique-mutualise".into(),
                name: EDITOR.into(),
                sirets: vec!["24340081900120".into()],
            }]
        })
        .start()
        .await
}

/// Posts the delegations page's form with its CSRF token and version.
async fn delegations(agent: &mut Agent, demande: &str, fields: &[(&str, &str)]) -> Page {
    let page = agent.get(&format!("{demande}/delegations")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Agent::csrf(&page);
    let version = capture(&page.body, r#"name="version" value="(\d+)""#);
    let mut form = vec![("csrf", csrf.as_str()), ("version", version.as_str())];
    form.extend_from_slice(fields);
    agent.post(&format!("{demande}/delegations"), &form).await
}

async fn grant(camille: &mut Agent, demande: &str) {
    let granted = delegations(
        camille,
        demande,
        &[("quoi", "grant"), ("editeur", "numerique-mutualise")],
    )
    .await;
    assert_eq!(granted.status, StatusCode::SEE_OTHER, "{}", granted.body);
}

/// Julien takes a delegated token from the habilitation's page in his space.
async fn take(julien: &mut Agent, space: &str) -> String {
    let page = julien.get(space).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Agent::csrf(&page);
    let version = capture(&page.body, r#"name="version" value="(\d+)""#);
    let taken = julien
        .post(&format!("{space}/jeton"), &[("csrf", &csrf), ("version", &version)])
        .await;
    assert_eq!(taken.status, StatusCode::OK, "{}", taken.body);
    capture(&taken.body, r#"(?s)id="jeton"[^>]*>([^<]+)</textarea>"#)
        .trim()
        .to_string()
}

async fn call(app: &TestApp, jwt: &str) -> reqwest::Response {
    app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(jwt))
        .await
}

async fn status_of(app: &TestApp, jwt: &str) -> StatusCode {
    call(app, jwt).await.status()
}

fn id_of(demande: &str) -> String {
    demande.rsplit('/').next().unwrap().to_string()
}

#[tokio::test]
async fn the_editor_acts_through_its_delegation_with_a_token_of_its_own_until_it_is_revoked() {
    let app = with_editor().await;
    let (mut camille, demande) = approved(&app).await;
    let id = id_of(&demande);
    let space = format!("/habilitation/editeur/{id}");

    let tokens = camille.get(&format!("{demande}/jetons")).await;
    assert!(tokens.body.contains("/delegations\""), "linked from the tokens page");
    grant(&mut camille, &demande).await;
    let page = camille.get(&format!("{demande}/delegations?fait=grant")).await.body;
    assert!(
        page.contains(EDITOR) && page.contains("en vigueur") && page.contains(CAMILLE),
        "{page}"
    );
    let history = camille.get(&demande).await.body;
    assert!(history.contains("Délégation à un éditeur"), "{history}");
    let again = delegations(
        &mut camille,
        &demande,
        &[("quoi", "grant"), ("editeur", "numerique-mutualise")],
    )
    .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST, "once at a time");

    // Julien's space: the habilitation, its search, its CSV.
    let (mut julien, home) = log_in(&app, JULIEN).await;
    assert!(home.body.contains("Espace éditeur"), "{}", home.body);
    let list = julien.get("/habilitation/editeur").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains(&id) && list.body.contains("21349910600010"),
        "{}",
        list.body
    );
    assert!(list.body.contains("Prenez un jeton délégué"), "{}", list.body);
    let searched = julien.get("/habilitation/editeur?q=rien-de-tel").await.body;
    assert!(!searched.contains(&id), "{searched}");
    let csv = julien.get("/habilitation/editeur/export.csv").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body
            .starts_with("numero,intitule,fin_du_jeton,siret,email_demandeur\n")
            && csv.body.contains("\"21349910600010\"")
            && csv.body.contains(CAMILLE),
        "{}",
        csv.body
    );

    // Nothing of the client's side opens to him.
    for path in ["", "/jetons", "/jeton", "/usage", "/usage.csv", "/delegations"] {
        let page = julien.get(&format!("{demande}{path}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
    }

    // His own token answers, and is not Camille's.
    let delegated = take(&mut julien, &space).await;
    let camilles = {
        let page = camille.get(&format!("{demande}/jeton")).await.body;
        capture(&page, r#"(?s)id="jeton"[^>]*>([^<]+)</textarea>"#)
            .trim()
            .to_string()
    };
    assert_ne!(delegated, camilles);
    let his_call = call(&app, &delegated).await;
    assert_eq!(his_call.status(), StatusCode::OK);
    let his_request = his_call.headers()["x-request-id"].to_str().unwrap().to_string();
    let her_call = call(&app, &camilles).await;
    assert_eq!(her_call.status(), StatusCode::OK);
    let her_request = her_call.headers()["x-request-id"].to_str().unwrap().to_string();
    let shown = julien.get(&format!("{space}/jeton")).await;
    assert!(shown.body.contains(&delegated), "shown again to the editor's users");
    assert_eq!(
        camille.get(&format!("{space}/jeton")).await.status,
        StatusCode::NOT_FOUND,
        "never to the client"
    );

    // Its usage: his calls, never hers.
    let start = Instant::now();
    loop {
        let usage = julien.get(&format!("{space}/usage")).await;
        assert_eq!(usage.status, StatusCode::OK, "{}", usage.body);
        assert!(!usage.body.contains(&her_request), "{}", usage.body);
        if usage.body.contains(&his_request) {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{}", usage.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(julien.get(&format!("{space}/usage.csv")).await.status, StatusCode::OK);

    // The applicant is told, through the outbox.
    let letters = app.store.outbox("mail", 50).await.unwrap();
    assert!(
        letters
            .iter()
            .any(|l| l.body.contains(CAMILLE) && l.body.contains("déléguée à Service numérique mutualisé")),
        "{letters:?}"
    );

    // Revoked: the token stops at once, the habilitation leaves his space.
    let row = capture(&page, r#"class="delegation" data-delegation="([0-9a-f-]+)""#);
    let revoked = delegations(&mut camille, &demande, &[("quoi", "revoke"), ("delegation", &row)]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(status_of(&app, &delegated).await, StatusCode::UNAUTHORIZED);
    assert_eq!(status_of(&app, &camilles).await, StatusCode::OK);
    let list = julien.get("/habilitation/editeur").await.body;
    assert!(!list.contains(&id), "{list}");
    for path in ["", "/jeton", "/usage"] {
        let page = julien.get(&format!("{space}{path}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}");
    }
    let page = camille.get(&format!("{demande}/delegations")).await.body;
    assert!(
        page.contains("révoquée le") && page.contains(&format!("par {CAMILLE}")),
        "{page}"
    );
    let letters = app.store.outbox("mail", 50).await.unwrap();
    assert!(
        letters.iter().any(|l| l.body.contains("n'est plus déléguée à")),
        "{letters:?}"
    );
}

#[tokio::test]
async fn another_organisations_agent_sees_nothing_of_a_delegation() {
    let app = with_editor().await;
    let (mut camille, demande) = approved(&app).await;
    grant(&mut camille, &demande).await;
    let id = id_of(&demande);
    let space = format!("/habilitation/editeur/{id}");
    let (mut sophie, home) = log_in(&app, SOPHIE).await;
    assert!(!home.body.contains("Espace éditeur"));
    for path in ["/habilitation/editeur", "/habilitation/editeur/export.csv"] {
        let page = sophie.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert!(!page.body.contains(&id));
    }
    for path in ["", "/jeton", "/usage", "/usage.csv"] {
        let page = sophie.get(&format!("{space}{path}")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{path}: {}", page.body);
    }
    let delegations = sophie.get(&format!("{demande}/delegations")).await;
    assert_eq!(delegations.status, StatusCode::NOT_FOUND);
    // Even with a session's form token, her posts reach nothing.
    let csrf = Agent::csrf(&home);
    let taken = sophie
        .post(&format!("{space}/jeton"), &[("csrf", &csrf), ("version", "1")])
        .await;
    assert_eq!(taken.status, StatusCode::NOT_FOUND);
    let granted = sophie
        .post(
            &format!("{demande}/delegations"),
            &[
                ("csrf", &csrf),
                ("version", "3"),
                ("quoi", "grant"),
                ("editeur", "numerique-mutualise"),
            ],
        )
        .await;
    assert_eq!(granted.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn revoking_the_habilitation_also_refuses_the_delegated_token() {
    let app = with_editor().await;
    let (mut camille, demande) = approved(&app).await;
    grant(&mut camille, &demande).await;
    let (mut julien, _) = log_in(&app, JULIEN).await;
    let space = format!("/habilitation/editeur/{}", id_of(&demande));
    let delegated = take(&mut julien, &space).await;
    assert_eq!(status_of(&app, &delegated).await, StatusCode::OK);
    let (mut nadia, _) = log_in(&app, NADIA).await;
    let revoked = act(&mut nadia, &demande, "revoke", &[("reason", "Fin du marché")]).await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    assert_eq!(status_of(&app, &delegated).await, StatusCode::UNAUTHORIZED);
    let page = julien.get(&space).await;
    assert!(page.body.contains("plus de jeton en vigueur"), "{}", page.body);
}

/// Camille's commune, whose organisation page lists her demande.
const TOWN: &str = "21349910600010";

/// The demande's body as the store keeps it.
async fn body_of(app: &TestApp, demande: &str) -> serde_json::Value {
    let id: uuid::Uuid = id_of(demande).parse().unwrap();
    let record = app.store.demande(id).await.unwrap().unwrap();
    serde_json::from_str(&record.body).unwrap()
}

/// Elise bans the demande's main token from the organisation's page.
async fn ban_main(elise: &mut Agent, demande: &str, main: &str, at: Option<(&str, &str)>) -> Page {
    let page = elise.get(&format!("/habilitation/admin/organisations/{TOWN}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let id = id_of(demande);
    let section = capture(&page.body, &format!(r#"(?s)data-demande="{id}">(.*?)</section>"#));
    let version = capture(&section, r#"name="version" value="(\d+)""#);
    let csrf = Agent::csrf(&page);
    let (day, time) = at.unwrap_or_default();
    let form = [
        ("csrf", csrf.as_str()),
        ("version", version.as_str()),
        ("quoi", "ban"),
        ("jeton", main),
        ("motif", "Fin du marché de restauration."),
        ("date", day),
        ("heure", time),
    ];
    elise
        .post(&format!("/habilitation/admin/demandes/{id}/jetons"), &form)
        .await
}

#[tokio::test]
async fn a_delegated_token_stops_with_the_main_tokens_ban_and_admins_see_and_audit_it() {
    let app = with_editor().await;
    let (mut camille, demande) = approved(&app).await;
    grant(&mut camille, &demande).await;
    let (mut julien, _) = log_in(&app, JULIEN).await;
    let (mut elise, _) = log_in(&app, ELISE).await;
    let space = format!("/habilitation/editeur/{}", id_of(&demande));
    let main = body_of(&app, &demande).await["token"].as_str().unwrap().to_string();

    // A ban of the main token in a week, without a replacement, then Julien takes a token.
    let at = (chrono::Utc::now() + chrono::Duration::days(7)).with_timezone(&chrono_tz::Europe::Paris);
    let day = at.format("%Y-%m-%d").to_string();
    let banned = ban_main(&mut elise, &demande, &main, Some((&day, "10:00"))).await;
    assert_eq!(banned.status, StatusCode::SEE_OTHER, "{}", banned.body);
    let tokens = camille.get(&format!("{demande}/jetons")).await.body;
    let shown = format!(r#"fr-badge--warning">banni le {} 10:00<"#, at.format("%d/%m/%Y"));
    assert!(tokens.contains(&shown), "the tokens page says when: {tokens}");
    let delegated = take(&mut julien, &space).await;
    let jti = body_of(&app, &demande).await["delegated_tokens"][0]
        .as_str()
        .unwrap()
        .to_string();
    let record = app.store.token(jti.parse().unwrap()).await.unwrap().unwrap();
    let main_record = app.store.token(main.parse().unwrap()).await.unwrap().unwrap();
    assert!(main_record.revoked_at.is_some());
    assert_eq!(
        record.revoked_at, main_record.revoked_at,
        "it stops with the main token"
    );
    assert_eq!(
        status_of(&app, &delegated).await,
        StatusCode::OK,
        "until then it answers"
    );

    // Admins see it on the organisation's page, and a call made with it can be audited.
    let org = elise
        .get(&format!("/habilitation/admin/organisations/{TOWN}"))
        .await
        .body;
    assert!(
        org.contains(&format!(r#"data-jeton="{jti}""#)) && org.contains("Jeton délégué à un éditeur"),
        "{org}"
    );
    let answer = call(&app, &delegated).await;
    assert_eq!(answer.status(), StatusCode::OK);
    let request = answer.headers()["x-request-id"].to_str().unwrap().to_string();
    let start = Instant::now();
    while !app
        .store
        .recent_journal(200)
        .await
        .unwrap()
        .iter()
        .any(|r| r.request_id == request)
    {
        assert!(start.elapsed() < Duration::from_secs(10), "the call is not journaled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let audit = elise.get("/habilitation/admin/audit").await;
    let csrf = Agent::csrf(&audit);
    let id: uuid::Uuid = id_of(&demande).parse().unwrap();
    let number = app.store.demande(id).await.unwrap().unwrap().number.to_string();
    let notice = [
        ("csrf", csrf.as_str()),
        ("demande", number.as_str()),
        ("requetes", request.as_str()),
        ("motif", "Appels hors du service de restauration."),
        ("volume", "quelques appels"),
    ];
    let sent = elise.post("/habilitation/admin/audit", &notice).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);

    // A ban now, without a replacement, stops it at once.
    let now = ban_main(&mut elise, &demande, &main, None).await;
    assert_eq!(now.status, StatusCode::SEE_OTHER, "{}", now.body);
    assert_eq!(status_of(&app, &delegated).await, StatusCode::UNAUTHORIZED);
}
