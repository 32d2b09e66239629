//! The gateway: an axum application serving the API Particulier contract.
//!
//! A v3 call goes through, in order: route and version, bearer JWT and token record,
//! rate limit (on `france_connect` endpoints: rate limit, then FranceConnect's check of
//! the citizen's token), scopes, `recipient`, parameters, maintenance window, response
//! cache, in-flight lock, provider call, field masks, journal row. See `handlers::v3`.
//!
//! Limits, cache and locks live in Redis when the replicas share one (`redis_link`),
//! in memory otherwise; metrics are in `telemetry`.

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod cache;
pub mod config;
pub mod error;
pub mod france_connect;
pub mod handlers;
pub mod inflight;
pub mod keys;
pub mod limits;
pub mod maintenance;
pub mod openapi;
pub mod pings;
pub mod redis_link;
pub mod source;
pub mod telemetry;
pub mod tokens;

use std::collections::HashMap;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use passerelle_providers::Provider;
use passerelle_store::Store;
use tokio::net::TcpListener;

pub use config::GatewayConfig;

/// Everything a request handler needs, shared by all requests.
pub struct AppState {
    pub config: GatewayConfig,
    pub store: Arc<dyn Store>,
    pub keys: keys::KeyRing,
    pub tokens: auth::TokenLookup,
    pub limiter: limits::Limiter,
    pub cache: cache::ResponseCache,
    pub inflight: inflight::InFlight,
    pub journal: passerelle_journal::Journal,
    /// The Redis server shared with the other replicas, when configured.
    pub redis: Option<Arc<redis_link::RedisLink>>,
    pub providers: HashMap<&'static str, Arc<dyn Provider>>,
    pub france_connect: france_connect::Gate,
    pub salt: Vec<u8>,
    pub pings: pings::Pings,
    pub openapi: String,
    /// Providers in production; recorded cases in the sandbox.
    pub source: source::Source,
}

impl AppState {
    pub async fn new(config: GatewayConfig, store: Arc<dyn Store>) -> anyhow::Result<Arc<AppState>> {
        AppState::with_source(config, store, source::Source::Providers).await
    }

    pub async fn with_source(
        config: GatewayConfig,
        store: Arc<dyn Store>,
        source: source::Source,
    ) -> anyhow::Result<Arc<AppState>> {
        let keys = keys::KeyRing::load_or_create(store.as_ref()).await?;
        let salt = store
            .secret_or_insert("journal_salt", rand::random::<[u8; 32]>().to_vec())
            .await?;
        let redis = redis_link::RedisLink::start(&config.redis, &salt).await?;
        // A Redis lock outlives a replica that died holding it by this much, no more.
        let lock_expiry = Duration::from_secs(config.limits.provider_timeout_secs + 5);
        Ok(Arc::new(AppState {
            tokens: auth::TokenLookup::new(store.clone(), Duration::from_millis(config.limits.token_cache_ms)),
            limiter: limits::Limiter::new(redis.clone()),
            cache: cache::ResponseCache::new(redis.clone()),
            inflight: inflight::InFlight::new(redis.clone(), lock_expiry),
            redis,
            journal: passerelle_journal::Journal::start(store.clone(), &config.journal).await?,
            providers: passerelle_providers::registry(&config.providers)?,
            france_connect: france_connect::Gate::new(&config.providers.france_connect, store.clone())?,
            openapi: openapi::document(),
            pings: pings::Pings::default(),
            keys,
            salt,
            store,
            config,
            source,
        }))
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    handlers::routes().with_state(state)
}

/// Serves the gateway on `listener` until `shutdown` resolves; then stops accepting,
/// lets the calls in flight finish (for at most `shutdown_grace_secs`), waits for
/// their journal rows and signs the journal's head.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = Duration::from_secs(state.config.shutdown_grace_secs);
    let journal = state.journal.clone();
    let (stopping, stopped) = tokio::sync::oneshot::channel::<()>();
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = stopping.send(());
    });
    let grace_over = async move {
        match stopped.await {
            Ok(()) => tokio::time::sleep(grace).await,
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        served = server.into_future() => served?,
        () = grace_over => tracing::warn!(grace_secs = grace.as_secs(), "shutdown grace period over: calls still running are cut"),
    }
    if journal.flush(grace).await {
        tracing::info!("journal flushed: every answered call has its row");
    } else {
        tracing::error!("journal rows still unwritten at exit");
    }
    if !journal.seal().await {
        tracing::error!("journal: the last rows could not be covered by a signed checkpoint");
    }
    Ok(())
}
