//! `GET /documents/{id}?expires=…&sig=…`: a stored document, on the listener of the
//! bouquet whose answer linked it. No token: the signed link is the capability. Limited
//! per client IP, journaled (endpoint `/documents/{id}`, no caller), streamed with
//! headers that make browsers save the file and never run it.
//!
//! Answers: the file (200); a forged or tampered link 403 and an id this gateway
//! could not have made 404, both empty; an expired link 410 `00403`; a genuine link
//! whose file is gone 404; the store down 502 `00502`. Never the file but in the 200.
//!
//! `GET /proxy/files/{token}`: a file the provider's upstream serves itself, behind a
//! sealed link (`passerelle_documents::ProxiedFiles`), fetched and streamed on demand;
//! limited and journaled alike (endpoint `/proxy/files/{token}`). A tampered link, or a
//! host the provider no longer allows, 403; an expired link 404; both empty. Upstream
//! 404 → 404; 403, 429, 500, 502, 503, 504 → 502 `00601`…`00606`; anything else
//! (405, a redirection, no answer, a file over the cap) → 502 `00011`.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Extension, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use passerelle_core::{codes, ApiError, ProviderInfo, Purpose, Subcode};
use passerelle_documents::{unix_now, Download, FetchError, LinkError, Remote};
use passerelle_store::{CallerId, JournalRow};
use serde::Deserialize;

use super::request_id::RequestId;
use crate::caller::client_ip;
use crate::error::Errors;
use crate::limits::Quota;
use crate::{telemetry, throttle, Served};

/// The journal's and the metrics' names of the routes.
const TEMPLATE: &str = "/documents/{id}";
const PROXY_TEMPLATE: &str = "/proxy/files/{token}";

#[derive(Deserialize, Default)]
struct LinkParams {
    #[serde(default)]
    expires: String,
    #[serde(default)]
    sig: String,
}

pub async fn download(
    State(served): State<Arc<Served>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let ip = client_ip(&served.app.config, &headers, peer);
    let answer = async { (open(&served, &id, query.as_deref().unwrap_or("")).await, None) };
    limited(&served, request_id, ip, "documents", TEMPLATE.to_string(), answer).await
}

