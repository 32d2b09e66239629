//! Shared upstream HTTP plumbing: one client per provider with explicit timeouts and
//! no redirects, and the transport-level error mapping every provider shares.

use passerelle_core::Subcode;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use passerelle_core::{ApiError, ProviderInfo};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};

use crate::upstream::Upstream;
use crate::Health;

/// TLS settings of an upstream: a client certificate for providers that use mutual
/// TLS, and an extra CA for private PKIs. Files are PEM. API Particulier's providers
/// read them from a `tls` table, API Entreprise's as keys of their own (flattened).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct TlsSettings {
    /// Certificate chain and private key of the gateway (one PEM file, or with `client_key`).
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// A CA to trust in addition to the system's.
    pub ca_cert: Option<PathBuf>,
}

/// A client for one provider. Redirects are errors (the contract maps them to `XX000`).
pub fn client(timeout: Duration, tls: &TlsSettings) -> anyhow::Result<Upstream> {
    Upstream::new(timeout, tls)
}

/// A client without redirects whose read timeout runs between two reads, not over the
/// whole answer: the API Entreprise providers' settings give both in milliseconds.
pub fn read_timeout_client(connect_ms: u64, read_ms: u64) -> anyhow::Result<Upstream> {
    read_timeout_client_with(connect_ms, read_ms, &TlsSettings::default())
}

/// `read_timeout_client` presenting `tls`'s identity and trusting its CA (mutual TLS).
pub fn read_timeout_client_with(connect_ms: u64, read_ms: u64, tls: &TlsSettings) -> anyhow::Result<Upstream> {
    Upstream::with_read_timeout(Duration::from_millis(connect_ms), Duration::from_millis(read_ms), tls)
}

/// Transport failures: timeouts are `XX002` (504), refused or reset connections `XX001`.
pub fn transport_error(info: ProviderInfo, error: &reqwest::Error) -> ApiError {
    let cause = std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default();
    let subcode = if error.is_timeout() {
        Subcode::Timeout
    } else if error.is_connect() || error.is_request() {
        Subcode::Unavailable
    } else {
        Subcode::Unknown
    };
    transport_failure(info, subcode, error.is_connect(), &cause)
}

