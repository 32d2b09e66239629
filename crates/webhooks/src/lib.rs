//! Webhooks, both ways.
//!
//! - [`datapass`] receives the notifications DataPass v2 sends when a demande moves
//!   (submitted, approved, revoked…): it checks the signature over the raw body, parses
//!   the payload into a typed [`datapass::Notification`] and hands it to a
//!   [`datapass::Sink`] with an idempotency key. The sink's contract adds what the
//!   historical portal lacks: a replayed delivery has one effect, and an event older than
//!   the last one applied to its demande is ignored.
//! - [`outgoing`] sends Passerelle's own webhooks to integrators: an envelope whose id
//!   and date are signed with the body, a timestamped signature that accepts two secrets
//!   during a rotation, bounded retries with jittered backoff, and a delivery client that
//!   never follows redirects nor reads an unbounded answer.
//!
//! [`testing::MemorySink`] is the reference implementation of the sink's rules; the
//! store's implementation must behave the same.

pub mod datapass;
pub mod outgoing;
pub mod testing;
