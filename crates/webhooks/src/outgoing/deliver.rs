use std::error::Error as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chrono::Utc;
use reqwest::header::CONTENT_TYPE;
use reqwest::redirect;
use serde::Serialize;

use super::{sign, Envelope, SIGNATURE_HEADER};

/// The most of a receiver's answer read and kept, in bytes (and so in characters).
pub const MAX_EXCERPT: usize = 10_000;

const TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The outcome of one POST, as the delivery log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attempt {
    /// `None` when no answer came (connection refused, timeout…).
    pub status: Option<u16>,
    /// A 2xx status: the receiver took the webhook (its body is informative only).
    /// Anything else, redirects included, calls for a retry.
    pub ok: bool,
    pub response_excerpt: String,
    pub error: Option<String>,
    pub duration_ms: u64,
}

/// Sends webhooks. Holds one HTTP client (and so one connection pool) for all of them.
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    timeout: Duration,
}

impl Deliverer {
    /// A 10 s overall timeout (connection 5 s), and no redirects: a receiver must answer
    /// itself, and following a redirect would send the signed body to another address.
    pub fn new() -> Result<Self, reqwest::Error> {
        Self::with_timeout(TIMEOUT)
    }

    /// The same with another overall timeout (the connection one never exceeds it).
    pub fn with_timeout(timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = builder(timeout).build()?;
        Ok(Deliverer { client, timeout })
    }

    /// The same, but `host` reaches `addrs` only, directly (no proxy): the caller
    /// checked those addresses, and a second DNS answer must not swap them.
    pub fn pinned(&self, host: &str, addrs: &[SocketAddr]) -> Result<Self, reqwest::Error> {
        let client = builder(self.timeout).no_proxy().resolve_to_addrs(host, addrs).build()?;
        Ok(Deliverer {
            client,
            timeout: self.timeout,
        })
    }

    /// POSTs `envelope` to `url`, signed with every secret (see [`sign`]). Never panics
    /// and never fails: every outcome is an [`Attempt`].
    pub async fn deliver(&self, url: &str, secrets: &[&[u8]], envelope: &Envelope) -> Attempt {
        let started = Instant::now();
        let mut attempt = if secrets.is_empty() {
            failed("no signing secret: not sent".to_owned())
        } else {
            self.post(url, secrets, envelope).await
        };
        attempt.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        attempt
    }

    async fn post(&self, url: &str, secrets: &[&[u8]], envelope: &Envelope) -> Attempt {
        let body = envelope.to_body();
        let signature = sign(&body, Utc::now().timestamp(), secrets);
        let sent = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(response) => answered(response).await,
            Err(e) => failed(describe(&e)),
        }
    }
}

fn builder(timeout: Duration) -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(CONNECT_TIMEOUT.min(timeout))
        .redirect(redirect::Policy::none())
        .user_agent(concat!("Passerelle-Webhooks/", env!("CARGO_PKG_VERSION")))
}

async fn answered(response: reqwest::Response) -> Attempt {
    let status = response.status();
    let (excerpt, read_error) = read_excerpt(response).await;
    let error = if status.is_redirection() {
        Some("redirect not followed".to_owned())
    } else {
        read_error
    };
    Attempt {
        status: Some(status.as_u16()),
        ok: status.is_success(),
        response_excerpt: excerpt,
        error,
        duration_ms: 0,
    }
}

/// At most `MAX_EXCERPT` bytes of the body; the rest is never read.
async fn read_excerpt(mut response: reqwest::Response) -> (String, Option<String>) {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_EXCERPT {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(e) => return (lossy(&bytes), Some(describe(&e))),
        }
    }
    (lossy(&bytes), None)
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_EXCERPT)]).into_owned()
}

fn failed(error: String) -> Attempt {
    Attempt {
        status: None,
        ok: false,
        response_excerpt: String::new(),
        error: Some(error),
        duration_ms: 0,
    }
}

/// The error and its causes, without the URL (an integrator's URL may hold a secret).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_builder() {
        "invalid request"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