/// Logs a transport failure (never the URL: its query string holds the person's
/// identity) and gives the provider's error for it.
pub(crate) fn transport_failure(info: ProviderInfo, subcode: Subcode, connect: bool, cause: &str) -> ApiError {
    let timeout = matches!(subcode, Subcode::Timeout);
    tracing::warn!(
        provider = info.name,
        timeout,
        connect,
        cause,
        "upstream transport error"
    );
    info.error(subcode)
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

/// The cap on one upstream body unless a provider's `max_body_bytes` says otherwise:
/// the JSON and XML answers are a few kilobytes, so 2 MiB is far above any real one.
pub const DEFAULT_MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The status and the whole body of an answer, read chunk by chunk so that a body past
/// `max_bytes` is dropped (closing the connection) as soon as it passes the cap: it is
/// the provider's `XX999`, never buffered whole. A body cut short is a transport error.
pub async fn read(
    info: ProviderInfo,
    response: reqwest::Response,
    max_bytes: usize,
) -> Result<(StatusCode, Vec<u8>), ApiError> {
    let mut body = Vec::with_capacity(announced(&response, max_bytes));
    let status = read_each(info, response, max_bytes, |chunk| body.extend_from_slice(chunk)).await?;
    Ok((status, body))
}

/// The length the answer announces, up to `max_bytes` (0 when it announces none).
pub fn announced(response: &reqwest::Response, max_bytes: usize) -> usize {
    usize::try_from(response.content_length().unwrap_or(0)).map_or(max_bytes, |n| n.min(max_bytes))
}

/// As [`read`], handing each chunk to `take` as it arrives instead of keeping them.
pub async fn read_each(
    info: ProviderInfo,
    mut response: reqwest::Response,
    max_bytes: usize,
    mut take: impl FnMut(&[u8]),
) -> Result<StatusCode, ApiError> {
    let status = response.status();
    if response.content_length().unwrap_or(0) > max_bytes as u64 {
        return Err(too_large(info, max_bytes));
    }
    let mut seen = 0;
    while let Some(chunk) = response.chunk().await.map_err(|e| transport_error(info, &e))? {
        seen += chunk.len();
        if seen > max_bytes {
            return Err(too_large(info, max_bytes));
        }
        take(&chunk);
    }
    Ok(status)
}

fn too_large(info: ProviderInfo, max_bytes: usize) -> ApiError {
    tracing::warn!(provider = info.name, max_bytes, "upstream body over the cap, dropped");
    info.error(Subcode::Unknown)
}

/// Sends `request` and reads the answer under the cap; transport failures and the
/// statuses every provider treats alike (see `soft_status_error`) come back as errors.
pub async fn send_and_read(
    client: &Upstream,
    info: ProviderInfo,
    request: reqwest::RequestBuilder,
    max_bytes: usize,
) -> Result<(StatusCode, Vec<u8>), ApiError> {
    let response = client.send(info, request).await?;
    if let Some(error) = soft_status_error(info, response.status()) {
        return Err(error);
    }
    read(info, response, max_bytes).await
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

/// `url`, parsed once when the provider is built: a mistyped setting stops the start
/// instead of failing every call, and a call clones the parsed URL (parsing it, host
/// included, took about 2 % of a call's CPU).
pub fn parse_url(provider: &str, url: &str) -> anyhow::Result<reqwest::Url> {
    let parsed = reqwest::Url::parse(url).with_context(|| format!("{provider}: not a URL: {url}"))?;
    anyhow::ensure!(
        matches!(parsed.scheme(), "http" | "https"),
        "{provider}: not an http(s) URL: {url}"
    );
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    const SDH: ProviderInfo = ProviderInfo {
        name: "SDH",
        prefix: "41",
    };

    /// An upstream that answers one request with `total` bytes of chunked body, then
    /// says how many it managed to write before the client hung up.
    async fn streaming_upstream(total: usize) -> (String, tokio::task::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let written = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if socket.write_all(head).await.is_err() {
                return 0;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < total {
                let framed = [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"].concat();
                if socket.write_all(&framed).await.is_err() {
                    return sent;
                }
                sent += chunk.len();
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
            sent
        });
        (url, written)
    }

    async fn get(url: &str) -> reqwest::Response {
        let client = client(Duration::from_secs(10), &TlsSettings::default()).unwrap();
        client.send(SDH, client.get(url)).await.unwrap()
    }

    #[tokio::test]
    async fn a_body_under_the_cap_is_read_whole() {
        let (url, written) = streaming_upstream(256 * 1024).await;
        let (status, body) = read(SDH, get(&url).await, 1024 * 1024).await.unwrap();
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.len(), 256 * 1024);
        assert_eq!(written.await.unwrap(), 256 * 1024);
    }

    #[tokio::test]
    async fn a_body_past_the_cap_is_dropped_before_it_ends() {
        let total = 50 * 1024 * 1024;
        let (url, written) = streaming_upstream(total).await;
        let error = read(SDH, get(&url).await, DEFAULT_MAX_BODY_BYTES).await.unwrap_err();
        assert_eq!(error.code, "41999");
        assert_eq!(error.status(), 502);
        // The client hung up: the upstream could not write the rest (socket buffers
        // hold a few megabytes at most).
        let sent = written.await.unwrap();
        assert!(sent < total / 2, "the upstream wrote {sent} bytes");
    }

    #[tokio::test]
    async fn an_announced_length_past_the_cap_is_refused_unread() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let head = b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n{";
            let _ = socket.write_all(head).await;
            // Never sends the rest: reading it would hang the test.
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        let error = read(SDH, get(&url).await, DEFAULT_MAX_BODY_BYTES).await.unwrap_err();
        assert_eq!(error.code, "41999");
    }
}
