//! "Qui a consulté mes données ?": calls about a person keep her lookup key in the
//! journal whatever the mode and the writing; she logs in through the FranceConnect
//! simulator (a real OpenID Connect exchange) and reads exactly her calls.

use std::collections::HashMap;

use passerelle_store::JournalRow;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;

use crate::helpers::*;

/// Angela DUBOIS: a FranceConnect citizen of the simulator (born 1962-08-24).
pub const ANGELA: &str = "dubois_angela_19620824_75107";
/// Georges CNAF: another FranceConnect citizen.
pub const GEORGES: &str = "cnaf_qfv2";
const AAH_IDENTITE: &str = "/v3/dss/allocation_adulte_handicape/identite";
const AAH_FRANCE_CONNECT: &str = "/v3/dss/allocation_adulte_handicape/france_connect";

/// Angela as a caller may write her: accents, case, a second given name.
fn angela_written_freely() -> Vec<(String, String)> {
    with_recipient(&pairs(&[
        ("nomNaissance", "Dubois"),
        ("prenoms[]", "Angéla"),
        ("prenoms[]", "Claire"),
        ("anneeDateNaissance", "1962"),
        ("moisDateNaissance", "8"),
        ("jourDateNaissance", "24"),
        ("sexeEtatCivil", "F"),
        ("codeCogInseePaysNaissance", "99100"),
        ("codeCogInseeCommuneNaissance", "75107"),
    ]))
}

/// Calls made about Angela (identity, FranceConnect) and about someone else; their
/// request ids: Angela's, then the other's.
pub async fn calls_about_angela_and_samuel(app: &TestApp) -> (Vec<String>, String) {
    let jwt = app.all_scopes_token().await;
    let by_identity = app.get(AAH_IDENTITE, &angela_written_freely(), Some(&jwt)).await;
    let by_france_connect = app
        .get(
            AAH_FRANCE_CONNECT,
            &pairs(&[("recipient", "13002526500013")]),
            Some(ANGELA),
        )
        .await;
    assert_eq!(by_france_connect.status(), 200);
    let samuel = app.get(AAH_IDENTITE, &with_recipient(&samuel()), Some(&jwt)).await;
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_string();
    (vec![id(&by_identity), id(&by_france_connect)], id(&samuel))
}

async fn journal_rows(app: &TestApp, n: u32) -> HashMap<String, JournalRow> {
    app.state.journal.flush(std::time::Duration::from_secs(5)).await;
    let rows = app.store.recent_journal(n).await.unwrap();
    rows.into_iter().map(|r| (r.request_id.clone(), r)).collect()
}

#[tokio::test]
async fn calls_about_one_person_share_a_key_whatever_the_mode_and_the_writing() {
    let app = TestApp::builder().citizen_record().start().await;
    let (angela, samuel) = calls_about_angela_and_samuel(&app).await;
    let jwt = app.all_scopes_token().await;
    let by_ine = app
        .get(
            "/v3/mesri/statut_etudiant/ine",
            &pairs(&[("ine", "1234567890C")]),
            Some(&jwt),
        )
        .await;
    assert_eq!(by_ine.status(), 200);
    let ine_id = by_ine.headers()["x-request-id"].to_str().unwrap().to_string();
    // The student the INE names, called by identity: the same key as the INE call's.
    let axelle = pairs(&[
        ("nomNaissance", "CHARBONNEAU"),
        ("prenoms[]", "Axelle"),
        ("anneeDateNaissance", "2001"),
        ("moisDateNaissance", "1"),
        ("jourDateNaissance", "2"),
        ("sexeEtatCivil", "F"),
        ("codeCogInseeCommuneNaissance", "75102"),
    ]);
    let by_identity = app.get("/v3/mesri/statut_etudiant/identite", &axelle, Some(&jwt)).await;
    let axelle_id = by_identity.headers()["x-request-id"].to_str().unwrap().to_string();
    let refused = app
        .get(AAH_IDENTITE, &pairs(&[("recipient", "13002526500013")]), Some(&jwt))
        .await;
    assert_eq!(refused.status(), 422);
    let refused_id = refused.headers()["x-request-id"].to_str().unwrap().to_string();

    let rows = journal_rows(&app, 20).await;
    let key = |id: &String| rows[id].subject.clone();
    assert!(key(&angela[0]).is_some_and(|k| k.len() == 64));
    assert_eq!(
        key(&angela[0]),
        key(&angela[1]),
        "identity and FranceConnect modes agree"
    );
    assert!(key(&samuel).is_some());
    assert_ne!(key(&samuel), key(&angela[0]));
    assert!(key(&ine_id).is_some(), "the INE's answer gave the identity");
    assert_eq!(key(&ine_id), key(&axelle_id));
    assert_eq!(key(&refused_id), None, "a call that named nobody has no key");
}

