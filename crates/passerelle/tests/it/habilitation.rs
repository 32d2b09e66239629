//! The habilitation site over real HTTP: agents log in through the ProConnect
//! simulator (a real OpenID Connect exchange, step-up included), file a demande,
//! instructors decide, the approval's token opens the gateway and its revocation
//! closes it; every refusal of a wrong role, a foreign organisation, a forged form.

use std::collections::HashMap;
use std::time::Duration;

use regex::Regex;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::StatusCode;

use crate::helpers::*;

pub const CAMILLE: &str = "camille.martin@ville-de-sainte-colombe.example";
pub const KARIM: &str = "karim.benali@ville-de-sainte-colombe.example";
pub const SOPHIE: &str = "sophie.lefebvre@mairie-bourg-fictif.example";
pub const NADIA: &str = "nadia.haddad@numerique.gouv.example";
pub const THOMAS: &str = "thomas.girard@numerique.gouv.example";
pub const ELISE: &str = "elise.moreau@numerique.gouv.example";

/// A browser of one agent: its cookies, no automatic redirects.
pub struct Agent {
    client: reqwest::Client,
    cookies: HashMap<String, String>,
    pub base: String,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub body: String,
}

impl Agent {
    fn new(base: &str) -> Agent {
        Agent {
            client: reqwest::Client::builder().redirect(Policy::none()).build().unwrap(),
            cookies: HashMap::new(),
            base: base.into(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, answer: reqwest::Response) -> Page {
        for value in answer.headers().get_all(SET_COOKIE) {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.into(), value.into());
            }
        }
        let status = answer.status();
        let location = answer.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_string());
        Page {
            status,
            location,
            body: answer.text().await.unwrap(),
        }
    }

    fn absolute(&self, url: &str) -> String {
        if url.starts_with("http") {
            url.into()
        } else {
            format!("{}{url}", self.base)
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let answer = self
            .client
            .get(self.absolute(url))
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap();
        self.read(answer).await
    }

    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let answer = self
            .client
            .post(self.absolute(url))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap();
        self.read(answer).await
    }

    /// A form posted, its answer as it came (a download's bytes and headers).
    pub async fn post_raw(&mut self, url: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.absolute(url))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap()
    }

    pub async fn post_multipart(&mut self, url: &str, csrf: &str, filename: &str, bytes: &[u8]) -> Page {
        let boundary = "passerelle-test-boundary";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\n\
             Content-Disposition: form-data; name=\"document\"; filename=\"{filename}\"\r\n\
             Content-Type: application/pdf\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let answer = self
            .client
            .post(self.absolute(url))
            .header(COOKIE, self.cookie_header())
            .header(CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .await
            .unwrap();
        self.read(answer).await
    }

    /// The session's CSRF token, as the last page's forms carry it.
    pub fn csrf(page: &Page) -> String {
        capture(&page.body, r#"name="csrf" value="([^"]+)""#).expect("a form with its CSRF token")
    }
}

fn capture(text: &str, pattern: &str) -> Option<String> {
    Regex::new(pattern).unwrap().captures(text).map(|c| c[1].to_string())
}

/// Logs `email` in through the ProConnect simulator (choosing the agent, then the
/// second factor if the account asks for a code); ends on "Mes demandes".
pub async fn log_in(app: &TestApp, email: &str) -> (Agent, Page) {
    let mut agent = Agent::new(&app.base);
    let mut page = agent.get("/habilitation/connexion").await;
    for _ in 0..6 {
        let Some(to) = page.location.clone() else { break };
        page = agent.get(&to).await;
        if page.body.contains("data-agent=") {
            page = choose(&mut agent, &to, &page.body, email).await;
        }
        if page.body.contains("name=\"otp\"") {
            page = second_factor(&mut agent, &to, &page.body).await;
        }
    }
    assert_eq!(page.status, StatusCode::OK, "logged in: {}", page.body);
    assert!(page.body.contains("Mes demandes"), "{}", page.body);
    (agent, page)
}

/// Posts the simulator's login form of `email`.
async fn choose(agent: &mut Agent, authorize_url: &str, html: &str, email: &str) -> Page {
    let forms = Regex::new(r#"(?s)<form method="post" action="([^"]+)">(.*?)</form>"#).unwrap();
    let form = forms
        .captures_iter(html)
        .find(|c| c[2].contains(&format!("data-agent=\"{email}\"")))
        .expect("the agent's form");
    let fields = hidden_fields(&form[2]);
    let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.push(("agent", email));
    let action = origin(authorize_url) + &unescape(&form[1]);
    agent.post(&action, &pairs).await
}

async fn second_factor(agent: &mut Agent, authorize_url: &str, html: &str) -> Page {
    let action = capture(html, r#"<form method="post" action="([^"]+)">"#).unwrap();
    let transaction = capture(html, r#"name="transaction" value="([^"]+)""#).unwrap();
    let wrong = agent
        .post(
            &(origin(authorize_url) + &unescape(&action)),
            &[("transaction", &transaction), ("otp", "000000")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST, "a wrong code is refused");
    agent
        .post(
            &(origin(authorize_url) + &unescape(&action)),
            &[("transaction", &transaction), ("otp", "123456")],
        )
        .await
}

fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let hidden = Regex::new(r#"<input type="hidden" name="([^"]+)" value="([^"]*)">"#).unwrap();
    hidden
        .captures_iter(html)
        .map(|c| (c[1].to_string(), unescape(&c[2])))
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn origin(url: &str) -> String {
    let rest = url.split_once("://").unwrap();
    format!("{}://{}", rest.0, rest.1.split('/').next().unwrap())
}

/// A small valid PDF (header, one object, end-of-file marker).
pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

/// Creates a demande with `form`; returns its page path.
pub async fn new_demande(agent: &mut Agent, page: &Page, form: &str) -> String {
    let csrf = Agent::csrf(page);
    let created = agent
        .post("/habilitation/demandes", &[("csrf", &csrf), ("form", form)])
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.body);
    let edit = created.location.unwrap();
    edit.trim_end_matches("/modifier").to_string()
}

/// The RestauScol fields an applicant fills (scopes are the template's).
pub fn restauscol_fields(csrf: &str, technique: &str) -> Vec<(String, String)> {
    let mut fields = vec![
        ("csrf", csrf),
        ("intitule", "Cantine de Sainte-Colombe"),
        (
            "cadre_juridique_nature",
            "Délibération du conseil municipal du 12 mars 2026",
        ),
    ];
    let people = [
        (
            "contact_metier",
            "Claire",
            "Dupont",
            "claire.dupont@ville-de-sainte-colombe.example",
        ),
        ("contact_technique", "Karim", "Benali", technique),
        (
            "delegue_protection_donnees",
            "Paul",
            "Durand",
            "dpd@ville-de-sainte-colombe.example",
        ),
    ];
    let mut owned: Vec<(String, String)> = fields.drain(..).map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for (kind, given, family, email) in people {
        owned.push((format!("{kind}_given_name"), given.into()));
        owned.push((format!("{kind}_family_name"), family.into()));
        owned.push((format!("{kind}_email"), email.into()));
        owned.push((format!("{kind}_phone_number"), "04 67 00 00 00".into()));
        owned.push((format!("{kind}_job_title"), "Agent".into()));
    }
    owned
}

/// Saves `fields` from the edit page (whose version the form carries).
pub async fn save(agent: &mut Agent, demande: &str, fields: &[(String, String)]) -> Page {
    let page = agent.get(&format!("{demande}/modifier")).await;
    let version = capture(&page.body, r#"name="version" value="(\d+)""#).unwrap_or_default();
    let mut pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    pairs.push(("version", &version));
    agent.post(&format!("{demande}/modifier"), &pairs).await
}

/// Fires `event` from the demande's page (with its version and CSRF token).
pub async fn act(agent: &mut Agent, demande: &str, event: &str, extra: &[(&str, &str)]) -> Page {
    let page = agent.get(demande).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Agent::csrf(&page);
    let version = capture(&page.body, r#"name="version" value="(\d+)""#).unwrap_or_default();
    let mut form = vec![("csrf", csrf.as_str()), ("event", event), ("version", version.as_str())];
    form.extend_from_slice(extra);
    agent.post(&format!("{demande}/action"), &form).await
}

/// A demande of Camille's commune, filled with RestauScol's template, a legal-basis
/// PDF attached, submitted.
pub async fn submitted_demande(app: &TestApp) -> (Agent, String) {
    let (mut camille, page) = log_in(app, CAMILLE).await;
    let demande = new_demande(&mut camille, &page, "api-particulier-editeur-restauscol").await;
    let edit = camille.get(&format!("{demande}/modifier")).await;
    let csrf = Agent::csrf(&edit);
    let saved = save(&mut camille, &demande, &restauscol_fields(&csrf, KARIM)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let uploaded = camille
        .post_multipart(&format!("{demande}/documents"), &csrf, "deliberation.pdf", PDF)
        .await;
    assert_eq!(uploaded.status, StatusCode::SEE_OTHER, "{}", uploaded.body);
    let submitted = act(&mut camille, &demande, "submit", &[("terms", "1"), ("dpo", "1")]).await;
    assert_eq!(submitted.status, StatusCode::SEE_OTHER, "{}", submitted.body);
    (camille, demande)
}

fn jwt_of(page: &Page) -> String {
    capture(
        &page.body,
        r#"(?s)<textarea class="fr-input" id="jeton" rows="5" readonly>([^<]+)</textarea>"#,
    )
    .expect("the token on its page")
    .trim()
    .to_string()
}

async fn call_with(app: &TestApp, jwt: &str) -> StatusCode {
    app.get("/v3/dss/quotient_familial/identite", &pairs(AXELLE), Some(jwt))
        .await
        .status()
}

#[tokio::test]
async fn a_demande_goes_from_draft_to_a_working_token_and_its_revocation_closes_it() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = submitted_demande(&app).await;
    let shown = camille.get(&demande).await;
    assert!(shown.body.contains("En instruction"), "{}", shown.body);
    let sirene = "COMMUNE DE SAINTE-COLOMBE-LES-EXEMPLES — SIRET 21349910600010 — 1 PL DE LA MAIRIE, 34990";
    assert!(shown.body.contains(sirene), "named from INSEE Sirene: {}", shown.body);

    let (mut nadia, _) = log_in(&app, NADIA).await;
    let queue = nadia.get("/habilitation/instruction").await;
    assert!(queue.body.contains("Cantine de Sainte-Colombe"), "{}", queue.body);
    let changes = act(&mut nadia, &demande, "request_changes", &[("template", "deliberation")]).await;
    assert_eq!(changes.status, StatusCode::SEE_OTHER, "{}", changes.body);

    let page = camille.get(&format!("{demande}/modifier")).await;
    let mut fields = restauscol_fields(&Agent::csrf(&page), KARIM);
    fields.push(("description".into(), "Tarifs de la cantine et du périscolaire".into()));
    assert_eq!(
        save(&mut camille, &demande, &fields).await.status,
        StatusCode::SEE_OTHER
    );
    let again = act(&mut camille, &demande, "submit", &[("terms", "1"), ("dpo", "1")]).await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);

    let approved = act(&mut nadia, &demande, "approve", &[("rate_limit", "600")]).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let token_page = camille.get(&format!("{demande}/jeton")).await;
    assert_eq!(token_page.status, StatusCode::OK, "{}", token_page.body);
    let jwt = jwt_of(&token_page);
    assert_eq!(call_with(&app, &jwt).await, StatusCode::OK);

    let history = camille.get(&demande).await.body;
    for step in [
        "Demande créée",
        "Demande déposée",
        "Modifications demandées",
        "Demande validée",
    ] {
        assert!(history.contains(step), "{step} in the history");
    }

    let revoked = act(
        &mut nadia,
        &demande,
        "revoke",
        &[("reason", "Fin du marché de restauration")],
    )
    .await;
    assert_eq!(revoked.status, StatusCode::SEE_OTHER, "{}", revoked.body);
    let started = std::time::Instant::now();
    loop {
        let status = call_with(&app, &jwt).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still {status} after the revocation"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn each_transition_belongs_to_its_role_and_other_organisations_see_nothing() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = submitted_demande(&app).await;

    // The applicant cannot decide her own demande.
    for event in ["approve", "refuse", "request_changes", "revoke"] {
        let refused = act(&mut camille, &demande, event, &[("reason", "moi-même")]).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{event}: {}", refused.body);
    }
    // The technical contact reads it but neither submits nor archives it.
    let (mut karim, _) = log_in(&app, KARIM).await;
    assert_eq!(karim.get(&demande).await.status, StatusCode::OK);
    let refused = act(&mut karim, &demande, "cancel_reopening", &[]).await;
    assert!(matches!(refused.status, StatusCode::FORBIDDEN), "{}", refused.body);
    // Another organisation's agent: as if it did not exist, document included.
    let (mut sophie, _) = log_in(&app, SOPHIE).await;
    assert_eq!(sophie.get(&demande).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        sophie.get(&format!("{demande}/jeton")).await.status,
        StatusCode::NOT_FOUND
    );
    let listed = sophie.get("/habilitation/demandes").await;
    assert!(!listed.body.contains("Cantine de Sainte-Colombe"));
    let shown = camille.get(&demande).await;
    let document = capture(
        &shown.body,
        r#"href="(/habilitation/demandes/[^"]+/documents/[^"]+)" download"#,
    )
    .unwrap();
    assert_eq!(sophie.get(&document).await.status, StatusCode::NOT_FOUND);
    // The other bouquet's instructor does not instruct it; an agent is no instructor.
    let (mut thomas, _) = log_in(&app, THOMAS).await;
    assert_eq!(thomas.get(&demande).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        camille.get("/habilitation/instruction").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        camille.get("/habilitation/admin/courriels").await.status,
        StatusCode::FORBIDDEN
    );

    // An instructor who files a demande does not decide it.
    let (mut nadia, page) = log_in(&app, NADIA).await;
    let own = new_demande(&mut nadia, &page, "api-particulier-libre").await;
    let refused = act(&mut nadia, &own, "request_changes", &[("reason", "moi-même")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    // The instructor: a refusal needs its reason; the applicant cannot submit again.
    let bare = act(&mut nadia, &demande, "refuse", &[]).await;
    assert_eq!(bare.status, StatusCode::FORBIDDEN, "{}", bare.body);
    assert!(bare.body.contains("motif"), "{}", bare.body);
    let submit = act(&mut nadia, &demande, "submit", &[("terms", "1"), ("dpo", "1")]).await;
    assert_eq!(submit.status, StatusCode::FORBIDDEN);
    let refused = act(&mut nadia, &demande, "refuse", &[("reason", "Pas de délibération")]).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER, "{}", refused.body);
    // Refused is a dead end, except for archiving by the applicant.
    assert_eq!(
        act(&mut nadia, &demande, "approve", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        act(&mut camille, &demande, "archive", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    // Every event is in the history, in order, with who fired it.
    let events = app.store.demande_events(id_of(&demande)).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["create", "update", "update", "submit", "refuse", "archive"]);
    assert_eq!(events[4].actor, NADIA);
}

#[tokio::test]
async fn forms_need_their_csrf_token_and_a_stale_page_changes_nothing() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, page) = log_in(&app, CAMILLE).await;
    let forged = camille
        .post(
            "/habilitation/demandes",
            &[("csrf", "forged"), ("form", "api-particulier-libre")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let demande = new_demande(&mut camille, &page, "api-particulier-libre").await;
    let shown = camille.get(&demande).await;
    let csrf = Agent::csrf(&shown);
    let stale = camille
        .post(
            &format!("{demande}/action"),
            &[("csrf", &csrf), ("event", "archive"), ("version", "0")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    let without = camille
        .post(&format!("{demande}/action"), &[("event", "archive"), ("version", "1")])
        .await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    // A save from an edit page older than the demande changes nothing.
    let edit = camille.get(&format!("{demande}/modifier")).await;
    let old_version = capture(&edit.body, r#"name="version" value="(\d+)""#).unwrap();
    let fresh = save(
        &mut camille,
        &demande,
        &[("csrf".into(), csrf.clone()), ("intitule".into(), "Premier".into())],
    )
    .await;
    assert_eq!(fresh.status, StatusCode::SEE_OTHER);
    let late = camille
        .post(
            &format!("{demande}/modifier"),
            &[("csrf", &csrf), ("version", &old_version), ("intitule", "Écrasé")],
        )
        .await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert!(camille.get(&demande).await.body.contains("Premier"));
    // An incomplete demande is not submitted, and says what is missing.
    let incomplete = act(&mut camille, &demande, "submit", &[("terms", "1"), ("dpo", "1")]).await;
    assert_eq!(incomplete.status, StatusCode::BAD_REQUEST);
    assert!(incomplete.body.contains("Décrivez le projet"), "{}", incomplete.body);
    // Logged out, the session no longer opens anything.
    let logout = camille.post("/habilitation/deconnexion", &[("csrf", &csrf)]).await;
    assert_eq!(logout.status, StatusCode::SEE_OTHER);
    let after = camille.get(&demande).await;
    assert_eq!(after.location.as_deref(), Some("/habilitation/connexion"));
}

#[tokio::test]
async fn uploads_are_pdf_by_content_and_always_downloads() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, page) = log_in(&app, CAMILLE).await;
    let demande = new_demande(&mut camille, &page, "api-particulier-libre").await;
    let csrf = Agent::csrf(&camille.get(&demande).await);
    let html = b"<html><body><script>alert(1)</script></body></html>";
    let refused = camille
        .post_multipart(&format!("{demande}/documents"), &csrf, "deliberation.pdf", html)
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("pas un PDF"), "{}", refused.body);
    let kept = camille
        .post_multipart(&format!("{demande}/documents"), &csrf, "../../Délibération.pdf", PDF)
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.body);
    let shown = camille.get(&demande).await;
    let link = capture(
        &shown.body,
        r#"href="(/habilitation/demandes/[^"]+/documents/[^"]+)" download"#,
    )
    .unwrap();
    let download = camille
        .client
        .get(camille.absolute(&link))
        .header(COOKIE, camille.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(download.headers()[CONTENT_TYPE], "application/pdf");
    let disposition = download.headers()["content-disposition"].to_str().unwrap().to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(
        disposition.contains("filename*=UTF-8''D%C3%A9lib%C3%A9ration.pdf"),
        "{disposition}"
    );
    assert_eq!(download.headers()["cache-control"], "no-store");
    assert_eq!(download.bytes().await.unwrap().as_ref(), PDF);
    for _ in 0..5 {
        let more = camille
            .post_multipart(&format!("{demande}/documents"), &csrf, "annexe.pdf", PDF)
            .await;
        assert_eq!(more.status, StatusCode::SEE_OTHER);
    }
    let seventh = camille
        .post_multipart(&format!("{demande}/documents"), &csrf, "annexe.pdf", PDF)
        .await;
    assert_eq!(seventh.status, StatusCode::BAD_REQUEST, "at most six");
}

#[tokio::test]
async fn an_account_without_a_second_factor_is_asked_for_one() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    // `log_in` answers the code page (a wrong code first, refused, then the right one).
    let (_, page) = log_in(&app, SOPHIE).await;
    assert!(page.body.contains("Sophie Lefebvre"), "{}", page.body);
}

pub(crate) fn id_of(demande: &str) -> uuid::Uuid {
    demande.rsplit('/').next().unwrap().parse().unwrap()
}

/// The SMTP settings of a test's mail sink.
pub(crate) fn smtp_to(sink: &passerelle_mail::testing::SmtpSink) -> passerelle_gateway::config::SmtpConfig {
    passerelle_gateway::config::SmtpConfig {
        host: "127.0.0.1".into(),
        port: sink.addr().port(),
        tls: "none".into(),
        username: None,
        password: None,
        from_name: "Habilitations Passerelle".into(),
        from_email: "habilitations@passerelle.example".into(),
        timeout_secs: 5,
    }
}

/// Each recipient of `messages`, with how many messages reached them.
fn reached(messages: &[passerelle_mail::testing::ReceivedMessage]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for message in messages {
        for to in &message.recipients {
            *counts.entry(to.to_lowercase()).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test]
async fn lifecycle_emails_travel_over_smtp_once_per_person() {
    let sink = passerelle_mail::testing::SmtpSink::start().await;
    let smtp = smtp_to(&sink);
    let app = TestApp::builder()
        .habilitation(move |h| {
            h.smtp = Some(smtp);
            h.dispatch_every_ms = 50;
        })
        .start()
        .await;
    let (_, demande) = submitted_demande(&app).await;
    let on_submit = sink.wait_for(2, Duration::from_secs(10)).await;
    let counts = reached(&on_submit);
    assert_eq!(counts.get(CAMILLE), Some(&1), "one receipt, not two: {counts:?}");
    assert_eq!(counts.get(NADIA), Some(&1), "the instructor is told: {counts:?}");
    let receipt = on_submit
        .iter()
        .find(|m| m.recipients.iter().any(|r| r == CAMILLE))
        .unwrap();
    assert!(
        receipt.subject().unwrap().starts_with("[API Particulier]"),
        "{:?}",
        receipt.subject()
    );

    let (mut nadia, _) = log_in(&app, NADIA).await;
    let approved = act(&mut nadia, &demande, "approve", &[]).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    let all = sink.wait_for(2 + 4, Duration::from_secs(10)).await;
    let on_approve = reached(&all[2..]);
    for person in [
        CAMILLE,
        KARIM,
        "claire.dupont@ville-de-sainte-colombe.example",
        "dpd@ville-de-sainte-colombe.example",
    ] {
        assert_eq!(
            on_approve.get(person),
            Some(&1),
            "{person} gets one letter: {on_approve:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.messages().len(), 6, "nothing more");
    let items = app.store.outbox("mail", 50).await.unwrap();
    assert!(
        items.iter().all(|i| i.done_at.is_some() && i.attempts == 1),
        "each sent once"
    );
}

#[tokio::test]
async fn without_a_mail_server_letters_wait_on_the_admins_page() {
    let app = TestApp::builder()
        .habilitation(|h| h.dispatch_every_ms = 50)
        .start()
        .await;
    let _ = submitted_demande(&app).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let (mut elise, _) = log_in(&app, ELISE).await;
    let page = elise.get("/habilitation/admin/courriels").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("conservé, non envoyé"), "{}", page.body);
    assert!(
        page.body.contains(CAMILLE) && page.body.contains(NADIA),
        "{}",
        page.body
    );
}

#[tokio::test]
async fn datapass_in_front_approves_and_the_token_answers() {
    const SECRET: &str = "datapass-shared-secret-of-the-test";
    let app = TestApp::builder()
        .habilitation(|h| h.datapass_secret = Some(SECRET.into()))
        .start()
        .await;
    let payload = serde_json::json!({
        "event": "approve",
        "fired_at": 1_780_000_000,
        "model_type": "authorization_request/api_particulier",
        "model_id": 4242,
        "data": {
            "id": 4242,
            "public_id": "6f1c2b1e-8c1a-4c55-9d3b-1d1b1b1b1b1b",
            "type": "api_particulier",
            "state": "validated",
            "form_uid": "api-particulier-commune-cantine",
            "data": {
                "intitule": "Cantine",
                "scopes": ["cnaf_quotient_familial", "cnous_ine"],
                "modalities": ["params"],
                "contact_technique_email": "karim.benali@ville-de-sainte-colombe.example"
            },
            "organization": {"id": 1, "name": "COMMUNE", "siret": "21349910600010"},
            "applicant": {"id": 7, "email": CAMILLE, "given_name": "Camille", "family_name": "Martin"}
        }
    });
    let body = serde_json::to_vec(&payload).unwrap();
    let url = format!("{}/api/datapass/v2/api_particulier/webhook", app.base);
    let signature = passerelle_webhooks::datapass::signature_header(SECRET.as_bytes(), &body);
    let forged = app
        .client
        .post(&url)
        .header("X-Hub-Signature-256", "sha256=00")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let send = || {
        app.client
            .post(&url)
            .header("X-Hub-Signature-256", &signature)
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
    };
    let first: serde_json::Value = send().await.unwrap().json().await.unwrap();
    let again: serde_json::Value = send().await.unwrap().json().await.unwrap();
    let token_id = first["token_id"].as_str().expect("a token id").to_string();
    assert_eq!(again["token_id"], first["token_id"], "the same delivery has one effect");
    let record = app.store.token(token_id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(record.scopes, ["cnaf_quotient_familial"], "an unknown scope is dropped");
    let jwt = passerelle_tokens::jwt_of(app.state.tokens.keys(), &record).unwrap();
    assert_eq!(call_with(&app, &jwt).await, StatusCode::OK);

    // Its people read it here; it changes in DataPass only.
    let (mut camille, _) = log_in(&app, CAMILLE).await;
    let listed = camille.get("/habilitation/demandes").await;
    let link = capture(&listed.body, r#"href="(/habilitation/demandes/[0-9a-f-]+)">Cantine<"#).expect("listed");
    let page = camille.get(&link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(!page.body.contains("data-event="), "no action here");
    let version = app
        .store
        .demande(id_of(&link))
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let csrf = Agent::csrf(&page);
    let refused = camille
        .post(
            &format!("{link}/action"),
            &[("csrf", &csrf), ("event", "reopen"), ("version", &version)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("instruite dans DataPass"), "{}", refused.body);
}

#[tokio::test]
async fn a_reopening_keeps_the_token_string_and_a_transfer_moves_the_rights() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, page) = log_in(&app, CAMILLE).await;
    let demande = new_demande(&mut camille, &page, "api-particulier-editeur-famille-plus").await;
    let csrf = Agent::csrf(&camille.get(&format!("{demande}/modifier")).await);
    let mut fields = restauscol_fields(&csrf, KARIM);
    fields.push((
        "cadre_juridique_url".into(),
        "https://ville-de-sainte-colombe.example/deliberation".into(),
    ));
    assert_eq!(
        save(&mut camille, &demande, &fields).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        act(&mut camille, &demande, "submit", &[("terms", "1"), ("dpo", "1")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let (mut nadia, _) = log_in(&app, NADIA).await;
    assert_eq!(
        act(&mut nadia, &demande, "approve", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let jwt = jwt_of(&camille.get(&format!("{demande}/jeton")).await);

    // A question from the applicant shows as unread on the instructors' dashboard.
    let asked = act(
        &mut camille,
        &demande,
        "message",
        &[("reason", "Pouvons-nous ajouter les enfants ?")],
    )
    .await;
    assert_eq!(asked.status, StatusCode::SEE_OTHER);
    let queue = nadia.get("/habilitation/instruction?etat=toutes").await;
    assert!(queue.body.contains("fr-badge--new"), "{}", queue.body);

    // Reopened: the token stays in force; approved again: same string, new scopes.
    assert_eq!(
        act(&mut camille, &demande, "reopen", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        call_with(&app, &jwt).await,
        StatusCode::OK,
        "in force during the update"
    );
    let csrf = Agent::csrf(&camille.get(&format!("{demande}/modifier")).await);
    let mut wider = fields.clone();
    wider[0].1 = csrf;
    wider.push(("scopes".into(), "cnaf_quotient_familial".into()));
    wider.push(("scopes".into(), "cnaf_enfants".into()));
    assert_eq!(save(&mut camille, &demande, &wider).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        act(&mut camille, &demande, "submit", &[("terms", "1"), ("dpo", "1")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        act(&mut nadia, &demande, "approve", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let tokens: Vec<_> = app
        .store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.siret == "21349910600010")
        .collect();
    assert_eq!(tokens.len(), 1, "no new token");
    assert_eq!(tokens[0].scopes, ["cnaf_enfants", "cnaf_quotient_familial"]);
    assert_eq!(call_with(&app, &jwt).await, StatusCode::OK, "the same string");

    // An update refused: the demande says again what is in force, the token unchanged.
    assert_eq!(
        act(&mut camille, &demande, "reopen", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let csrf = Agent::csrf(&camille.get(&format!("{demande}/modifier")).await);
    let mut narrower = fields.clone();
    narrower[0].1 = csrf;
    narrower.push(("scopes".into(), "cnaf_adresse".into()));
    assert_eq!(
        save(&mut camille, &demande, &narrower).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        act(&mut camille, &demande, "submit", &[("terms", "1"), ("dpo", "1")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    let refused = act(&mut nadia, &demande, "refuse", &[("reason", "Adresse non justifiée")]).await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);
    let kept = app.store.demande(id_of(&demande)).await.unwrap().unwrap();
    assert_eq!(kept.state, "validated");
    assert!(
        kept.body.contains("cnaf_enfants") && !kept.body.contains("\"cnaf_adresse\""),
        "{}",
        kept.body
    );
    let token = app.store.token(tokens[0].jti).await.unwrap().unwrap();
    assert_eq!(token.scopes, ["cnaf_enfants", "cnaf_quotient_familial"]);

    // A reopening abandoned goes back to the habilitation in force.
    assert_eq!(
        act(&mut camille, &demande, "reopen", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        act(&mut camille, &demande, "cancel_reopening", &[]).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(camille.get(&demande).await.body.contains(">Validée<"));

    // Transferred to Karim: he acts as the applicant, Camille no longer does.
    let moved = act(&mut camille, &demande, "transfer", &[("email", KARIM)]).await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let page = camille.get(&demande).await;
    assert!(
        !page.body.contains("data-event=\"reopen\""),
        "no button for her any more"
    );
    let version = app
        .store
        .demande(id_of(&demande))
        .await
        .unwrap()
        .unwrap()
        .version
        .to_string();
    let form = [
        ("csrf", Agent::csrf(&page)),
        ("event", "reopen".into()),
        ("version", version),
    ];
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = camille.post(&format!("{demande}/action"), &form).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let (mut karim, _) = log_in(&app, KARIM).await;
    assert_eq!(
        act(&mut karim, &demande, "reopen", &[]).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn integrators_webhooks_are_signed_and_a_dead_one_is_replayed_by_an_admin() {
    use axum::routing::post;
    use std::sync::{Arc, Mutex};
    const SECRET: &str = "integrator-webhook-secret-number-1";
    let received: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let kept = received.clone();
    let receiver = axum::Router::new().route(
        "/hook",
        post(move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let kept = kept.clone();
            async move {
                let header = headers["passerelle-signature"].to_str().unwrap_or_default().to_string();
                let fresh = std::time::Duration::from_secs(300);
                if !passerelle_webhooks::outgoing::verify(&header, &body, SECRET.as_bytes(), chrono::Utc::now(), fresh)
                {
                    return StatusCode::UNAUTHORIZED;
                }
                kept.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let app = TestApp::builder()
        .habilitation(move |h| {
            h.dispatch_every_ms = 50;
            h.webhooks = vec![passerelle_gateway::config::WebhookConfig {
                name: "crm".into(),
                url,
                events: vec!["submit".into()],
                bouquets: vec![],
                secrets: vec![SECRET.into()],
            }];
        })
        .start()
        .await;
    let _ = submitted_demande(&app).await;
    let started = std::time::Instant::now();
    while received.lock().unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "the webhook arrives");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = received.lock().unwrap()[0].clone();
    assert_eq!(first["event"], "submit");
    assert!(first["id"].is_string() && first["occurred_at"].is_string(), "{first}");

    // A delivery given up on: the admin sees it and replays it.
    let sent = app.store.outbox("webhook", 10).await.unwrap().remove(0);
    let dead = passerelle_store::OutboxItem {
        id: uuid::Uuid::new_v4(),
        attempts: 12,
        done_at: None,
        dead_at: Some(chrono::Utc::now()),
        last_error: Some("HTTP 500".into()),
        ..sent
    };
    app.store.enqueue(std::slice::from_ref(&dead)).await.unwrap();
    let (mut elise, _) = log_in(&app, ELISE).await;
    let page = elise.get("/habilitation/admin/courriels").await;
    assert!(page.body.contains("abandonné") && page.body.contains(&format!("data-replay=\"{}\"", dead.id)));
    let csrf = Agent::csrf(&page);
    let replayed = elise
        .post(
            &format!("/habilitation/admin/courriels/{}/rejouer", dead.id),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(replayed.status, StatusCode::SEE_OTHER, "{}", replayed.body);
    while received.lock().unwrap().len() < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "the replay arrives");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (mut camille, _) = log_in(&app, CAMILLE).await;
    let refused = camille
        .post(
            &format!("/habilitation/admin/courriels/{}/rejouer", dead.id),
            &[("csrf", "x")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}
