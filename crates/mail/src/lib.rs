//! E-mails of Passerelle's habilitation workflow.
//!
//! [`letters`] decides, as a pure function, who is written to and what at each step
//! of a demande's life (submission, instruction, approval, expiry of the token…),
//! so that every person holding a role is reached exactly once. [`SmtpMailer`]
//! delivers the letters, and [`testing::SmtpSink`] is a real SMTP server that
//! keeps what it receives, for tests.

mod alert;
mod audit;
mod delegation;
mod expiry;
mod letter;
mod lifecycle;
mod mailer;
pub mod testing;
mod wording;

pub use alert::{alert_letters, TokenAlert};
pub use audit::{audit_notice_letters, AuditNotice, AuditedCall, AUDIT_CALLS_SHOWN};
pub use delegation::{delegation_letter, DelegationChange};
pub use expiry::{due_notice, EXPIRY_NOTICE_DAYS};
pub use letter::{Address, Letter};
pub use lifecycle::{letters, token_link_letter, Bouquet, Context, Lifecycle, Parties, Person};
pub use mailer::{MailError, Mailer, SmtpMailer, SmtpSettings, TlsMode};
