//! The letters of the portal's alerts about a habilitation's tokens: a spike of
//! refused calls, a call from a new address, a token unused for 60 days. They go to
//! the applicant and the technical contact, each alone, with the link to the page
//! where they turn alerts off.

use askama::Template;

use crate::letter::{Address, Letter};
use crate::lifecycle::{Context, Parties};

/// What an alert found.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenAlert {
    /// `refused` calls refused (401, 403, 429) in the last hour or two, against
    /// `usual` an hour over the week before.
    Spike { refused: u64, usual: f64 },
    /// The first call from `address` (an IPv6 client's /64), at `at` (Paris time, as
    /// written).
    NewAddress { address: String, at: String },
    /// No call for `days` days.
    Unused { days: i64 },
}

#[derive(Template)]
#[template(path = "alert.txt")]
struct Body<'a> {
    ctx: &'a Context,
    alert: &'a TokenAlert,
    token: &'a str,
    usual: String,
    settings_url: &'a str,
}

/// The letters of `alert` about the token called `token`: one to the applicant, one
/// to the technical contact when it is someone else.
pub fn alert_letters(
    ctx: &Context,
    parties: &Parties,
    alert: &TokenAlert,
    token: &str,
    settings_url: &str,
) -> Vec<Letter> {
    let usual = match alert {
        TokenAlert::Spike { usual, .. } => format!("{usual:.1}").replace('.', ","),
        _ => String::new(),
    };
    let body = Body {
        ctx,
        alert,
        token,
        usual,
        settings_url,
    };
    // The template calls no fallible filter: rendering only writes to a String.
    let text = body.render().expect("rendering a text template");
    let subject = format!(
        "[{}] {} (habilitation n° {})",
        ctx.bouquet_label,
        subject(alert),
        ctx.demande_number
    );
    let mut to: Vec<&Address> = vec![&parties.demandeur];
    if let Some(technique) = parties.technique.as_ref().filter(|t| !t.same_as(&parties.demandeur)) {
        to.push(technique);
    }
    to.into_iter()
        .map(|person| Letter {
            to: vec![person.clone()],
            cc: Vec::new(),
            subject: subject.clone(),
            text: format!("{}\n\n{text}", person.greeting()),
            html: None,
        })
        .collect()
}

fn subject(alert: &TokenAlert) -> &'static str {
    match alert {
        TokenAlert::Spike { .. } => "Pic d'appels refusés sur votre jeton",
        TokenAlert::NewAddress { .. } => "Votre jeton appelle depuis une nouvelle adresse",
        TokenAlert::Unused { .. } => "Votre jeton ne sert plus",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Bouquet;

    fn ctx() -> Context {
        Context {
            bouquet_label: "API Particulier".into(),
            bouquet: Bouquet::Particulier,
            demande_title: "Tarification cantine".into(),
            demande_number: 12,
            demande_url: "https://passerelle.example/habilitation/demandes/d".into(),
            token_url: "https://passerelle.example/habilitation/demandes/d/jeton".into(),
            portal_url: "https://passerelle.example/habilitation".into(),
            expires_on: None,
        }
    }

    fn parties(technique: &str) -> Parties {
        Parties {
            demandeur: Address::new("Camille", "camille@mairie.example"),
            technique: Some(Address::new("", technique)),
            metier: Some(Address::new("", "metier@mairie.example")),
            dpo: None,
            responsable_traitement: None,
            instructors: Vec::new(),
            reporters: Vec::new(),
        }
    }

    #[test]
    fn the_applicant_and_the_technical_contact_each_get_one_with_the_settings_link() {
        let alert = TokenAlert::Spike {
            refused: 120,
            usual: 2.5,
        };
        let settings = "https://passerelle.example/habilitation/demandes/d/alertes";
        let letters = alert_letters(&ctx(), &parties("karim@mairie.example"), &alert, "Serveur A", settings);
        let to: Vec<&str> = letters.iter().map(|l| l.to[0].email.as_str()).collect();
        assert_eq!(to, ["camille@mairie.example", "karim@mairie.example"]);
        let text = &letters[0].text;
        assert!(text.starts_with("Bonjour Camille,"), "{text}");
        assert!(
            text.contains("120 appels refusés") && text.contains("2,5 par heure"),
            "{text}"
        );
        assert!(text.contains(settings) && text.contains("Serveur A"), "{text}");
        assert_eq!(
            letters[0].subject,
            "[API Particulier] Pic d'appels refusés sur votre jeton (habilitation n° 12)"
        );
        let same = alert_letters(&ctx(), &parties("Camille@Mairie.example"), &alert, "x", settings);
        assert_eq!(same.len(), 1, "one person, one letter");
    }

    #[test]
    fn each_kind_says_what_it_found() {
        let address = TokenAlert::NewAddress {
            address: "2001:db8:1:2::/64".into(),
            at: "06/12/2026 14:03".into(),
        };
        let text = &alert_letters(&ctx(), &parties("k@m.example"), &address, "t", "u")[0].text;
        assert!(
            text.contains("2001:db8:1:2::/64") && text.contains("06/12/2026 14:03"),
            "{text}"
        );
        let unused = TokenAlert::Unused { days: 60 };
        let text = &alert_letters(&ctx(), &parties("k@m.example"), &unused, "t", "u")[0].text;
        assert!(text.contains("60 jours"), "{text}");
    }
}
