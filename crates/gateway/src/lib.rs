//! The gateway: an axum application serving any bouquet it is handed
//! (`passerelle_bouquet::Bouquet`), each on its own listener.
//!
//! A call goes through tower layers, outermost first: request id (`handlers::request_id`),
//! the call record that writes the journal row, metrics and log line (`record`), the
//! answer's signature when the caller asks for one (`sign`), the per-IP quota and bans
//! (`ip_guard`), who calls (`caller`), the rate limit (`throttle`); then the handler (`handlers::call`)
//! checks scopes, purpose and parameters, maintenance windows, and asks the source
//! (`source`: the providers behind cache and in-flight lock, or recorded answers).
//!
//! Limits, cache and locks live in Redis when the replicas share one (`redis_link`),
//! in memory otherwise; metrics are in `telemetry`.

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

pub mod addresses;
pub mod auth;
pub mod cache;
pub mod caller;
pub mod concern;
pub mod config;
pub mod error;
pub mod france_connect;
pub mod handlers;
pub mod inflight;
pub mod ip_guard;
pub mod legacy;
pub mod limits;
pub mod maintenance;
pub mod pings;
pub mod record;
pub mod redis_link;
pub mod server;
pub mod sign;
pub mod source;
pub mod telemetry;
pub mod throttle;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use passerelle_bouquet::Bouquet;
use passerelle_documents::{DeferredLinks, DocumentStore, Documents, ProxiedFiles, Signer};
use passerelle_signature::AnswerSigner;
use passerelle_store::Store;
use passerelle_tokens::{KeyRing, Verifier};
use tokio::net::TcpListener;

pub use config::GatewayConfig;
use source::{Recorded, RecordedSource, Source};

/// What answers the calls that pass every check.
pub enum Answers {
    /// The data providers (production).
    Providers,
    /// A book of recorded answers (the sandbox).
    Recorded(Arc<dyn Recorded>),
}

/// What every bouquet's requests share: the store, tokens, limits, journal, source.
pub struct AppState {
    pub config: GatewayConfig,
    pub store: Arc<dyn Store>,
    /// Checks bearer tokens; its key ring also signs the ones the demo issues.
    pub tokens: Verifier,
    pub limiter: limits::Limiter,
    pub journal: passerelle_journal::Journal,
    pub france_connect: Arc<france_connect::Gate>,
    pub salt: Vec<u8>,
    pub pings: pings::Pings,
    pub source: Box<dyn Source>,
    pub documents: Arc<Documents>,
    /// Signs the answers whose callers ask for it.
    pub answers: Arc<AnswerSigner>,
    /// The client IPs banned now (`ip_guard`).
    pub ip_bans: Arc<ip_guard::IpBans>,
    /// The key of the citizen record's lookup keys, when the deployment keeps one.
    pub citizen_secret: Option<Vec<u8>>,
    /// The addresses each token calls from, flushed to the store every few seconds.
    pub addresses: Arc<addresses::AddressBook>,
}

/// One bouquet served with the shared state: the state of its router.
pub struct Served {
    pub app: Arc<AppState>,
    pub bouquet: Bouquet,
}

impl AppState {
    pub async fn new(config: GatewayConfig, store: Arc<dyn Store>) -> anyhow::Result<Arc<AppState>> {
        AppState::answered_by(config, store, Answers::Providers).await
    }

    pub async fn answered_by(
        config: GatewayConfig,
        store: Arc<dyn Store>,
        answers: Answers,
    ) -> anyhow::Result<Arc<AppState>> {
        let keys = KeyRing::load_or_create(store.as_ref()).await?;
        let salt = store
            .secret_or_insert("journal_salt", rand::random::<[u8; 32]>().to_vec())
            .await?;
        let redis = redis_link::RedisLink::start(&config.redis, &salt).await?;
        let documents = open_documents(&config, store.as_ref()).await?;
        let signer = AnswerSigner::load_or_create(store.clone()).await?;
        let ip_bans = ip_guard::IpBans::load(
            store.clone(),
            Duration::from_millis(config.ip_limits.bans_refresh_ms.max(100)),
        )
        .await?;
        signer.keep_fresh(Duration::from_secs(config.limits.answer_keys_refresh_secs.max(1)));
        let france_connect = Arc::new(france_connect::Gate::new(
            &config.providers.france_connect,
            store.clone(),
        )?);
        let source: Box<dyn Source> = match answers {
            Answers::Providers => Box::new(source::Providers {
                cache: cache::ResponseCache::new(redis.clone()),
                // A Redis lock outlives a replica that died holding it by this much, no more.
                inflight: inflight::InFlight::new(
                    redis.clone(),
                    Duration::from_secs(config.limits.provider_timeout_secs + 5),
                ),
                france_connect: france_connect.clone(),
                documents: documents.clone(),
                budget: Duration::from_secs(config.limits.provider_timeout_secs),
            }),
            Answers::Recorded(book) => Box::new(RecordedSource {
                book,
                france_connect: config.sandbox_france_connect.then(|| france_connect.clone()),
            }),
        };
        let citizen_secret = config.citizen_record.key_secret()?;
        let addresses = addresses::AddressBook::start(store.clone(), addresses::FLUSH_EVERY);
        Ok(Arc::new(AppState {
            citizen_secret,
            tokens: Verifier::new(store.clone(), keys, Duration::from_millis(config.limits.token_cache_ms)),
            limiter: limits::Limiter::new(redis),
            journal: passerelle_journal::Journal::start(store.clone(), &config.journal).await?,
            france_connect,
            pings: pings::Pings::default(),
            salt,
            store,
            config,
            source,
            documents,
            answers: signer,
            ip_bans,
            addresses,
        }))
    }
}

