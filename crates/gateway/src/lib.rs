//! The gateway: an axum application serving the API Particulier contract.
//!
//! A v3 call goes through, in order: route and version, bearer JWT and token record,
//! rate limit (on `france_connect` endpoints: rate limit, then FranceConnect's check of
//! the citizen's token), scopes, `recipient`, parameters, maintenance window, response
//! cache, in-flight lock, provider call, field masks, journal row. See `handlers::v3`.

// `ApiError` is only built on failure paths, where its size costs nothing worth boxing.
#![allow(clippy::result_large_err)]

pub mod auth;
pub mod cache;
pub mod config;
pub mod error;
pub mod france_connect;
pub mod handlers;
pub mod inflight;
pub mod journal;
pub mod keys;
pub mod limits;
pub mod maintenance;
pub mod openapi;
pub mod pings;
pub mod source;
pub mod tokens;

use std::collections::HashMap;
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
    pub journal: journal::Journal,
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
        Ok(Arc::new(AppState {
            tokens: auth::TokenLookup::new(store.clone(), Duration::from_millis(config.limits.token_cache_ms)),
            limiter: limits::Limiter::new(),
            cache: cache::ResponseCache::new(),
            inflight: inflight::InFlight::default(),
            journal: journal::Journal::start(store.clone()),
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

/// Serves the gateway on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}
