//! The client a provider calls its upstream with.
//!
//! Requests are built with reqwest's builder (every provider speaks it) and sent on
//! hyper-util's pooled client directly: reqwest's redirect and retry layers parse each
//! request's URL twice even with redirects off, about 7 % of a gateway call's
//! instructions (`bench/instructions`). When the environment names a proxy for the
//! upstream (`HTTPS_PROXY`, `NO_PROXY`… as reqwest reads them), the request goes
//! through reqwest, which honours it as it always did. Either way no redirect is
//! followed, and the timeouts are reqwest's: one deadline over the whole exchange
//! (API Particulier's providers), or a connection timeout and a timeout between two
//! reads (API Entreprise's, whose settings give both).

use std::error::Error as StdError;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use anyhow::Context as _;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use passerelle_core::{ApiError, ProviderInfo, Subcode};
use reqwest::header::{HeaderValue, ACCEPT};
use reqwest::{IntoUrl, RequestBuilder, ResponseBuilderExt};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::time::{Instant, Sleep};

use crate::http::{transport_error, transport_failure, TlsSettings};

type Direct = hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, reqwest::Body>;

/// One provider's client: explicit timeouts, no redirects, its own TLS settings.
#[derive(Clone)]
pub struct Upstream {
    reqwest: reqwest::Client,
    direct: Direct,
    /// The environment's proxies, when it names any.
    proxies: Option<Arc<Matcher>>,
    timeouts: Timeouts,
}

#[derive(Clone, Copy)]
enum Timeouts {
    Whole(Duration),
    EachRead { connect: Duration, read: Duration },
}

impl Upstream {
    /// A client whose `timeout` covers a whole exchange, connection included.
    pub fn new(timeout: Duration, tls: &TlsSettings) -> anyhow::Result<Upstream> {
        Upstream::with(Timeouts::Whole(timeout), tls)
    }

    /// A client that gives up on a connection after `connect`, and on an answer when
    /// `read` passes without a byte of it (as reqwest, its head within `read` of the
    /// start, connection included).
    pub fn with_read_timeout(connect: Duration, read: Duration, tls: &TlsSettings) -> anyhow::Result<Upstream> {
        Upstream::with(Timeouts::EachRead { connect, read }, tls)
    }

    fn with(timeouts: Timeouts, tls: &TlsSettings) -> anyhow::Result<Upstream> {
        let identity = identity_pem(tls)?;
        let ca = read_pem(tls.ca_cert.as_deref(), "CA certificate")?;
        Ok(Upstream {
            reqwest: via_reqwest(timeouts, identity.as_deref(), ca.as_deref())?,
            direct: direct(timeouts, identity.as_deref(), ca.as_deref())?,
            proxies: system_proxies(),
            timeouts,
        })
    }

    pub fn get(&self, url: impl IntoUrl) -> RequestBuilder {
        self.reqwest.get(url)
    }

    pub fn post(&self, url: impl IntoUrl) -> RequestBuilder {
        self.reqwest.post(url)
    }

    /// Sends `request`; a transport failure is the provider's error (`XX002` past the
    /// deadline, `XX001` when the upstream cannot be reached or hangs up).
    pub async fn send(&self, info: ProviderInfo, request: RequestBuilder) -> Result<reqwest::Response, ApiError> {
        let request = request.build().map_err(|e| transport_error(info, &e))?;
        if self.proxied(request.url()) {
            return self
                .reqwest
                .execute(request)
                .await
                .map_err(|e| transport_error(info, &e));
        }
        self.send_direct(info, request).await
    }

    fn proxied(&self, url: &reqwest::Url) -> bool {
        self.proxies
            .as_ref()
            .is_some_and(|proxies| url.as_str().parse().is_ok_and(|uri| proxies.intercept(&uri).is_some()))
    }

