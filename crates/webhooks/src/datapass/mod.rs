//! The receiver of DataPass v2 webhooks (see the reference, section c).

mod notification;
mod router;
mod signature;
mod sink;

pub use notification::{
    parse, Applicant, Bouquet, Contact, ContactKind, Demande, DemandeState, Event, Notification, Organization, Payload,
    PayloadError,
};
pub use router::{router, MAX_BODY_BYTES};
pub use signature::{signature_header, verify_signature, SIGNATURE_HEADER};
pub use sink::{Applied, DeliveryKey, Sink, SinkError};
