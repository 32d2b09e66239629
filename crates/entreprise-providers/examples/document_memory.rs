//! What one API Entreprise attestation holds in memory, for `bench/documents.sh`:
//! URSSAF's attestation of about 100 KB (its simulator, SIRENs 998…) fetched by the
//! provider, checked and stored as the gateway does (`Documents::attach`, in a temporary
//! folder), then downloaded from the store. A counting allocator gives, for each step,
//! the most bytes live at once above what was live before the call: what a call adds
//! to the heap, whatever the allocator keeps from the operating system. The most of
//! four calls, after three that warm up the client (its connection's read buffer grows
//! to its size for such answers); the simulator runs in the same process.
//!
//! Prints `MEMORY pdf=<bytes> fetch=<bytes> store=<bytes> download=<bytes>
//! largest=<bytes>` (`largest`: the largest single allocation during a fetch).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use futures::StreamExt;
use passerelle_bouquet::{Call, Extras, Provider};
use passerelle_core::Purpose;
use passerelle_documents::{Backend, DeferredLinks, DocumentStore, Documents, Handle, ProxiedFiles, Signer};
use passerelle_entreprise_providers::urssaf::{simulator, Settings, UrssafProvider};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

fn grew(size: usize) {
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
    LARGEST.fetch_max(size, Relaxed);
}

// SAFETY: every call goes to the system allocator as is; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grew(layout.size());
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        System.dealloc(ptr, layout)
    }

    /// Counted as a new block beside the old one, which a move may need.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grew(new_size);
        let moved = System.realloc(ptr, layout, new_size);
        LIVE.fetch_sub(layout.size(), Relaxed);
        moved
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// Starts a step: the peak and the largest block from now on.
fn start() -> usize {
    let live = LIVE.load(Relaxed);
    PEAK.store(live, Relaxed);
    LARGEST.store(0, Relaxed);
    live
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let router = simulator::router(simulator::Simulator::with_default_data());
    tokio::spawn(async move { axum::serve(listener, router).await });
    let provider = UrssafProvider::new(Settings::simulated(&base))?;
    let folder = std::env::temp_dir().join(format!("document_memory-{}", std::process::id()));
    let secret = b"document_memory";
    let documents = Documents {
        store: DocumentStore::open(&Backend::Folder(folder.clone()))?,
        signer: Signer::new(secret),
        proxied: ProxiedFiles::new(secret, &Default::default())?,
        deferred: DeferredLinks::new(secret)?,
    };
    let endpoint = passerelle_entreprise::OPERATIONS
        .iter()
        .map(|o| &o.endpoint)
        .find(|e| e.provider == passerelle_entreprise_providers::urssaf::ID)
        .ok_or_else(|| anyhow::anyhow!("no URSSAF operation"))?;
    let purpose = Purpose::from([("recipient".to_string(), "13002526500013".to_string())]);
    let today = chrono::Utc::now().date_naive();
    let (mut fetch, mut store, mut download, mut largest) = (0, 0, 0, 0);
    // Luhn-valid SIRENs of the simulator's large attestation.
    let sirens = [
        "998000004",
        "998000012",
        "998000020",
        "998000038",
        "998000046",
        "998000053",
        "998000061",
    ];
    for (i, siren) in sirens.iter().enumerate() {
        let extras = Extras::from([("siren".to_string(), siren.to_string())]);
        let call = Call {
            endpoint,
            version: 4,
            caller: "3f0a6c1e-2b1d-4c8e-9f5a-7d6e5c4b3a21",
            civility: None,
            extras: &extras,
            purpose: &purpose,
            request_id: "6f1c1a4e-2b6e-4b7a-9d1e-0c1b2a3d4e5f",
            today,
        };
        let before = start();
        let mut fetched = provider.fetch(&call).await.map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let fetch_peak = PEAK.load(Relaxed) - before;
        let fetch_largest = LARGEST.load(Relaxed);
        start();
        let attachments = std::mem::take(&mut fetched.attachments);
        let linked = documents.attach(attachments, passerelle_documents::unix_now()).await?;
        let store_peak = PEAK.load(Relaxed) - before;
        drop(fetched);
        let link = linked.first().ok_or_else(|| anyhow::anyhow!("no document"))?;
        let id = link
            .path
            .trim_start_matches("/documents/")
            .split('?')
            .next()
            .unwrap_or_default();
        let handle = Handle {
            id: id.to_string(),
            expires: link.expires_at,
        };
        let before = start();
        let mut body = documents
            .store
            .get(&handle)
            .await?
            .ok_or_else(|| anyhow::anyhow!("not stored"))?
            .body;
        while let Some(chunk) = body.next().await {
            chunk?;
        }
        let download_peak = PEAK.load(Relaxed) - before;
        if i >= 3 {
            fetch = fetch.max(fetch_peak);
            store = store.max(store_peak);
            download = download.max(download_peak);
            largest = largest.max(fetch_largest);
        }
    }
    let _ = std::fs::remove_dir_all(&folder);
    println!(
        "MEMORY pdf={} fetch={fetch} store={store} download={download} largest={largest}",
        simulator::large_attestation().len()
    );
    Ok(())
}
