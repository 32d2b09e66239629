//! What happens to the habilitation outbox after the transaction that filled it.
//!
//! The workflow (`passerelle_habilitation::workflow`) writes the e-mails and webhooks
//! of an event in the same transaction as the event; nothing is sent there. This crate
//! sends them:
//!
//! - [`Dispatcher`] takes the due items, sends each (a letter over SMTP, a signed
//!   webhook to an integrator) and records the outcome: done, retried later under a
//!   [`RetryPolicy`](passerelle_webhooks::outgoing::RetryPolicy), or dead (a dead
//!   letter an admin may [`replay`]). Without a mail server ([`MailRoute::Kept`], as
//!   in `passerelle demo`) letters are kept, readable on the admin page, not sent.
//! - [`queue_expiry_notices`] is the daily job that queues the token expiry notices
//!   (J-90 … J-0), each at most once.
//!
//! [`status`] tells the admin page what became of an item.

mod dispatch;
mod expiry;
mod guard;
mod route;
mod status;

pub use dispatch::{replay, Dispatcher, Report, LEASE, RETRY};
pub use expiry::queue_expiry_notices;
pub use guard::forbidden;
pub use route::{MailRoute, WebhookRoute};
pub use status::{status, Status};
