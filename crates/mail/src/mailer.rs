//! Sending letters over SMTP.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::letter::{Address, Letter};

/// Why a letter could not be sent.
///
/// Messages never carry addresses: server replies (which often quote them) stay in
/// the source error.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the letter has no recipient")]
    NoRecipient,
    #[error("an e-mail address is invalid")]
    InvalidAddress(#[source] lettre::address::AddressError),
    #[error("the message could not be built")]
    Build(#[source] lettre::error::Error),
    #[error("the TLS settings are invalid")]
    Tls(#[source] lettre::transport::smtp::Error),
    #[error("the SMTP exchange failed")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("the SMTP server did not answer within {0:?}")]
    Timeout(Duration),
}

impl MailError {
    /// Whether sending the same letter again is pointless (rejected by the server
    /// or by us), as opposed to a failure that may pass.
    pub fn is_permanent(&self) -> bool {
        match self {
            MailError::Smtp(e) => e.is_permanent(),
            MailError::Timeout(_) => false,
            _ => true,
        }
    }
}

/// Something that delivers letters.
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, letter: &Letter) -> Result<(), MailError>;
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain text: only for a relay on the same host or network.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (no silent fallback).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// Where and how to send.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    pub username: Option<String>,
    pub password: Option<String>,
    pub from: Address,
    /// Bound on a whole sending, connection included.
    pub timeout: Duration,
}

// The password must not reach logs through `{:?}`.
impl std::fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// A [`Mailer`] talking to an SMTP server, one connection per letter.
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
}

impl SmtpMailer {
    pub fn new(settings: SmtpSettings) -> Result<Self, MailError> {
        let tls = match settings.tls {
            TlsMode::None => Tls::None,
            TlsMode::StartTls => Tls::Required(tls_parameters(&settings.host)?),
            TlsMode::Tls => Tls::Wrapper(tls_parameters(&settings.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
            .port(settings.port)
            .tls(tls)
            .timeout(Some(settings.timeout));
        if let (Some(user), Some(password)) = (settings.username, settings.password) {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Self {
            transport: builder.build(),
            from: mailbox(&settings.from)?,
            timeout: settings.timeout,
        })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, letter: &Letter) -> Result<(), MailError> {
        let message = build_message(&self.from, letter)?;
        let recipients = letter.recipients().count();
        // lettre bounds the connection only; a server that stops answering
        // mid-exchange would hold the task forever.
        let sent = tokio::time::timeout(self.timeout, self.transport.send(message)).await;
        match sent {
            Ok(Ok(_)) => {
                tracing::info!(recipients, "letter sent");
                Ok(())
            }
            Ok(Err(e)) => {
                tracing::warn!(recipients, permanent = e.is_permanent(), "letter not sent");
                Err(MailError::Smtp(e))
            }
            Err(_) => {
                tracing::warn!(recipients, timeout = ?self.timeout, "SMTP server timed out");
                Err(MailError::Timeout(self.timeout))
            }
        }
    }
}

fn tls_parameters(host: &str) -> Result<TlsParameters, MailError> {
    TlsParameters::new(host.to_owned()).map_err(MailError::Tls)
}

fn mailbox(address: &Address) -> Result<Mailbox, MailError> {
    let email = address.email.trim().parse().map_err(MailError::InvalidAddress)?;
    let name = Some(address.name.trim().to_owned()).filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, email))
}

fn build_message(from: &Mailbox, letter: &Letter) -> Result<Message, MailError> {
    if letter.to.is_empty() && letter.cc.is_empty() {
        return Err(MailError::NoRecipient);
    }
    let mut builder = Message::builder().from(from.clone()).subject(&letter.subject);
    for address in &letter.to {
        builder = builder.to(mailbox(address)?);
    }
    for address in &letter.cc {
        builder = builder.cc(mailbox(address)?);
    }
    let text = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .body(letter.text.clone());
    let message = match &letter.html {
        None => builder.singlepart(text),
        Some(html) => builder.multipart(
            MultiPart::alternative()
                .singlepart(text)
                .singlepart(SinglePart::html(html.clone())),
        ),
    };
    message.map_err(MailError::Build)
}
