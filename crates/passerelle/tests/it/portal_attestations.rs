//! The portal's attestations over real HTTP: the applicant and the business contact
//! of an API Entreprise habilitation download a company's PDF, fetched through API
//! Entreprise with the habilitation's token (so journaled under it); the technical
//! contact, another organisation and a bad SIREN are refused with their reason.

use reqwest::StatusCode;

use crate::habilitation::{act, log_in, new_demande, save, Agent, CAMILLE, KARIM, SOPHIE, THOMAS};
use crate::helpers::*;

/// Camille's "Marchés publics" demande (Karim its business contact, an outside
/// firm its technical one) approved by Thomas; Camille logged in, and its address.
async fn approved_entreprise(app: &TestApp) -> (Agent, String) {
    let (mut camille, page) = log_in(app, CAMILLE).await;
    let demande = new_demande(&mut camille, &page, "api-entreprise-marches-publics").await;
    let edit = camille.get(&format!("{demande}/modifier")).await;
    let csrf = Agent::csrf(&edit);
    let saved = save(&mut camille, &demande, &marches_publics_fields(&csrf)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    let submitted = act(&mut camille, &demande, "submit", &[("terms", "1"), ("dpo", "1")]).await;
    assert_eq!(submitted.status, StatusCode::SEE_OTHER, "{}", submitted.body);
    let (mut thomas, _) = log_in(app, THOMAS).await;
    let approved = act(&mut thomas, &demande, "approve", &[]).await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    (camille, demande)
}

fn marches_publics_fields(csrf: &str) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = [
        ("csrf", csrf),
        ("intitule", "Achats de Sainte-Colombe"),
        (
            "description",
            "Vérifier la régularité des candidats aux marchés de la commune.",
        ),
        (
            "cadre_juridique_nature",
            "Code de la commande publique, R2143-3 et suivants",
        ),
        ("cadre_juridique_url", "https://www.legifrance.gouv.fr/"),
        (
            "destinataire_donnees_caractere_personnel",
            "Service de la commande publique",
        ),
        ("duree_conservation_donnees_caractere_personnel", "36"),
        ("scopes", "unites_legales_etablissements_insee"),
        ("scopes", "attestations_sociales"),
        ("scopes", "attestations_fiscales"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let people = [
        ("responsable_traitement", "Camille", "Martin", CAMILLE),
        (
            "delegue_protection_donnees",
            "Paul",
            "Durand",
            "dpd@ville-de-sainte-colombe.example",
        ),
        ("contact_metier", "Karim", "Benali", KARIM),
        ("contact_technique", "Léa", "Roux", "lea.roux@prestataire.example"),
    ];
    for (kind, given, family, email) in people {
        fields.push((format!("{kind}_given_name"), given.into()));
        fields.push((format!("{kind}_family_name"), family.into()));
        fields.push((format!("{kind}_email"), email.into()));
        fields.push((format!("{kind}_phone_number"), "04 67 00 00 00".into()));
        fields.push((format!("{kind}_job_title"), "Agent".into()));
    }
    fields
}

/// The text of `html` from `start` to the next `end`.
fn section<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).unwrap_or_else(|| panic!("{start} not in {html}"));
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// Posts the attestations form from its page (with the page's CSRF token).
async fn ask(agent: &mut Agent, demande: &str, siren: &str, kind: &str) -> reqwest::Response {
    let page = agent.get(&format!("{demande}/attestations")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Agent::csrf(&page);
    let form = [("csrf", csrf.as_str()), ("siren", siren), ("attestation", kind)];
    agent.post_raw(&format!("{demande}/attestations"), &form).await
}

#[tokio::test]
async fn the_applicant_and_the_business_contact_download_attestations_with_the_habilitations_token() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved_entreprise(&app).await;

    let tokens = camille.get(&format!("{demande}/jetons")).await;
    assert!(tokens.body.contains(r#"id="attestations""#), "{}", tokens.body);
    // The token's rights by provider, and the habilitation's people.
    let rights = section(&tokens.body, r#"id="droits""#, "<h2>Contacts");
    for (provider, scope) in [("DGFIP", "attestations_fiscales"), ("ACOSS", "attestations_sociales")] {
        let card = section(rights, &format!(">{provider}"), "</ul>");
        assert!(card.contains(scope), "{scope} under {provider}: {rights}");
    }
    let people = section(&tokens.body, r#"id="contacts""#, "</table>");
    assert!(people.contains("Contact métier") && people.contains(KARIM), "{people}");
    assert_eq!(
        people.matches("c'est vous").count(),
        2,
        "Camille is applicant and controller: {people}"
    );

    for kind in ["fiscale", "sociale"] {
        let pdf = ask(&mut camille, &demande, "418 166 096", kind).await;
        assert_eq!(pdf.status(), StatusCode::OK);
        assert_eq!(pdf.headers()["content-type"], "application/pdf");
        let disposition = pdf.headers()["content-disposition"].to_str().unwrap().to_string();
        assert_eq!(
            disposition,
            format!("attachment; filename=\"attestation-{kind}-418166096.pdf\"")
        );
        assert_eq!(pdf.headers()["cache-control"], "no-store");
        assert!(pdf.bytes().await.unwrap().starts_with(b"%PDF-"));
    }

    // Each download was a call of the habilitation's token, in its journal.
    let id: uuid::Uuid = demande.rsplit('/').next().unwrap().parse().unwrap();
    let record = app.store.demande(id).await.unwrap().unwrap();
    let body: serde_json::Value = serde_json::from_str(&record.body).unwrap();
    let jti: uuid::Uuid = body["token"].as_str().unwrap().parse().unwrap();
    let calls = app.store.token_calls(jti, 10).await.unwrap();
    let endpoints: Vec<&str> = calls.iter().map(|c| c.endpoint.as_str()).collect();
    assert_eq!(calls.len(), 2, "{endpoints:?}");
    assert!(
        endpoints.iter().any(|e| e.contains("attestation_fiscale")),
        "{endpoints:?}"
    );
    assert!(
        endpoints.iter().any(|e| e.contains("attestation_vigilance")),
        "{endpoints:?}"
    );
    assert!(calls.iter().all(|c| c.status == 200));
    let purpose = &calls[0].purpose;
    assert_eq!(purpose.get("recipient").map(String::as_str), Some("21349910600010"));

    // Karim, the business contact, downloads too.
    let (mut karim, _) = log_in(&app, KARIM).await;
    let pdf = ask(&mut karim, &demande, "418166096", "fiscale").await;
    assert_eq!(pdf.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_sirens_unknown_companies_and_other_people_get_their_reason() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = approved_entreprise(&app).await;

    let bad = ask(&mut camille, &demande, "418166097", "fiscale").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let text = bad.text().await.unwrap();
    assert!(text.contains("SIREN invalide"), "{text}");

    let unknown_kind = ask(&mut camille, &demande, "418166096", "kbis").await;
    assert_eq!(unknown_kind.status(), StatusCode::BAD_REQUEST);

    // A valid SIREN the provider does not know: the gateway's 404 and its request id.
    let missing = ask(&mut camille, &demande, "732829320", "fiscale").await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let text = missing.text().await.unwrap();
    assert!(text.contains(r#"id="request-id""#), "{text}");

    // Without the CSRF token, nothing is fetched.
    let forged = camille
        .post_raw(
            &format!("{demande}/attestations"),
            &[("siren", "418166096"), ("attestation", "fiscale")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Another organisation sees nothing of the habilitation.
    let (mut sophie, _) = log_in(&app, SOPHIE).await;
    let page = sophie.get(&format!("{demande}/attestations")).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("Achats de Sainte-Colombe"));
}

#[tokio::test]
async fn a_particulier_habilitation_has_no_attestations() {
    let app = TestApp::builder().habilitation(|_| {}).start().await;
    let (mut camille, demande) = crate::portal::approved(&app).await;
    let tokens = camille.get(&format!("{demande}/jetons")).await;
    assert_eq!(tokens.status, StatusCode::OK);
    assert!(!tokens.body.contains(r#"id="attestations""#));
    let page = camille.get(&format!("{demande}/attestations")).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
}
