//! What an agent writes in a demande, and the checks it must pass to be submitted.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::form::{Form, Step, MODALITIES};

/// A contact the form names: which kinds depends on the bouquet (§a.3, §a.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    ContactMetier,
    ContactTechnique,
    DelegueProtectionDonnees,
    ResponsableTraitement,
}

impl ContactKind {
    pub fn key(self) -> &'static str {
        match self {
            ContactKind::ContactMetier => "contact_metier",
            ContactKind::ContactTechnique => "contact_technique",
            ContactKind::DelegueProtectionDonnees => "delegue_protection_donnees",
            ContactKind::ResponsableTraitement => "responsable_traitement",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ContactKind::ContactMetier => "Contact métier",
            ContactKind::ContactTechnique => "Contact technique",
            ContactKind::DelegueProtectionDonnees => "Délégué à la protection des données",
            ContactKind::ResponsableTraitement => "Responsable de traitement",
        }
    }

    /// The contacts a bouquet's forms ask for.
    pub fn of(bouquet: &str) -> &'static [ContactKind] {
        use ContactKind::*;
        match bouquet {
            "entreprise" => &[
                ResponsableTraitement,
                DelegueProtectionDonnees,
                ContactMetier,
                ContactTechnique,
            ],
            _ => &[ContactMetier, ContactTechnique, DelegueProtectionDonnees],
        }
    }
}

/// The parts of a contact, by the suffix of their wire key.
pub const CONTACT_PARTS: &[(&str, &str)] = &[
    ("given_name", "Prénom"),
    ("family_name", "Nom"),
    ("email", "Adresse électronique"),
    ("phone_number", "Téléphone"),
    ("job_title", "Fonction"),
];

/// A legal-basis document kept in the object store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub id: Uuid,
    pub filename: String,
    pub size: u64,
    pub sha256: String,
}

/// The demande's fields (wire keys of §a.2), scopes, modalities and documents.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    pub fields: BTreeMap<String, String>,
    pub scopes: BTreeSet<String>,
    pub modalities: BTreeSet<String>,
    pub documents: Vec<Document>,
    pub terms_accepted: bool,
    pub dpo_informed: bool,
}

/// A field that keeps a demande from being submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub message: String,
}

/// At most this many legal-basis documents, of at most `MAX_DOCUMENT_BYTES` each.
pub const MAX_DOCUMENTS: usize = 6;
pub const MAX_DOCUMENT_BYTES: usize = 10 * 1024 * 1024;

/// The longest project name and other field, in characters.
const MAX_TITLE: usize = 200;
const MAX_FIELD: usize = 5_000;

/// Beyond 36 months of retention the form asks why.
const RETENTION_WITHOUT_REASON: u32 = 36;

impl Content {
    /// A new demande's content: what the form fills in advance.
    pub fn from_form(form: &Form) -> Content {
        let scopes = form.locked_scopes.iter().chain(&form.checked_scopes).cloned().collect();
        Content {
            fields: form.prefill.clone(),
            scopes,
            modalities: form.modalities.iter().cloned().collect(),
            ..Content::default()
        }
    }

    pub fn field(&self, key: &str) -> &str {
        self.fields.get(key).map(String::as_str).unwrap_or("")
    }

    /// The contact of `kind`, when its e-mail is filled.
    pub fn contact_email(&self, kind: ContactKind) -> Option<String> {
        let email = self.field(&format!("{}_email", kind.key())).trim().to_lowercase();
        (!email.is_empty()).then_some(email)
    }

    /// Takes the agent's edits, keeping what `form` locks.
    pub fn edit(
        &mut self,
        form: &Form,
        fields: BTreeMap<String, String>,
        scopes: BTreeSet<String>,
        modalities: BTreeSet<String>,
    ) {
        for (key, value) in fields {
            if editable(form, &key) {
                let most = if key == "intitule" { MAX_TITLE } else { MAX_FIELD };
                self.fields.insert(key, value.trim().chars().take(most).collect());
            }
        }
        if !form.locks(Step::Scopes) {
            let known = crate::known_scopes(&form.bouquet);
            let offered = form.offered(&known);
            self.scopes = scopes
                .into_iter()
                .filter(|s| offered.contains(&s.as_str()))
                .chain(form.locked_scopes.iter().cloned())
                .collect();
        }
        if form.steps.contains(&Step::Modalities) && !form.locks(Step::Modalities) {
            self.modalities = modalities
                .into_iter()
                .filter(|m| MODALITIES.iter().any(|(k, _)| k == m))
                .collect();
        }
    }