/// The document store the settings name, its link-signing secret (kept in the store,
/// like the journal salt, so that every replica signs alike), and its sweep.
async fn open_documents(config: &GatewayConfig, store: &dyn Store) -> anyhow::Result<Arc<Documents>> {
    let backend = config.documents.backend(&config.data_dir)?;
    let secret = store
        .secret_or_insert("document_links", rand::random::<[u8; 32]>().to_vec())
        .await?;
    let documents = Arc::new(Documents {
        store: DocumentStore::open(&backend)?,
        signer: Signer::new(&secret),
        proxied: ProxiedFiles::new(&secret, &config.documents.proxy)?,
        deferred: DeferredLinks::new(&secret)?,
    });
    let every = Duration::from_secs(config.documents.sweep_secs.max(1));
    tokio::spawn(sweep(Arc::downgrade(&documents), every));
    Ok(documents)
}

/// Deletes expired documents now and then, until the gateway is gone.
async fn sweep(documents: std::sync::Weak<Documents>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        let Some(documents) = documents.upgrade() else {
            return;
        };
        match documents.store.sweep(passerelle_documents::unix_now()).await {
            Ok(0) => {}
            Ok(gone) => tracing::info!(gone, "expired documents deleted"),
            Err(e) => tracing::warn!(error = %e, "document sweep failed"),
        }
    }
}

/// The routes of one bouquet, served at the root of its base URL.
pub fn router(state: Arc<AppState>, bouquet: Bouquet) -> Router {
    handlers::routes(Arc::new(Served { app: state, bouquet }))
}

/// Serves each bouquet on its listener until `shutdown` resolves; then stops
/// accepting, closes the connections with no call in flight, lets the calls in flight
/// finish (for at most `shutdown_grace_secs`), waits for their journal rows and signs
/// the journal's head.
pub async fn serve(
    listeners: Vec<(TcpListener, Bouquet)>,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_sites(listeners, Sites::new(), state, shutdown).await
}

/// Web pages served beside a bouquet's API on its listener, by bouquet name. They
/// share the listener, never the API's layers.
pub type Sites = std::collections::HashMap<&'static str, Router>;

/// Pages made from a bouquet as it is served (its value and the shared state), for
/// every bouquet's listener: the public site's catalogue, status and stats.
pub type Pages = Arc<dyn Fn(&Arc<Served>) -> Router + Send + Sync>;

/// `serve`, each bouquet's site merged into its listener's routes.
pub async fn serve_with_sites(
    listeners: Vec<(TcpListener, Bouquet)>,
    sites: Sites,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with_pages(listeners, sites, Vec::new(), state, shutdown).await
}

/// `serve_with_sites`, and `pages` made for each bouquet and merged too.
pub async fn serve_with_pages(
    listeners: Vec<(TcpListener, Bouquet)>,
    mut sites: Sites,
    pages: Vec<Pages>,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    let journal = state.journal.clone();
    let routers = listeners
        .into_iter()
        .map(|(listener, bouquet)| {
            let site = sites.remove(bouquet.name);
            let served = Arc::new(Served {
                app: state.clone(),
                bouquet,
            });
            let mut routes = handlers::routes(served.clone());
            if let Some(site) = site {
                routes = routes.merge(site);
            }
            for make in &pages {
                routes = routes.merge(make(&served));
            }
            (listener, routes)
        })
        .collect();
    let server = server::Server::start(routers, &state.config.server);
    shutdown.await;
    if !server.drain(grace).await {
        tracing::warn!(
            grace_secs = grace.as_secs(),
            "shutdown grace period over: calls still running are cut"
        );
    }
    if journal.flush(grace).await {
        tracing::info!("journal flushed: every answered call has its row");
    } else {
        tracing::error!("journal rows still unwritten at exit");
    }
    if let Err(e) = state.addresses.flush().await {
        tracing::warn!(error = format!("{e:#}"), "the last tokens' addresses were not written");
    }
    if !journal.seal().await {
        tracing::error!("journal: the last rows could not be covered by a signed checkpoint");
    }
    Ok(())
}