#[tokio::test]
async fn without_the_record_no_key_is_kept_and_no_page_is_served() {
    let app = TestApp::start().await;
    let (angela, _) = calls_about_angela_and_samuel(&app).await;
    let rows = journal_rows(&app, 10).await;
    assert_eq!(rows[&angela[0]].subject, None);
    assert_eq!(rows[&angela[1]].subject, None);
    let page = app
        .client
        .get(format!("{}/mon-historique", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
}

/// A browser's cookies, as far as these pages need: the last value of each name.
#[derive(Default)]
struct Jar(HashMap<String, String>);

impl Jar {
    fn take(&mut self, response: &reqwest::Response) {
        for header in response.headers().get_all(SET_COOKIE) {
            let pair = header.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.0.insert(name.to_string(), value.to_string());
        }
    }

    fn header(&self) -> String {
        let live = self.0.iter().filter(|(_, v)| !v.is_empty());
        live.map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }
}

struct Visitor {
    client: reqwest::Client,
    jar: Jar,
}

impl Visitor {
    fn new() -> Visitor {
        let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        Visitor {
            client,
            jar: Jar::default(),
        }
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let response = self
            .client
            .get(url)
            .header(COOKIE, self.jar.header())
            .send()
            .await
            .unwrap();
        self.jar.take(&response);
        response
    }

    async fn post(&mut self, url: &str, form: &[(String, String)]) -> reqwest::Response {
        let request = self.client.post(url).header(COOKIE, self.jar.header()).form(form);
        let response = request.send().await.unwrap();
        self.jar.take(&response);
        response
    }

    /// The whole login: to FranceConnect, pick `person`, back with a code.
    async fn log_in(&mut self, app: &TestApp, person: &str) {
        let start = self.get(&format!("{}/mon-historique/connexion", app.base)).await;
        assert_eq!(start.status(), 303);
        let authorize = location(&start);
        assert!(authorize.starts_with(&app.simulators), "{authorize}");
        let page = self.get(&authorize).await.text().await.unwrap();
        let (action, form) = person_form(&page, person);
        let picked = self.post(&format!("{}{action}", app.simulators), &form).await;
        assert_eq!(picked.status(), 302);
        let back = location(&picked);
        assert!(
            back.starts_with(&format!("{}/mon-historique/retour?", app.base)),
            "{back}"
        );
        let home = self.get(&back).await;
        assert_eq!(home.status(), 303, "{}", home.text().await.unwrap());
    }
}

fn location(response: &reqwest::Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_string()
}

/// The simulator's form for `person`: its action and fields.
fn person_form(page: &str, person: &str) -> (String, Vec<(String, String)>) {
    let marker = format!("value=\"{person}\"");
    let form = page
        .split("<form")
        .find(|f| f.contains(&marker))
        .expect("the simulator lists the person");
    let action = between(form, "action=\"", "\"");
    let mut fields: Vec<(String, String)> = form
        .split("<input type=\"hidden\"")
        .skip(1)
        .map(|input| {
            (
                between(input, "name=\"", "\""),
                unescape(&between(input, "value=\"", "\"")),
            )
        })
        .collect();
    fields.push(("person".into(), person.into()));
    (action, fields)
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).unwrap() + start.len();
    text[from..][..text[from..].find(end).unwrap()].to_string()
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn a_citizen_logs_in_with_france_connect_and_reads_exactly_her_calls() {
    let app = TestApp::builder().citizen_record().start().await;
    let (angela, samuel) = calls_about_angela_and_samuel(&app).await;
    let mut visitor = Visitor::new();
    visitor.log_in(&app, ANGELA).await;
    let page = visitor.get(&format!("{}/mon-historique", app.base)).await;
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-store");
    let html = page.text().await.unwrap();
    assert!(html.contains("Angela Claire Louise DUBOIS"), "{html}");
    for id in &angela {
        assert!(html.contains(id.as_str()), "{id} is shown");
    }
    assert!(!html.contains(samuel.as_str()), "another person's call is not");
    assert!(html.contains("Statut allocation adulte handicapé (AAH)"));
    // Named by INSEE Sirene (its simulator), the SIRET beside it.
    let who = "DIRECTION INTERMINISTERIELLE DU NUMERIQUE (SIRET 13002526500013)";
    assert_eq!(html.matches(who).count(), 2, "{html}");
    assert!(
        html.contains("si vous bénéficiez de la prestation"),
        "the data asked, in words"
    );
    // The token's DPO, and for the FranceConnect call the same organisation's.
    assert_eq!(
        html.matches("href=\"mailto:dpd@mairie-de-test.example?subject=Consultation%20")
            .count(),
        2
    );
    assert!(html.contains("Avec votre accord, par FranceConnect"));
    assert_eq!(
        html.matches("Démarche : Mairie de test").count(),
        1,
        "the token's project, on the token's call"
    );

    let csv = visitor.get(&format!("{}/mon-historique/releve.csv", app.base)).await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "a header and her two calls: {csv}");
    assert!(angela.iter().all(|id| csv.contains(id.as_str())) && !csv.contains(samuel.as_str()));

    let pdf = visitor.get(&format!("{}/mon-historique/releve.pdf", app.base)).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let pdf = pdf.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-1.4"));
    assert!(pdf.windows(angela[0].len()).any(|w| w == angela[0].as_bytes()));

    // Her three reads (page, CSV, PDF) are journaled under her key, beside her calls.
    let rows = journal_rows(&app, 50).await;
    let key = rows[&angela[0]].subject.clone().unwrap();
    assert_eq!(
        app.store.calls_about(&key, 50).await.unwrap().len(),
        2,
        "her reads are not calls"
    );
    let hers: Vec<JournalRow> = rows
        .into_values()
        .filter(|r| r.subject.as_ref() == Some(&key))
        .collect();
    let reads: Vec<&str> = hers
        .iter()
        .map(|r| r.endpoint.as_str())
        .filter(|e| e.starts_with("/mon-historique"))
        .collect();
    assert_eq!(reads.len(), 3, "{reads:?}");
}

#[tokio::test]
async fn another_citizen_sees_none_of_them() {
    let app = TestApp::builder().citizen_record().start().await;
    let (angela, samuel) = calls_about_angela_and_samuel(&app).await;
    let mut visitor = Visitor::new();
    visitor.log_in(&app, GEORGES).await;
    let html = visitor
        .get(&format!("{}/mon-historique", app.base))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"aucune-consultation\""), "{html}");
    for id in angela.iter().chain([&samuel]) {
        assert!(!html.contains(id.as_str()));
    }
}

