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

    /// Follows redirects from `page`, returning the last page.
    pub async fn follow(&mut self, mut page: Page) -> Page {
        for _ in 0..10 {
            let Some(to) = page.location.clone() else { return page };
            page = self.get(&to).await;
        }
        panic!("too many redirects")
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

pub async fn save(agent: &mut Agent, demande: &str, fields: &[(String, String)]) -> Page {
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
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
