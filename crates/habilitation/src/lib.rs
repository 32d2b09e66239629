//! The demande d'habilitation, as DataPass v2 knows it (`../docs/habilitation.md`):
//! the versioned forms an agent fills (`form`), what they write and the checks before
//! submission (`content`), and the state machine with the roles that may move it
//! (`state`). Pure domain: the store keeps demandes, the web application shows them.

pub mod attestations;
pub mod audit;
pub mod content;
pub mod datapass;
pub mod delegations;
pub mod form;
pub mod operator;
pub mod state;
pub mod tokens;
pub mod workflow;

pub use content::{is_pdf, ContactKind, Content, Document, Problem};
pub use form::{Form, Forms, Kind, Step};
pub use state::{decide, possible, Event, Refusal, Role, Standing, State};

/// Every scope a bouquet's catalogue knows (none for an unknown bouquet).
pub fn known_scopes(bouquet: &str) -> Vec<&'static str> {
    match bouquet {
        "particulier" => passerelle_catalogue::all_scopes(),
        "entreprise" => passerelle_entreprise::all_scopes(),
        _ => Vec::new(),
    }
}
