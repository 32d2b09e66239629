//! Documents behind signed links, over real HTTP: a test bouquet whose provider
//! returns an attachment (a PDF, or bytes that only claim to be one), served on its
//! own listener; the answer's link downloads from that same listener.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use passerelle_bouquet::{
    Attachment, Bouquet, Cache, Call, Endpoint, Extras, Fetched, Mode, Provider, ProviderId, ThrottleGroup,
};
use passerelle_core::{codes, ApiError, ProviderInfo, Query};
use passerelle_gateway::{AppState, GatewayConfig};
use passerelle_tokens::{self as tokens, TokenRequest};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::helpers::*;

const DOCS: ProviderId = ProviderId::new("docs");

/// `kind` (pdf, html, empty) in the path; `duree`, the document's lifetime in seconds.
const ATTESTATION: Endpoint = Endpoint {
    provider: DOCS,
    resource: "attestation",
    path: "attestations/{kind}",
    mode: Mode::Subject,
    versions: &[1],
    operation: "attestation",
    title: "Attestation (test)",
    civility: None,
    extra_params: &[],
    access_scopes: &["attestation"],
    fields: &["document_url", "expires_in"],
    masks: &[],
    cache: Cache::For { secs: 7200 },
};

/// A PDF that says where each byte sits, so a cut or reordered download shows.
fn pdf_bytes() -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.extend((0..200_000u32).map(|i| (i % 253) as u8));
    bytes
}

struct DocsStub;

#[async_trait]
impl Provider for DocsStub {
    fn info(&self) -> ProviderInfo {
        ProviderInfo {
            name: "Docs",
            prefix: "91",
        }
    }

    fn parse_extras(&self, _: &Endpoint, query: &Query, _: NaiveDate) -> Result<Extras, Vec<ApiError>> {
        let kind = query.get("kind").unwrap_or_default().to_string();
        let lifetime = query.get("duree").unwrap_or("3600").to_string();
        Ok(Extras::from([
            ("kind".to_string(), kind),
            ("duree".to_string(), lifetime),
        ]))
    }

    async fn fetch(&self, call: &Call<'_>) -> Result<Fetched, ApiError> {
        let bytes = match call.extras["kind"].as_str() {
            "pdf" => pdf_bytes(),
            "html" => b"<html>not a pdf</html>".to_vec(),
            "empty" => Vec::new(),
            _ => return Err(ApiError::gateway(codes::ROUTE_UNKNOWN)),
        };
        let mut fetched = Fetched::from(json!({"kind": call.extras["kind"]}));
        fetched.attachments.push(Attachment {
            url_member: "document_url",
            expiry_member: "expires_in",
            file_name: "attestation_test.pdf",
            content_type: "application/pdf",
            bytes,
            lifetime_secs: call.extras["duree"].parse().unwrap_or(3600),
        });
        Ok(fetched)
    }
}

fn no_group(_: &Endpoint) -> Option<ThrottleGroup> {
    None
}

fn attestations() -> Bouquet {
    Bouquet {
        name: "attestations",
        title: "API Attestations (test)",
        operation_prefix: "api_attestations",
        endpoints: vec![&ATTESTATION],
        providers: HashMap::from([(DOCS, Arc::new(DocsStub) as Arc<dyn Provider>)]),
        purpose: &[],
        throttle: no_group,
        codes: &[],
        openapi: "openapi: 3.0.0\ninfo:\n  title: API Attestations (test)\n".into(),
        privileges: false,
        documents: true,
        legacy: None,
    }
}

struct Served {
    base: String,
    jwt: String,
    store: Arc<dyn passerelle_store::Store>,
    dir: tempfile::TempDir,
    _shutdown: oneshot::Sender<()>,
}

impl Served {
    async fn call(&self, kind: &str, lifetime: u64) -> reqwest::Response {
        let url = format!("{}/v1/attestations/{kind}?duree={lifetime}", self.base);
        reqwest::Client::new()
            .get(url)
            .bearer_auth(&self.jwt)
            .send()
            .await
            .unwrap()
    }
}

