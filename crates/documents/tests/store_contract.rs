//! One contract for every document store, run on the folder backend and on a real
//! S3-compatible server on loopback (moto): `PASSERELLE_TEST_S3` names a running one
//! (`.ci/run` starts it), else the test starts `moto_server` itself. Under `CI=true`
//! a missing server fails the test; elsewhere the S3 run is skipped with a message.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::StreamExt;
use passerelle_bouquet::Attachment;
use passerelle_documents::{Backend, DocumentError, DocumentStore, Handle, S3Settings};

fn pdf(lifetime_secs: u64, bytes: Vec<u8>) -> Attachment {
    Attachment {
        url_member: "document_url",
        expiry_member: "expires_in",
        file_name: "attestation.pdf",
        content_type: "application/pdf",
        bytes,
        lifetime_secs,
    }
}

/// Bytes that tell their position, so a reordered or cut stream shows.
fn numbered(len: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.7\n".to_vec();
    bytes.extend((0..len).map(|i| (i % 251) as u8));
    bytes
}

async fn contract(store: &DocumentStore) {
    let now = 1_700_000_000;
    // Stored bytes come back whole, with the type and name given, as a stream.
    let big = numbered(1 << 20);
    let handle = store.put(pdf(600, big.clone()), now).await.unwrap();
    assert_eq!(handle.expires, now + 600);
    let download = store.get(&handle).await.unwrap().expect("stored");
    assert_eq!(download.content_type, "application/pdf");
    assert_eq!(download.file_name, "attestation.pdf");
    assert_eq!(download.size, big.len() as u64);
    let chunks: Vec<_> = download.body.map(|c| c.unwrap()).collect().await;
    assert!(chunks.len() > 1, "a 1 MiB document comes in pieces, not whole");
    assert_eq!(chunks.concat(), big);

    // Unknown ids, and a known id under another expiry, find nothing.
    assert!(store.get(&Handle::new(now + 600)).await.unwrap().is_none());
    let moved = Handle {
        id: handle.id.clone(),
        expires: handle.expires + 1,
    };
    assert!(store.get(&moved).await.unwrap().is_none());

    // Two documents of the same call never share a name.
    let again = store.put(pdf(600, big.clone()), now).await.unwrap();
    assert_ne!(again.id, handle.id);

    // The sweep deletes what is past its expiry, and only that.
    let short = store.put(pdf(10, numbered(10)), now).await.unwrap();
    assert_eq!(store.sweep(now + 10).await.unwrap(), 1);
    assert!(store.get(&short).await.unwrap().is_none());
    assert!(store.get(&handle).await.unwrap().is_some());
    assert_eq!(store.sweep(now + 600).await.unwrap(), 2);
    assert!(store.get(&handle).await.unwrap().is_none());
    assert_eq!(store.sweep(now + 600).await.unwrap(), 0);
}

#[tokio::test]
async fn folder_store_keeps_the_contract() {
    let folder = tempfile::tempdir().unwrap();
    let store = DocumentStore::open(&Backend::Folder(folder.path().join("docs"))).unwrap();
    contract(&store).await;
}

#[tokio::test]
async fn s3_store_keeps_the_contract() {
    let Some(server) = S3Server::find_or_start() else {
        return;
    };
    let bucket = format!("contract-{}", Handle::new(0).id);
    server.create_bucket(&bucket).await;
    contract(&DocumentStore::open(&server.backend(&bucket)).unwrap()).await;
}

#[tokio::test]
async fn an_unreachable_bucket_is_a_storage_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let backend = Backend::S3 {
        bucket: "nowhere".into(),
        settings: settings(&format!("http://127.0.0.1:{port}"), 1),
    };
    let store = DocumentStore::open(&backend).unwrap();
    let put = store.put(pdf(600, numbered(10)), 0).await;
    assert!(matches!(put, Err(DocumentError::Storage(_))), "{put:?}");
    assert!(matches!(
        store.get(&Handle::new(600)).await,
        Err(DocumentError::Storage(_))
    ));
}

fn settings(endpoint: &str, timeout_secs: u64) -> S3Settings {
    S3Settings {
        endpoint: Some(endpoint.into()),
        region: "us-east-1".into(),
        access_key_id: Some("passerelle".into()),
        secret_access_key: Some("passerelle-secret".into()),
        allow_http: true,
        timeout_secs,
    }
}

/// A running S3-compatible server: the one `PASSERELLE_TEST_S3` names, or a
/// `moto_server` this test started (and stops).
struct S3Server {
    endpoint: String,
    child: Option<Child>,
}

impl S3Server {
    fn find_or_start() -> Option<S3Server> {
        if let Ok(endpoint) = std::env::var("PASSERELLE_TEST_S3") {
            return Some(S3Server { endpoint, child: None });
        }
        let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
        let started = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match started {
            Ok(child) => Some(S3Server {
                endpoint: format!("http://127.0.0.1:{port}"),
                child: Some(child),
            }),
            Err(e) if std::env::var("CI").is_ok_and(|v| v == "true") => {
                panic!("no S3-compatible server: set PASSERELLE_TEST_S3 or install moto[server] ({e})")
            }
            Err(e) => {
                eprintln!("skipped: no S3-compatible server (PASSERELLE_TEST_S3 unset, moto_server: {e})");
                None
            }
        }
    }

    fn backend(&self, bucket: &str) -> Backend {
        Backend::S3 {
            bucket: bucket.into(),
            settings: settings(&self.endpoint, 10),
        }
    }

    /// moto takes an unsigned bucket creation; waits for a server just started.
    async fn create_bucket(&self, bucket: &str) {
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if let Ok(answer) = client.put(format!("{}/{bucket}", self.endpoint)).send().await {
                assert!(answer.status().is_success(), "bucket creation: {}", answer.status());
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the S3-compatible server at {} does not answer", self.endpoint);
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