pub async fn proxied_file(
    State(served): State<Arc<Served>>,
    Extension(RequestId(request_id)): Extension<RequestId>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Response {
    let ip = client_ip(&served.app.config, &headers, peer);
    let answer = async { (proxy(&served, &token).await, None) };
    limited(&served, request_id, ip, "proxied", PROXY_TEMPLATE.to_string(), answer).await
}

/// A download route's frame: `answer` (with the caller it acted for, if any) when the
/// client IP is within the route's own per-minute counter `counter`, else 429; the
/// limit's headers; one journal row under `template`.
pub(super) async fn limited(
    served: &Served,
    request_id: String,
    ip: IpAddr,
    counter: &str,
    template: String,
    answer: impl Future<Output = (Response, Option<CallerId>)>,
) -> Response {
    let started = Instant::now();
    let quota = Quota::per_minute(served.app.config.documents.downloads_per_minute);
    let decision = served
        .app
        .limiter
        .check("download", &format!("{counter}|{ip}"), quota)
        .await;
    let (mut response, caller) = if decision.allowed {
        answer.await
    } else {
        (
            Errors::from(ApiError::gateway(codes::TOO_MANY_REQUESTS)).into_response(),
            None,
        )
    };
    throttle::headers(response.headers_mut(), decision);
    journal(served, request_id, response, started, template, caller).await
}

async fn proxy(served: &Served, token: &str) -> Response {
    let proxied = &served.app.documents.proxied;
    let sealed = match proxied.open(token, unix_now()) {
        Ok(sealed) => sealed,
        Err(LinkError::Expired) => return StatusCode::NOT_FOUND.into_response(),
        Err(_) => return StatusCode::FORBIDDEN.into_response(),
    };
    let provider = served
        .bouquet
        .providers
        .iter()
        .find(|(id, _)| id.as_str() == sealed.provider)
        .map(|(_, p)| p);
    if !provider.is_some_and(|p| p.may_proxy(&sealed.target)) {
        tracing::warn!(provider = %sealed.provider, "proxied link to a host no longer allowed");
        return StatusCode::FORBIDDEN.into_response();
    }
    match proxied.fetch(&sealed.target).await {
        Ok(remote) => remote_file(remote),
        Err(FetchError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => {
            tracing::warn!(provider = %sealed.provider, error = ?error, "proxied file not served");
            Errors::from(remote_error(&error)).into_response()
        }
    }
}

/// The file host's failures, as the contract numbers them (meta provider `DINUM`).
fn remote_error(error: &FetchError) -> ApiError {
    const DINUM: ProviderInfo = ProviderInfo {
        name: "DINUM",
        prefix: "00",
    };
    let (code, detail) = match error {
        FetchError::Status(403) => ("00601", "L'hébergeur du fichier en refuse l'accès (403)."),
        FetchError::Status(429) => ("00602", "L'hébergeur du fichier reçoit trop de requêtes (429)."),
        FetchError::Status(500) => ("00603", "L'hébergeur du fichier a rencontré une erreur (500)."),
        FetchError::Status(502) => ("00604", "L'hébergeur du fichier est injoignable (502)."),
        FetchError::Status(503) => ("00605", "L'hébergeur du fichier est indisponible (503)."),
        FetchError::Status(504) => ("00606", "L'hébergeur du fichier n'a pas répondu à temps (504)."),
        _ => ("00011", "Merci de réessayer dans quelques instants"),
    };
    let title = match code {
        "00011" => "Erreur temporaire du fournisseur de données",
        _ => "Erreur du fournisseur de données",
    };
    DINUM
        .error(Subcode::Unknown)
        .with_code(code)
        .with_title(title)
        .with_detail(detail)
}

fn remote_file(remote: Remote) -> Response {
    let content_type =
        HeaderValue::from_str(&remote.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = Response::new(Body::from_stream(remote.body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    if let Some(size) = remote.size {
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    }
    safe_download_headers(headers, &remote.file_name);
    response
}

/// Save, never render or sniff, never cache.
fn safe_download_headers(headers: &mut HeaderMap, file_name: &str) {
    let disposition = format!("attachment; filename=\"{}\"", plain_name(file_name));
    if let Ok(disposition) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
}

async fn open(served: &Served, id: &str, query: &str) -> Response {
    let link: LinkParams = serde_urlencoded::from_str(query).unwrap_or_default();
    let documents = &served.app.documents;
    let handle = match documents.signer.verify(id, &link.expires, &link.sig, unix_now()) {
        Ok(handle) => handle,
        Err(LinkError::Unknown) => return StatusCode::NOT_FOUND.into_response(),
        Err(LinkError::Forged) => return StatusCode::FORBIDDEN.into_response(),
        Err(LinkError::Expired) => {
            return Errors::from(ApiError::gateway(codes::DOWNLOAD_LINK_EXPIRED)).into_response()
        }
    };
    match documents.store.get(&handle).await {
        Ok(Some(download)) => file(download),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => {
            tracing::error!(error = %e, "document store unreachable");
            Errors::from(ApiError::gateway(codes::STORAGE_UNREACHABLE)).into_response()
        }
    }
}

fn file(download: Download) -> Response {
    let content_type =
        HeaderValue::from_str(&download.content_type).unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let mut response = Response::new(Body::from_stream(download.body));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, content_type);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(download.size));
    safe_download_headers(headers, &download.file_name);
    response
}

/// A file name safe inside the quoted header value: anything unusual becomes `_`.
fn plain_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One journal row per download; like a call, the answer leaves only once it is
/// durable, else 503 `00503`.
async fn journal(
    served: &Served,
    request_id: String,
    response: Response,
    started: Instant,
    template: String,
    caller: Option<CallerId>,
) -> Response {
    let status = response.status().as_u16();
    let took = started.elapsed();
    let row = JournalRow {
        request_id: request_id.clone(),
        at: Utc::now(),
        bouquet: served.bouquet.name.to_string(),
        caller,
        purpose: Purpose::default(),
        endpoint: template.clone(),
        status,
        duration_ms: took.as_secs_f64() * 1000.0,
        params_hash: None,
        cached: false,
        body_sha256: None,
        subject: None,
    };
    let journaled = served.app.journal.record(row).await;
    telemetry::call(template.clone(), status, took, Duration::ZERO);
    tracing::info!(request_id = %request_id, endpoint = %template, status, journaled, bouquet = served.bouquet.name, "document download");
    if journaled {
        response
    } else {
        Errors::from(ApiError::gateway(codes::JOURNAL_UNAVAILABLE)).into_response()
    }
}

/// What document links start with: the bouquet's configured public base URL, else
/// the address the caller reached (`http://<Host>`), so that a link opens where the
/// call was made. Only the path is cached, so one caller's Host never reaches another.
pub fn public_base(served: &Served, headers: &HeaderMap) -> String {
    if let Some(base) = served.app.config.documents.public_base_urls.get(served.bouquet.name) {
        return base.clone();
    }
    headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .map(|host| format!("http://{host}"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_break_the_header() {
        assert_eq!(
            plain_name("attestation_fiscale-dgfip.pdf"),
            "attestation_fiscale-dgfip.pdf"
        );
        assert_eq!(plain_name("a\"b\r\n.pdf"), "a_b__.pdf");
    }
}
