//! The letter that tells a habilitation's applicant a delegation to an editor was
//! granted or revoked (whoever of its people did it).

use askama::Template;

use crate::letter::{Address, Letter};
use crate::lifecycle::{Context, Person};

#[derive(Template)]
#[template(path = "delegation.txt")]
struct Body<'a> {
    ctx: &'a Context,
    granted: bool,
    editor: &'a str,
    by: &'a str,
    delegations_url: &'a str,
}

/// What happened to a delegation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelegationChange {
    Granted,
    Revoked,
}

/// The letter to `demandeur`: `by` granted or revoked the delegation to `editor`.
pub fn delegation_letter(
    ctx: &Context,
    demandeur: &Person,
    change: DelegationChange,
    editor: &str,
    by: &str,
    delegations_url: &str,
) -> Letter {
    let granted = change == DelegationChange::Granted;
    let body = Body {
        ctx,
        granted,
        editor,
        by,
        delegations_url,
    };
    let what = if granted {
        "déléguée à"
    } else {
        "n'est plus déléguée à"
    };
    Letter {
        to: vec![Address::new(demandeur.name.clone(), demandeur.email.clone())],
        cc: Vec::new(),
        subject: format!(
            "[{}] Habilitation n° {} {what} {editor}",
            ctx.bouquet_label, ctx.demande_number
        ),
        // The template calls no fallible filter: rendering only writes to a String.
        text: format!("Bonjour,\n\n{}", body.render().expect("rendering a text template")),
        html: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Bouquet;

    #[test]
    fn the_letter_names_the_editor_who_acted_and_where_to_check() {
        let ctx = Context {
            bouquet_label: "API Particulier".into(),
            bouquet: Bouquet::Particulier,
            demande_title: "Cantine".into(),
            demande_number: 12,
            demande_url: "https://h.example/habilitation/demandes/x".into(),
            token_url: "https://h.example/habilitation/demandes/x/jeton".into(),
            portal_url: "https://h.example/habilitation".into(),
            expires_on: None,
        };
        let camille = Address::new("Camille Martin", "camille@ville.example");
        let url = "https://h.example/habilitation/demandes/x/delegations";
        let granted = delegation_letter(
            &ctx,
            &camille,
            DelegationChange::Granted,
            "RestauScol",
            "karim@ville.example",
            url,
        );
        assert_eq!(granted.to, std::slice::from_ref(&camille));
        assert_eq!(
            granted.subject,
            "[API Particulier] Habilitation n° 12 déléguée à RestauScol"
        );
        assert!(
            granted.text.contains("karim@ville.example a délégué") && granted.text.contains(url),
            "{}",
            granted.text
        );
        let revoked = delegation_letter(
            &ctx,
            &camille,
            DelegationChange::Revoked,
            "RestauScol",
            "camille@ville.example",
            url,
        );
        assert!(revoked.text.contains("ne répondent plus"), "{}", revoked.text);
    }
}