    async fn send_direct(&self, info: ProviderInfo, request: reqwest::Request) -> Result<reqwest::Response, ApiError> {
        let (first, each_read) = match self.timeouts {
            Timeouts::Whole(whole) => (request.timeout().copied().unwrap_or(whole), None),
            Timeouts::EachRead { read, .. } => (read, Some(read)),
        };
        let deadline = Instant::now() + first;
        let url = request.url().clone();
        let mut request = http::Request::try_from(request).map_err(|e| transport_error(info, &e))?;
        // reqwest's default, kept so that the upstreams see the same request.
        request
            .headers_mut()
            .entry(ACCEPT)
            .or_insert(HeaderValue::from_static("*/*"));
        match tokio::time::timeout_at(deadline, self.direct.request(request)).await {
            Err(_) => Err(transport_failure(
                info,
                Subcode::Timeout,
                false,
                "no answer before the deadline",
            )),
            Ok(Err(e)) => Err(direct_error(info, &e)),
            Ok(Ok(response)) => {
                // Between reads, the body's first read has its own `read`, as reqwest's.
                let deadline = each_read.map_or(deadline, |read| Instant::now() + read);
                as_reqwest(info, response, url, deadline, each_read)
            }
        }
    }
}

/// The answer as reqwest's, its URL the request's, its body under `deadline`.
fn as_reqwest(
    info: ProviderInfo,
    response: http::Response<Incoming>,
    url: reqwest::Url,
    deadline: Instant,
    each_read: Option<Duration>,
) -> Result<reqwest::Response, ApiError> {
    let (mut parts, body) = response.into_parts();
    // The URL rides in the extensions, where `reqwest::Response::url` reads it.
    let with_url = http::Response::builder()
        .url(url)
        .body(())
        .map_err(|_| info.error(Subcode::Unknown))?;
    parts.extensions = with_url.into_parts().0.extensions;
    let body = reqwest::Body::wrap(Timed {
        body,
        deadline: Box::pin(tokio::time::sleep_until(deadline)),
        each_read,
    });
    Ok(http::Response::from_parts(parts, body).into())
}

/// The proxies reqwest would use, if the environment names any (most machines do not:
/// a call then asks nothing more).
fn system_proxies() -> Option<Arc<Matcher>> {
    let matcher = Matcher::from_system();
    let names_one = ["http://upstream.invalid/", "https://upstream.invalid/"]
        .iter()
        .any(|probe| matcher.intercept(&http::Uri::from_static(probe)).is_some());
    names_one.then(|| Arc::new(matcher))
}

/// As reqwest classes its own: past the deadline (connecting included) is a timeout;
/// any other failure to get an answer's head means the upstream is unavailable.
fn direct_error(info: ProviderInfo, error: &hyper_util::client::legacy::Error) -> ApiError {
    let cause = StdError::source(error).map(ToString::to_string).unwrap_or_default();
    let subcode = if timed_out(error) {
        Subcode::Timeout
    } else {
        Subcode::Unavailable
    };
    transport_failure(info, subcode, error.is_connect(), &cause)
}

fn timed_out(error: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if error
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::TimedOut)
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// An answer's body that fails with `TimedOut` (reqwest's `is_timeout`) once its
/// deadline passes; with `each_read`, every frame received moves the deadline on.
struct Timed {
    body: Incoming,
    deadline: Pin<Box<Sleep>>,
    each_read: Option<Duration>,
}

impl Body for Timed {
    type Data = Bytes;
    type Error = Box<dyn StdError + Send + Sync>;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.deadline.as_mut().poll(cx).is_ready() {
            let late = io::Error::new(io::ErrorKind::TimedOut, "the answer did not end before the deadline");
            return Poll::Ready(Some(Err(late.into())));
        }
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        if let (Poll::Ready(Some(Ok(_))), Some(read)) = (&frame, self.each_read) {
            self.deadline.as_mut().reset(Instant::now() + read);
        }
        frame.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

fn read_pem(path: Option<&std::path::Path>, what: &str) -> anyhow::Result<Option<Vec<u8>>> {
    path.map(|p| std::fs::read(p).with_context(|| format!("reading {what} {}", p.display())))
        .transpose()
}

/// The gateway's certificate chain and key, from one PEM file or two.
fn identity_pem(tls: &TlsSettings) -> anyhow::Result<Option<Vec<u8>>> {
    let Some(mut pem) = read_pem(tls.client_cert.as_deref(), "client certificate")? else {
        return Ok(None);
    };
    pem.extend(read_pem(tls.client_key.as_deref(), "client key")?.unwrap_or_default());
    Ok(Some(pem))
}

fn via_reqwest(timeouts: Timeouts, identity: Option<&[u8]>, ca: Option<&[u8]>) -> anyhow::Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(60));
    let mut builder = match timeouts {
        Timeouts::Whole(whole) => builder.connect_timeout(whole).timeout(whole),
        Timeouts::EachRead { connect, read } => builder.connect_timeout(connect).read_timeout(read),
    };
    if let Some(pem) = identity {
        builder = builder.identity(reqwest::Identity::from_pem(pem).context("client certificate and key")?);
    }
    for certificate in reqwest::Certificate::from_pem_bundle(ca.unwrap_or_default()).context("CA certificate")? {
        builder = builder.add_root_certificate(certificate);
    }
    Ok(builder.build()?)
}

