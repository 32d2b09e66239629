//! Shared upstream HTTP plumbing: one client per provider with explicit timeouts and
//! no redirects, and the transport-level error mapping every provider shares.

use passerelle_core::Subcode;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use passerelle_core::{ApiError, ProviderInfo};
use reqwest::StatusCode;
use serde::Deserialize;

use crate::Health;

/// TLS settings of an upstream: a client certificate for providers that use mutual
/// TLS, and an extra CA for private PKIs. Files are PEM.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TlsSettings {
    /// Certificate chain and private key of the gateway (one PEM file, or with `client_key`).
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// A CA to trust in addition to the system's.
    pub ca_cert: Option<PathBuf>,
}

/// A client for one provider. Redirects are errors (the contract maps them to `XX000`).
pub fn client(timeout: Duration, tls: &TlsSettings) -> anyhow::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(timeout)
        .timeout(timeout)
        .pool_idle_timeout(Duration::from_secs(60));
    if let Some(cert) = &tls.client_cert {
        let mut pem = std::fs::read(cert).with_context(|| format!("reading client certificate {}", cert.display()))?;
        if let Some(key) = &tls.client_key {
            pem.extend(std::fs::read(key).with_context(|| format!("reading client key {}", key.display()))?);
        }
        builder = builder.identity(reqwest::Identity::from_pem(&pem).context("client certificate and key")?);
    }
    if let Some(ca) = &tls.ca_cert {
        let pem = std::fs::read(ca).with_context(|| format!("reading CA certificate {}", ca.display()))?;
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).context("CA certificate")?);
    }
    Ok(builder.build()?)
}

/// Transport failures: timeouts are `XX002` (504), refused or reset connections `XX001`.
pub fn transport_error(info: ProviderInfo, error: &reqwest::Error) -> ApiError {
    // The URL holds the person's identity in its query string: never log it.
    let cause = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default();
    tracing::warn!(
        provider = info.name,
        timeout = error.is_timeout(),
        connect = error.is_connect(),
        cause,
        "upstream transport error"
    );
    if error.is_timeout() {
        info.error(Subcode::Timeout)
    } else if error.is_connect() || error.is_request() {
        info.error(Subcode::Unavailable)
    } else {
        info.error(Subcode::Unknown)
    }
}

/// Statuses every provider treats alike, before its own response checks.
pub fn soft_status_error(info: ProviderInfo, status: StatusCode) -> Option<ApiError> {
    match status.as_u16() {
        502 | 503 => Some(info.error(Subcode::Unavailable)),
        504 => Some(info.error(Subcode::Timeout)),
        300..=399 => Some(
            info.error(Subcode::Internal)
                .with_detail("Le fournisseur de données a répondu par une redirection inattendue."),
        ),
        _ => None,
    }
}

/// The status and the whole body of an answer; a body cut short is a transport error.
pub async fn read(info: ProviderInfo, response: reqwest::Response) -> Result<(StatusCode, Vec<u8>), ApiError> {
    let status = response.status();
    let body = response.bytes().await.map_err(|e| transport_error(info, &e))?;
    Ok((status, body.to_vec()))
}

/// A ping's verdict: up when the upstream answered one of the `expected` statuses.
pub fn health(answer: Result<StatusCode, ApiError>, expected: &[StatusCode]) -> Health {
    match answer {
        Ok(status) if expected.contains(&status) => Health::Ok,
        Ok(status) => Health::Down(format!("unexpected status {status}")),
        Err(e) => Health::Down(e.code),
    }
}

/// An upstream URL given in the settings, else `<base>/<path>`.
pub fn or_base(own: &Option<String>, base: &str, path: &str) -> String {
    own.clone().unwrap_or_else(|| format!("{base}/{path}"))
}