    /// Everything that keeps the demande from being submitted; empty when it may be.
    pub fn problems(&self, form: &Form, bouquet_scopes: &[&'static str]) -> Vec<Problem> {
        let mut problems = Vec::new();
        let mut need = |field: &str, message: &str| {
            problems.push(Problem {
                field: field.into(),
                message: message.into(),
            })
        };
        for (key, message) in [
            ("intitule", "Donnez un nom au projet."),
            (
                "description",
                "Décrivez le projet : à quoi serviront les données, et pour qui.",
            ),
            (
                "cadre_juridique_nature",
                "Indiquez la nature et les références du texte qui fonde la demande.",
            ),
            (
                "destinataire_donnees_caractere_personnel",
                "Indiquez qui recevra les données.",
            ),
            (
                "duree_conservation_donnees_caractere_personnel",
                "Indiquez la durée de conservation, en mois.",
            ),
        ] {
            if self.field(key).trim().is_empty() {
                need(key, message);
            }
        }
        let url = self.field("cadre_juridique_url").trim();
        if url.is_empty() && self.documents.is_empty() {
            need("cadre_juridique_url", "Donnez l'adresse du texte ou joignez-le en PDF.");
        } else if !url.is_empty() && !web_address(url) {
            need(
                "cadre_juridique_url",
                "L'adresse du texte doit commencer par https:// ou http://.",
            );
        }
        match self.field("duree_conservation_donnees_caractere_personnel").trim() {
            "" => {}
            months => match months.parse::<u32>() {
                Err(_) => need(
                    "duree_conservation_donnees_caractere_personnel",
                    "La durée est un nombre de mois.",
                ),
                Ok(m)
                    if m > RETENTION_WITHOUT_REASON
                        && self
                            .field("duree_conservation_donnees_caractere_personnel_justification")
                            .trim()
                            .is_empty() =>
                {
                    need(
                        "duree_conservation_donnees_caractere_personnel_justification",
                        "Au-delà de 36 mois, justifiez la durée de conservation.",
                    )
                }
                Ok(_) => {}
            },
        }
        if self.scopes.is_empty() {
            need("scopes", "Cochez au moins une donnée.");
        }
        if let Some(unknown) = self.scopes.iter().find(|s| !bouquet_scopes.contains(&s.as_str())) {
            need(
                "scopes",
                &format!("La donnée « {unknown} » n'existe pas dans ce bouquet."),
            );
        }
        if form.steps.contains(&Step::Modalities) && self.modalities.is_empty() {
            need("modalities", "Choisissez au moins une modalité d'accès.");
        }
        for kind in ContactKind::of(&form.bouquet) {
            for (part, label) in CONTACT_PARTS {
                let key = format!("{}_{part}", kind.key());
                let value = self.field(&key).trim();
                if value.is_empty() {
                    need(&key, &format!("{} : {label} manquant.", kind.label()));
                } else if *part == "email" && !email_address(value) {
                    need(
                        &key,
                        &format!("{} : l'adresse électronique n'est pas valide.", kind.label()),
                    );
                } else if *part == "phone_number" && !phone_number(value) {
                    need(
                        &key,
                        &format!("{} : le numéro de téléphone n'est pas valide.", kind.label()),
                    );
                }
            }
        }
        if !self.terms_accepted {
            need(
                "terms_of_service_accepted",
                "Acceptez les conditions générales d'utilisation.",
            );
        }
        if !self.dpo_informed {
            need(
                "data_protection_officer_informed",
                "Confirmez que votre délégué à la protection des données est informé.",
            );
        }
        problems
    }
}

/// Whether the agent may change `key` on `form`.
fn editable(form: &Form, key: &str) -> bool {
    let step = match crate::form::step_of(key) {
        Some(step) => step,
        None if contact_keys(&form.bouquet).any(|c| c == key) => Step::Contacts,
        None => return false,
    };
    form.steps.contains(&step) && !form.locks(step)
}

/// The wire keys of every contact part a bouquet's forms ask for.
fn contact_keys(bouquet: &str) -> impl Iterator<Item = String> {
    ContactKind::of(bouquet).iter().flat_map(|kind| {
        CONTACT_PARTS
            .iter()
            .map(move |(part, _)| format!("{}_{part}", kind.key()))
    })
}

fn web_address(url: &str) -> bool {
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    rest.is_some_and(|r| r.len() > 3 && r.contains('.') && !r.contains(char::is_whitespace))
}

pub(crate) fn email_address(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !email.contains(char::is_whitespace)
        && !domain.contains('@')
}

fn phone_number(phone: &str) -> bool {
    let digits: String = phone.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect();
    let national = digits.strip_prefix("+33").map(|d| format!("0{d}")).unwrap_or(digits);
    national.len() == 10 && national.starts_with('0') && national.chars().all(|c| c.is_ascii_digit())
}

/// Whether `bytes` are a PDF file by their content (not their name): the `%PDF-`
/// header and an end-of-file marker near the end.
pub fn is_pdf(bytes: &[u8]) -> bool {
    let tail = &bytes[bytes.len().saturating_sub(1024)..];
    bytes.starts_with(b"%PDF-") && tail.windows(5).any(|w| w == b"%%EOF")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::Forms;

    fn form_named(id: &str) -> Form {
        Forms::built_in(crate::known_scopes).unwrap().get(id).unwrap().clone()
    }

    fn complete(form: &Form) -> Content {
        let mut content = Content::from_form(form);
        let mut fields = BTreeMap::from([
            ("intitule".to_string(), "Tarifs de la cantine".to_string()),
            ("description".into(), "Calcul du tarif".into()),
            ("cadre_juridique_nature".into(), "Délibération du 3 mars 2026".into()),
            (
                "cadre_juridique_url".into(),
                "https://ville.example/deliberation".into(),
            ),
            (
                "destinataire_donnees_caractere_personnel".into(),
                "Service enfance".into(),
            ),
            ("duree_conservation_donnees_caractere_personnel".into(), "12".into()),
        ]);
        for kind in ContactKind::of(&form.bouquet) {
            for (part, value) in [
                ("given_name", "Camille"),
                ("family_name", "Martin"),
                ("email", "camille.martin@ville.example"),
                ("phone_number", "01 23 45 67 89"),
                ("job_title", "Responsable"),
            ] {
                fields.insert(format!("{}_{part}", kind.key()), value.into());
            }
        }
        let scopes = BTreeSet::from(["cnaf_quotient_familial".to_string()]);
        content.edit(form, fields, scopes, BTreeSet::from(["params".to_string()]));
        content.terms_accepted = true;
        content.dpo_informed = true;
        content
    }

    #[test]
    fn a_complete_demande_has_no_problem() {
        let form = form_named("api-particulier-libre");
        let content = complete(&form);
        assert_eq!(content.problems(&form, &crate::known_scopes("particulier")), vec![]);
    }

    #[test]
    fn each_missing_piece_is_named() {
        let form = form_named("api-particulier-libre");
        let problems = Content::default().problems(&form, &crate::known_scopes("particulier"));
        let fields: BTreeSet<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for expected in [
            "intitule",
            "cadre_juridique_url",
            "scopes",
            "modalities",
            "contact_technique_email",
            "delegue_protection_donnees_phone_number",
            "terms_of_service_accepted",
            "data_protection_officer_informed",
        ] {
            assert!(fields.contains(expected), "{expected} in {fields:?}");
        }
    }

    #[test]
    fn a_long_retention_needs_its_reason_and_addresses_are_checked() {
        let form = form_named("api-particulier-libre");
        let mut content = complete(&form);
        content
            .fields
            .insert("duree_conservation_donnees_caractere_personnel".into(), "48".into());
        content
            .fields
            .insert("cadre_juridique_url".into(), "ville.example".into());
        content.fields.insert("contact_metier_email".into(), "camille@".into());
        let problems = content.problems(&form, &crate::known_scopes("particulier"));
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "cadre_juridique_url",
                "duree_conservation_donnees_caractere_personnel_justification",
                "contact_metier_email"
            ]
        );
    }

    #[test]
    fn a_locked_step_ignores_edits() {
        let form = form_named("api-particulier-editeur-restauscol");
        let mut content = complete(&form);
        let before = content.scopes.clone();
        content.edit(
            &form,
            BTreeMap::new(),
            BTreeSet::from(["cnaf_enfants".to_string()]),
            BTreeSet::new(),
        );
        assert_eq!(content.scopes, before);
        let locked = form_named("api-entreprise-editeur-subventia");
        let mut content = Content::from_form(&locked);
        let title = content.field("intitule").to_string();
        content.edit(
            &locked,
            BTreeMap::from([("intitule".into(), "Autre".into())]),
            BTreeSet::new(),
            BTreeSet::new(),
        );
        assert_eq!(content.field("intitule"), title);
    }

    #[test]
    fn a_pdf_is_known_by_its_content() {
        assert!(is_pdf(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n%%EOF\n"));
        assert!(!is_pdf(b"<html><body>%PDF-</body></html>"));
        assert!(!is_pdf(b"%PDF-1.7 but cut short"));
        assert!(!is_pdf(b""));
    }

    #[test]
    fn phones_and_emails() {
        assert!(phone_number("+33 6 12 34 56 78"));
        assert!(phone_number("01.23.45.67.89"));
        assert!(!phone_number("12345"));
        assert!(email_address("a.b@c.fr"));
        assert!(!email_address("a b@c.fr"));
        assert!(!email_address("ab@cfr"));
    }
}
