//! The attestations the portal downloads for an API Entreprise habilitation (§d.2):
//! which ones its token's scopes open, and who may ask. The portal calls the gateway
//! with the habilitation's own token, so each download is a journaled call like any
//! other; what an attestation is (path, scopes) comes from the bouquet's catalogue.

pub use passerelle_core::Siren;
use passerelle_store::TokenRecord;

use crate::content::ContactKind;
use crate::state::Role;
use crate::workflow::{Agent, Demande, Staff};

/// The attestations a company's regularity is proven by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// URSSAF's attestation de vigilance.
    Sociale,
    /// DGFIP's attestation de régularité fiscale.
    Fiscale,
}

impl Kind {
    pub const ALL: [Kind; 2] = [Kind::Sociale, Kind::Fiscale];

    pub fn key(self) -> &'static str {
        match self {
            Kind::Sociale => "sociale",
            Kind::Fiscale => "fiscale",
        }
    }

    pub fn parse(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Sociale => "Attestation de vigilance (URSSAF)",
            Kind::Fiscale => "Attestation de régularité fiscale (DGFIP)",
        }
    }

    /// The file name the browser saves it under.
    pub fn file_name(self, siren: &Siren) -> String {
        format!("attestation-{}-{}.pdf", self.key(), siren.as_str())
    }

    fn operation(self) -> &'static passerelle_entreprise::Operation {
        let id = match self {
            Kind::Sociale => "acoss_attestations_sociales",
            Kind::Fiscale => "dgfip_attestations_fiscales",
        };
        passerelle_entreprise::OPERATIONS
            .iter()
            .find(|o| o.endpoint.operation == id)
            .expect("the catalogue has both attestations")
    }

    /// The v4 path of the company's attestation on API Entreprise.
    pub fn path(self, siren: &Siren) -> String {
        let template = self.operation().endpoint.path;
        format!("/v4/{}", template.replace("{siren}", siren.as_str()))
    }

    /// Whether a token holding `scopes` may fetch it.
    pub fn opened_by(self, scopes: &[String]) -> bool {
        let wanted = self.operation().endpoint.access_scopes;
        scopes.iter().any(|s| wanted.contains(&s.as_str()))
    }
}

/// The attestations the habilitation's token opens (none outside API Entreprise).
pub fn available(demande: &Demande, token: &TokenRecord) -> Vec<Kind> {
    if demande.bouquet != passerelle_entreprise::NAME {
        return Vec::new();
    }
    Kind::ALL.into_iter().filter(|k| k.opened_by(&token.scopes)).collect()
}

/// §d.3: the applicant and the business contact download; the technical contact
/// handles the token, not the company files.
pub fn may_download(demande: &Demande, agent: &Agent, staff: &Staff) -> bool {
    let metier = demande.body.content.contact_email(ContactKind::ContactMetier);
    demande.roles(agent, staff).contains(&Role::Applicant)
        || metier.is_some_and(|m| m.eq_ignore_ascii_case(&agent.email) && agent.siret == demande.siret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_scopes_come_from_the_catalogue() {
        let siren = Siren::parse("418166096").unwrap();
        assert_eq!(
            Kind::Fiscale.path(&siren),
            "/v4/dgfip/unites_legales/418166096/attestation_fiscale"
        );
        assert_eq!(
            Kind::Sociale.path(&siren),
            "/v4/urssaf/unites_legales/418166096/attestation_vigilance"
        );
        assert!(Kind::Sociale.opened_by(&["attestations_sociales".into()]));
        assert!(!Kind::Sociale.opened_by(&["attestations_fiscales".into()]));
        assert!(Kind::Fiscale.opened_by(&["attestation_fiscale_dgfip".into()]));
        assert_eq!(Kind::parse("fiscale"), Some(Kind::Fiscale));
        assert_eq!(Kind::parse("autre"), None);
    }
}
