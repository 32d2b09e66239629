//! The DataPass v2 payload (reference c.2), parsed into types the sink can match on.

use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

/// What a body can be: the ping DataPass sends when a webhook is created or its URL
/// changes, or a notification about a demande.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    Test,
    Notification(Box<Notification>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub event: Event,
    /// Unix seconds, set by DataPass when the event happened (not when it is delivered).
    pub fired_at: i64,
    /// From `model_type` (`authorization_request/api_particulier`…).
    pub bouquet: Bouquet,
    /// DataPass's id of the demande, unique across habilitation types.
    pub model_id: u64,
    /// The demande as it was right after the event.
    pub data: Demande,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bouquet {
    ApiParticulier,
    ApiEntreprise,
}

impl Bouquet {
    pub const ALL: [Bouquet; 2] = [Bouquet::ApiParticulier, Bouquet::ApiEntreprise];

    /// The habilitation type's name in DataPass, also used in the webhook paths.
    pub fn slug(self) -> &'static str {
        match self {
            Bouquet::ApiParticulier => "api_particulier",
            Bouquet::ApiEntreprise => "api_entreprise",
        }
    }

    fn from_model_type(model_type: &str) -> Option<Self> {
        let slug = model_type.strip_prefix("authorization_request/")?;
        Self::ALL.into_iter().find(|b| b.slug() == slug)
    }
}

/// The events DataPass v2 names in its webhooks (reference b.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Create,
    CreateByApi,
    Update,
    UpdateByApi,
    Submit,
    Approve,
    Refuse,
    RequestChanges,
    Revoke,
    Archive,
    Reopen,
    CancelReopening,
    Transfer,
}

impl Event {
    pub const ALL: [Event; 13] = [
        Event::Create,
        Event::CreateByApi,
        Event::Update,
        Event::UpdateByApi,
        Event::Submit,
        Event::Approve,
        Event::Refuse,
        Event::RequestChanges,
        Event::Revoke,
        Event::Archive,
        Event::Reopen,
        Event::CancelReopening,
        Event::Transfer,
    ];

