//! Passerelle's own webhooks to integrators, built to avoid what section c.1 of the
//! reference found in DataPass: the delivery id and the date are signed with the body,
//! the signature carries a timestamp (replays are refused), two secrets can be valid
//! during a rotation, retries are bounded, and the HTTP client has timeouts.

mod deliver;
mod envelope;
mod retry;
mod signature;

pub use deliver::{Attempt, Deliverer, MAX_EXCERPT};
pub use envelope::Envelope;
pub use retry::RetryPolicy;
pub use signature::{sign, verify, SIGNATURE_HEADER};