#[tokio::test]
async fn sessions_cannot_be_forged_and_forms_need_their_token() {
    let app = TestApp::builder().citizen_record().start().await;
    let home = format!("{}/mon-historique", app.base);
    let mut stranger = Visitor::new();
    stranger
        .jar
        .0
        .insert("passerelle_citoyen".into(), "eyJrZXkiOiJhYiJ9.AAAA".into());
    let html = stranger.get(&home).await.text().await.unwrap();
    assert!(html.contains("S’identifier avec"), "a forged cookie is no session");
    let back = stranger.get(&format!("{home}/retour?code=abc&state=xyz")).await;
    assert_eq!(back.status(), 400, "a return without its login is refused");

    let mut visitor = Visitor::new();
    visitor.log_in(&app, ANGELA).await;
    let page = visitor.get(&home).await;
    for (header, wanted) in [("x-frame-options", "DENY"), ("x-content-type-options", "nosniff")] {
        assert_eq!(page.headers()[header], wanted);
    }
    assert!(page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    let html = page.text().await.unwrap();
    let csrf = between(&html, "name=\"csrf\" value=\"", "\"");
    let forged = visitor
        .post(&format!("{home}/deconnexion"), &[("csrf".into(), "wrong".into())])
        .await;
    assert_eq!(forged.status(), 403);
    assert!(
        visitor.get(&home).await.text().await.unwrap().contains("Bonjour"),
        "still logged in"
    );
    let out = visitor
        .post(&format!("{home}/deconnexion"), &[("csrf".into(), csrf)])
        .await;
    assert_eq!(out.status(), 303);
    assert!(visitor
        .get(&home)
        .await
        .text()
        .await
        .unwrap()
        .contains("S’identifier avec"));
    let csv = visitor.get(&format!("{home}/releve.csv")).await;
    assert_eq!(csv.status(), 303, "no record without a session");
}

#[tokio::test]
async fn the_design_system_is_served_by_passerelle_itself() {
    let app = TestApp::builder().citizen_record().start().await;
    let html = app
        .client
        .get(format!("{}/mon-historique", app.base))
        .send()
        .await
        .unwrap();
    let html = html.text().await.unwrap();
    assert!(html.contains("href=\"/mon-historique/dsfr/dsfr.min.css\"") && !html.contains("https://cdn"));
    let css = app
        .client
        .get(format!("{}/mon-historique/dsfr/dsfr.min.css", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200, "npm ci in web/ builds the DSFR");
    assert!(css.text().await.unwrap().contains(".fr-header"));
}