    /// The name on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Create => "create",
            Event::CreateByApi => "create_by_api",
            Event::Update => "update",
            Event::UpdateByApi => "update_by_api",
            Event::Submit => "submit",
            Event::Approve => "approve",
            Event::Refuse => "refuse",
            Event::RequestChanges => "request_changes",
            Event::Revoke => "revoke",
            Event::Archive => "archive",
            Event::Reopen => "reopen",
            Event::CancelReopening => "cancel_reopening",
            Event::Transfer => "transfer",
        }
    }

    pub fn from_wire(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DemandeState {
    Draft,
    Submitted,
    ChangesRequested,
    Validated,
    Refused,
    Revoked,
    Archived,
}

/// The `data` object of the payload. Fields the portal does not use (dates,
/// `authorizations`, `service_provider`, INSEE record…) are left out.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Demande {
    pub id: u64,
    pub public_id: Uuid,
    pub state: DemandeState,
    /// The form template used: tells the use case or the editor.
    pub form_uid: String,
    /// Every form field by wire key, as sent; read it through the helpers below.
    #[serde(default)]
    pub data: Map<String, Value>,
    pub organization: Organization,
    pub applicant: Applicant,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Organization {
    pub siret: String,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Applicant {
    pub email: String,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    /// The identity provider's subject (ProConnect).
    #[serde(default)]
    pub uid: Option<String>,
}

/// The people a form names; each is a group of `<kind>_email`, `<kind>_given_name`…
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContactKind {
    ContactMetier,
    ContactTechnique,
    DelegueProtectionDonnees,
    ResponsableTraitement,
}

impl ContactKind {
    pub fn prefix(self) -> &'static str {
        match self {
            ContactKind::ContactMetier => "contact_metier",
            ContactKind::ContactTechnique => "contact_technique",
            ContactKind::DelegueProtectionDonnees => "delegue_protection_donnees",
            ContactKind::ResponsableTraitement => "responsable_traitement",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone_number: Option<String>,
    pub job_title: Option<String>,
}

impl Demande {
    /// A form field holding a non-blank string.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.data
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.trim().is_empty())
    }

    /// The strings of a list field; absent or not a list gives an empty list.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.data
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }

    pub fn intitule(&self) -> Option<&str> {
        self.text("intitule")
    }

    pub fn description(&self) -> Option<&str> {
        self.text("description")
    }

    pub fn scopes(&self) -> Vec<&str> {
        self.list("scopes")
    }

    /// API Particulier only: `params`, `formulaire_qf`, `france_connect`.
    pub fn modalities(&self) -> Vec<&str> {
        self.list("modalities")
    }

    /// The contact of that kind, if the form names one with an e-mail (the e-mail is
    /// what identifies a person on the portal).
    pub fn contact(&self, kind: ContactKind) -> Option<Contact> {
        let field = |name: &str| self.text(&format!("{}_{name}", kind.prefix())).map(str::to_owned);
        Some(Contact {
            email: field("email")?,
            given_name: field("given_name"),
            family_name: field("family_name"),
            phone_number: field("phone_number"),
            job_title: field("job_title"),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    #[error("not a DataPass v2 payload: {0}")]
    Malformed(#[from] serde_json::Error),
    #[error("unknown event {0:?}")]
    UnknownEvent(String),
    #[error("unknown model_type {0:?}")]
    UnknownModelType(String),
    #[error("model_id {model_id} differs from data.id {data_id}")]
    MismatchedId { model_id: u64, data_id: u64 },
    #[error("organization SIRET {0:?} is not 14 digits")]
    InvalidSiret(String),
}

/// The top level as sent, before the names are checked.
#[derive(Deserialize)]
struct Wire {
    event: String,
    fired_at: i64,
    model_type: String,
    model_id: u64,
    data: Demande,
}

/// Parses a raw body. The caller has already checked its signature.
pub fn parse(raw_body: &[u8]) -> Result<Payload, PayloadError> {
    let value: Value = serde_json::from_slice(raw_body)?;
    if value.get("test") == Some(&Value::Bool(true)) {
        return Ok(Payload::Test);
    }
    let wire: Wire = serde_json::from_value(value)?;
    let event = Event::from_wire(&wire.event).ok_or(PayloadError::UnknownEvent(wire.event))?;
    let bouquet = Bouquet::from_model_type(&wire.model_type).ok_or(PayloadError::UnknownModelType(wire.model_type))?;
    if wire.data.id != wire.model_id {
        return Err(PayloadError::MismatchedId {
            model_id: wire.model_id,
            data_id: wire.data.id,
        });
    }
    if !is_siret(&wire.data.organization.siret) {
        return Err(PayloadError::InvalidSiret(wire.data.organization.siret));
    }
    Ok(Payload::Notification(Box::new(Notification {
        event,
        fired_at: wire.fired_at,
        bouquet,
        model_id: wire.model_id,
        data: wire.data,
    })))
}

fn is_siret(s: &str) -> bool {
    s.len() == 14 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(event: &str, model_type: &str) -> Vec<u8> {
        json!({
            "event": event,
            "fired_at": 1_767_225_600,
            "model_type": model_type,
            "model_id": 4321,
            "data": {
                "id": 4321,
                "public_id": "5b0f3c6e-2a44-4b1e-9a51-0c7d2f6b8e10",
                "type": "AuthorizationRequest::APIParticulier",
                "state": "validated",
                "form_uid": "api-particulier-tarification-municipale-enfance",
                "data": {
                    "intitule": "Tarification des cantines",
                    "description": "  ",
                    "scopes": ["cnaf_quotient_familial", "cnaf_allocataires", 3],
                    "modalities": ["params"],
                    "contact_technique_email": "dsi@ville-exemple.fr",
                    "contact_technique_given_name": "Paule",
                    "contact_metier_given_name": "Sans Courriel"
                },
                "organization": { "id": 12, "name": "Commune d'Exemple", "siret": "21000000000017" },
                "applicant": { "id": 7, "email": "agent@ville-exemple.fr" }
            }
        })
        .to_string()
        .into_bytes()
    }

    fn notification(raw: &[u8]) -> Notification {
        match parse(raw).unwrap() {
            Payload::Notification(n) => *n,
            Payload::Test => panic!("not a notification"),
        }
    }

    #[test]
    fn every_event_round_trips() {
        for event in Event::ALL {
            assert_eq!(Event::from_wire(event.as_str()), Some(event));
        }
    }

    #[test]
    fn parses_the_top_level() {
        let n = notification(&body("approve", "authorization_request/api_particulier"));
        assert_eq!(n.event, Event::Approve);
        assert_eq!(n.bouquet, Bouquet::ApiParticulier);
        assert_eq!((n.model_id, n.fired_at), (4321, 1_767_225_600));
        assert_eq!(n.data.state, DemandeState::Validated);
        assert_eq!(n.data.organization.siret, "21000000000017");
        assert_eq!(n.data.applicant.given_name, None);
    }

    #[test]
    fn field_helpers() {
        let n = notification(&body("submit", "authorization_request/api_entreprise"));
        let demande = &n.data;
        assert_eq!(n.bouquet, Bouquet::ApiEntreprise);
        assert_eq!(demande.intitule(), Some("Tarification des cantines"));
        assert_eq!(demande.description(), None, "blank is absent");
        assert_eq!(demande.scopes(), ["cnaf_quotient_familial", "cnaf_allocataires"]);
        assert_eq!(demande.modalities(), ["params"]);
        let technique = demande.contact(ContactKind::ContactTechnique).unwrap();
        assert_eq!(technique.email, "dsi@ville-exemple.fr");
        assert_eq!(technique.given_name.as_deref(), Some("Paule"));
        assert_eq!(technique.phone_number, None);
        assert_eq!(demande.contact(ContactKind::ContactMetier), None, "no e-mail");
    }

    #[test]
    fn typed_errors() {
        let unknown = parse(&body("validate", "authorization_request/api_particulier"));
        assert!(matches!(unknown, Err(PayloadError::UnknownEvent(e)) if e == "validate"));
        let other_type = parse(&body("approve", "authorization_request/hubee_cert_dc"));
        assert!(matches!(other_type, Err(PayloadError::UnknownModelType(_))));
        assert!(matches!(parse(b"[1, 2"), Err(PayloadError::Malformed(_))));
        assert!(matches!(
            parse(b"{\"event\":\"approve\"}"),
            Err(PayloadError::Malformed(_))
        ));
    }

    #[test]
    fn checks_ids_and_siret() {
        let mut value: Value =
            serde_json::from_slice(&body("approve", "authorization_request/api_particulier")).unwrap();
        value["model_id"] = json!(1);
        let raw = value.to_string();
        assert!(matches!(parse(raw.as_bytes()), Err(PayloadError::MismatchedId { .. })));
        value["model_id"] = json!(4321);
        value["data"]["organization"]["siret"] = json!("2100000000001");
        let raw = value.to_string();
        assert!(matches!(parse(raw.as_bytes()), Err(PayloadError::InvalidSiret(_))));
    }

    #[test]
    fn the_ping_is_recognised() {
        let raw = br#"{"test":true,"timestamp":"2026-01-01T00:00:00Z"}"#;
        assert_eq!(parse(raw).unwrap(), Payload::Test);
    }
}