async fn start(configure: impl FnOnce(&mut GatewayConfig)) -> Served {
    let dir = tempfile::tempdir().unwrap();
    let mut config = GatewayConfig {
        data_dir: dir.path().to_path_buf(),
        ..GatewayConfig::default()
    };
    configure(&mut config);
    let store = passerelle_journal::open(&config.database_url()).await.unwrap();
    let state = AppState::new(config, store.clone()).await.unwrap();
    let request = TokenRequest {
        bouquet: "attestations".into(),
        ..token_request(&["attestation"])
    };
    let (_, jwt) = tokens::issue(store.as_ref(), state.tokens.keys(), request, Utc::now())
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        passerelle_gateway::serve(vec![(listener, attestations())], state, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    Served {
        base,
        jwt,
        store,
        dir,
        _shutdown: tx,
    }
}

async fn data(response: reqwest::Response) -> Value {
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body["data"].clone()
}

/// The link with one query parameter's value replaced.
fn with_param(link: &str, name: &str, value: &str) -> String {
    let (path, query) = link.split_once('?').unwrap();
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k == name => format!("{k}={value}"),
            _ => pair.to_string(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

#[tokio::test]
async fn a_document_link_downloads_the_exact_bytes_with_safe_headers() {
    let app = start(|_| {}).await;
    let data = data(app.call("pdf", 3600).await).await;
    assert_eq!(data["expires_in"], 3600);
    let link = data["document_url"].as_str().unwrap().to_string();
    assert!(link.starts_with(&format!("{}/documents/", app.base)), "{link}");
    assert!(link.contains("&sig="), "{link}");

    let download = reqwest::get(&link).await.unwrap();
    assert_eq!(download.status(), 200);
    let headers = download.headers().clone();
    assert_eq!(headers["content-type"], "application/pdf");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"attestation_test.pdf\""
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["cache-control"], "private, no-store");
    assert!(headers.contains_key("ratelimit-limit"));
    assert_eq!(download.bytes().await.unwrap().as_ref(), pdf_bytes().as_slice());

    // Each download is a journal row, with no caller.
    let rows = app.store.recent_journal(10).await.unwrap();
    let row = rows
        .iter()
        .find(|r| r.endpoint == "/documents/{id}")
        .expect("journaled");
    assert_eq!(
        (row.status, row.caller.is_none(), row.bouquet.as_str()),
        (200, true, "attestations")
    );

    // Tampered links: 403 (empty) for a changed signature or expiry; 404 for an id the
    // gateway never makes. Never the file.
    let sig = link.rsplit_once("sig=").unwrap().1;
    let flipped = format!("{}{}", if sig.starts_with('0') { '1' } else { '0' }, &sig[1..]);
    let later = (Utc::now().timestamp() + 999_999).to_string();
    for forged in [
        with_param(&link, "sig", &flipped),
        with_param(&link, "expires", &later),
        link.split_once('?').unwrap().0.to_string(),
    ] {
        let answer = reqwest::get(&forged).await.unwrap();
        assert_eq!(answer.status(), 403, "{forged}");
        assert!(answer.bytes().await.unwrap().is_empty());
    }
    let unknown = format!("{}/documents/not-an-id?expires=1&sig=00", app.base);
    assert_eq!(reqwest::get(&unknown).await.unwrap().status(), 404);
}

#[tokio::test]
async fn a_cached_answer_counts_down_and_dies_with_its_document() {
    let app = start(|_| {}).await;
    let first = data(app.call("pdf", 3).await).await;
    assert_eq!(first["expires_in"], 3);
    let link = first["document_url"].as_str().unwrap().to_string();

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let cached = app.call("pdf", 3).await;
    assert_eq!(cached.headers()["x-response-cached"], "true");
    // The endpoint caches for 2 h; the document lives 3 s: the cache follows the document.
    let cache_left: u64 = cached.headers()["x-cache-expires-in"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cache_left <= 3, "{cache_left}");
    let again = data(cached).await;
    assert_eq!(again["document_url"], first["document_url"]);
    let left = again["expires_in"].as_u64().unwrap();
    assert!((1..3).contains(&left), "the lifetime left, not the original: {left}");

    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert_error(reqwest::get(&link).await.unwrap(), 410, "00403").await;
    let fresh = app.call("pdf", 3).await;
    assert_eq!(fresh.headers()["x-response-cached"], "false");
    let fresh = data(fresh).await;
    assert_ne!(fresh["document_url"], first["document_url"]);
    assert_eq!(fresh["expires_in"], 3);
}

#[tokio::test]
async fn a_document_that_is_not_what_it_claims_is_never_stored() {
    let app = start(|_| {}).await;
    assert_error(app.call("html", 3600).await, 502, "91055").await;
    assert_error(app.call("empty", 3600).await, 502, "91056").await;
    let folder = app.dir.path().join("documents");
    let stored = walk(&folder);
    assert!(stored.is_empty(), "{stored:?}");
    data(app.call("pdf", 3600).await).await;
    assert_eq!(walk(&folder).len(), 2, "the bytes and their description");
}

fn walk(folder: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                vec![e.path()]
            }
        })
        .collect()
}

#[tokio::test]
async fn downloads_are_limited_per_client_address() {
    let app = start(|config| config.documents.downloads_per_minute = 2).await;
    let link = data(app.call("pdf", 3600).await).await["document_url"]
        .as_str()
        .unwrap()
        .to_string();
    for _ in 0..2 {
        assert_eq!(reqwest::get(&link).await.unwrap().status(), 200);
    }
    let refused = reqwest::get(&link).await.unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    assert_error(refused, 429, "00429").await;
}

#[tokio::test]
async fn an_unreachable_store_is_00502() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = start(|config| {
        let documents = &mut config.documents;
        documents.store = Some("s3://nowhere".into());
        documents.s3.endpoint = Some(format!("http://127.0.0.1:{port}"));
        documents.s3.allow_http = true;
        documents.s3.access_key_id = Some("key".into());
        documents.s3.secret_access_key = Some("secret".into());
        documents.s3.timeout_secs = 1;
    })
    .await;
    assert_error(app.call("pdf", 3600).await, 502, "00502").await;
}