fn direct(timeouts: Timeouts, identity: Option<&[u8]>, ca: Option<&[u8]>) -> anyhow::Result<Direct> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(match timeouts {
        Timeouts::Whole(whole) => whole,
        Timeouts::EachRead { connect, .. } => connect,
    }));
    http.set_nodelay(true);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_config(identity, ca)?)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http);
    Ok(hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_timer(TokioTimer::new())
        .build(https))
}

/// The web's roots (as reqwest's `rustls-tls`), the settings' CA besides, and the
/// gateway's certificate for upstreams that ask for one.
fn tls_config(identity: Option<&[u8]>, ca: Option<&[u8]>) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for certificate in CertificateDer::pem_slice_iter(ca.unwrap_or_default()) {
        roots
            .add(certificate.context("CA certificate")?)
            .context("CA certificate")?;
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let Some(pem) = identity else {
        return Ok(builder.with_no_client_auth());
    };
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .context("client certificate")?;
    let key = PrivateKeyDer::from_pem_slice(pem).context("client key")?;
    builder
        .with_client_auth_cert(chain, key)
        .context("client certificate and key")
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;
    use tokio::sync::oneshot;

    const SDH: ProviderInfo = ProviderInfo {
        name: "SDH",
        prefix: "41",
    };
    const CHUNKED: &str = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";

    /// One exchange of an upstream that writes `parts` of its answer `pause` apart,
    /// and hands back the request's head as it came.
    async fn upstream(parts: Vec<&'static str>, pause: Duration) -> (String, oneshot::Receiver<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (head_tx, head_rx) = oneshot::channel();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buffer = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = socket.read(&mut buffer).await.unwrap();
                if n == 0 {
                    return;
                }
                head.extend_from_slice(&buffer[..n]);
            }
            let _ = head_tx.send(String::from_utf8_lossy(&head).into_owned());
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(pause).await;
                }
                if socket.write_all(part.as_bytes()).await.is_err() {
                    return;
                }
            }
            // Held open: a client that waits for more must give up on its own.
            tokio::time::sleep(Duration::from_secs(30)).await;
        });
        (url, head_rx)
    }

    /// A client with a connection timeout of `connect` s and `read` ms between reads.
    fn between_reads(connect: u64, read: u64) -> Upstream {
        let (connect, read) = (Duration::from_secs(connect), Duration::from_millis(read));
        Upstream::with_read_timeout(connect, read, &TlsSettings::default()).unwrap()
    }

    fn whole(seconds: f64) -> Upstream {
        Upstream::new(Duration::from_secs_f64(seconds), &TlsSettings::default()).unwrap()
    }

    async fn body(response: reqwest::Response) -> Result<Vec<u8>, ApiError> {
        crate::http::read(SDH, response, 1 << 20).await.map(|(_, body)| body)
    }

    #[tokio::test]
    async fn the_request_goes_as_built_and_the_answer_comes_back_whole() {
        let answer = "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-APISECU-FD: 00810011\r\n\r\n{\"ok\":true}";
        let (url, head) = upstream(vec![answer], Duration::ZERO).await;
        let client = whole(5.0);
        let request = client
            .get(format!("{url}/path?nom=DUPONT%20MARTIN&x=1"))
            .header("X-Correlation-ID", "req-1");
        let response = client.send(SDH, request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-apisecu-fd"], "00810011");
        assert_eq!(response.content_length(), Some(11));
        assert_eq!(response.url().as_str(), format!("{url}/path?nom=DUPONT%20MARTIN&x=1"));
        assert_eq!(body(response).await.unwrap(), b"{\"ok\":true}");
        let head = head.await.unwrap().to_ascii_lowercase();
        assert!(
            head.starts_with("get /path?nom=dupont%20martin&x=1 http/1.1\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\nx-correlation-id: req-1\r\n"), "{head}");
        assert!(head.contains("\r\naccept: */*\r\n"), "{head}");
        assert!(
            head.contains(&format!("\r\nhost: {}\r\n", url.trim_start_matches("http://"))),
            "{head}"
        );
    }

    #[tokio::test]
    async fn a_form_is_sent_with_its_length_and_type() {
        let (url, head) = upstream(vec!["HTTP/1.1 204 No Content\r\n\r\n"], Duration::ZERO).await;
        let client = whole(5.0);
        let request = client.post(url).form(&[("grant_type", "client_credentials")]);
        assert_eq!(client.send(SDH, request).await.unwrap().status(), 204);
        let head = head.await.unwrap().to_ascii_lowercase();
        assert!(head.starts_with("post / http/1.1\r\n"), "{head}");
        assert!(
            head.contains("\r\ncontent-type: application/x-www-form-urlencoded\r\n"),
            "{head}"
        );
        assert!(head.contains("\r\ncontent-length: 29\r\n"), "{head}");
    }

    #[tokio::test]
    async fn a_redirect_is_handed_back_not_followed() {
        let answer = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9/elsewhere\r\nContent-Length: 0\r\n\r\n";
        let (url, _) = upstream(vec![answer], Duration::ZERO).await;
        let client = whole(5.0);
        let response = client.send(SDH, client.get(url)).await.unwrap();
        assert_eq!(response.status(), 302);
        assert_eq!(
            crate::http::soft_status_error(SDH, response.status()).unwrap().code,
            "41000"
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_unavailable() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        drop(listener);
        let client = whole(5.0);
        let error = client.send(SDH, client.get(url)).await.unwrap_err();
        assert_eq!((error.code.as_str(), error.status()), ("41001", 502));
    }

    #[tokio::test]
    async fn no_head_before_the_deadline_is_a_timeout() {
        let (url, _) = upstream(vec![], Duration::ZERO).await;
        let client = whole(0.3);
        let started = std::time::Instant::now();
        let error = client.send(SDH, client.get(url)).await.unwrap_err();
        assert_eq!((error.code.as_str(), error.status()), ("41002", 504));
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn the_deadline_covers_the_body_too() {
        let parts = vec!["HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n{", "}"];
        let (url, _) = upstream(parts, Duration::from_secs(5)).await;
        let client = whole(0.5);
        let response = client.send(SDH, client.get(url)).await.unwrap();
        assert_eq!(body(response).await.unwrap_err().code, "41002");
    }

    #[tokio::test]
    async fn a_read_timeout_bounds_the_wait_for_the_head() {
        let (url, _) = upstream(vec![], Duration::ZERO).await;
        let client = between_reads(5, 300);
        let started = std::time::Instant::now();
        let error = client.send(SDH, client.get(url)).await.unwrap_err();
        assert_eq!(error.code, "41002");
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn the_body_s_first_read_is_timed_from_the_head_not_from_the_start() {
        // The head at 250 ms, the body's first byte at 500, its end at 750: each read
        // within 400 ms of the one before, the body past 400 ms from the start.
        let parts = vec!["", CHUNKED, "1\r\na\r\n", "0\r\n\r\n"];
        let (url, _) = upstream(parts, Duration::from_millis(250)).await;
        let client = between_reads(1, 400);
        let response = client.send(SDH, client.get(url)).await.unwrap();
        assert_eq!(body(response).await.unwrap(), b"a");
    }

    #[tokio::test]
    async fn a_read_timeout_runs_between_two_reads_not_over_the_answer() {
        let parts = vec![
            CHUNKED,
            "1\r\na\r\n",
            "1\r\nb\r\n",
            "1\r\nc\r\n",
            "1\r\nd\r\n",
            "0\r\n\r\n",
        ];
        let (url, _) = upstream(parts, Duration::from_millis(150)).await;
        let client = between_reads(1, 400);
        let response = client.send(SDH, client.get(url)).await.unwrap();
        // Five pauses of 150 ms: longer than one read timeout, each read within it.
        assert_eq!(body(response).await.unwrap(), b"abcd");

        let parts = vec![CHUNKED, "1\r\na\r\n", "1\r\nb\r\n"];
        let (url, _) = upstream(parts, Duration::from_millis(800)).await;
        let response = client.send(SDH, client.get(url)).await.unwrap();
        assert_eq!(body(response).await.unwrap_err().code, "41002");
    }
}
