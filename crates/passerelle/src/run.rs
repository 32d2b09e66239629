//! Starting the gateway and the simulators.

use std::path::Path;
use std::sync::Arc;

use passerelle_bouquet::Bouquet;
use passerelle_gateway::{AppState, GatewayConfig};
use passerelle_store::Store;
use tokio::net::TcpListener;

use crate::StoreArgs;

/// The database URL named by the flags, or the data folder's SQLite file.
pub fn database_url(args: &StoreArgs, config: &GatewayConfig) -> String {
    match (&args.database_url, &args.data_dir) {
        (Some(url), _) => url.clone(),
        (None, Some(dir)) => format!("sqlite://{}", dir.join("passerelle.db").display()),
        (None, None) => config.database_url(),
    }
}

pub async fn open_store(args: &StoreArgs) -> anyhow::Result<Arc<dyn Store>> {
    let config = GatewayConfig::load(None)?;
    let url = database_url(args, &config);
    prepare_data_dir(&url)?;
    passerelle_journal::open(&url).await
}

/// Creates the folder of a SQLite file, so that a fresh data folder just works.
pub fn prepare_data_dir(url: &str) -> anyhow::Result<()> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if let Some(parent) = Path::new(path.split('?').next().unwrap_or(path)).parent() {
            std::fs::create_dir_all(parent)?;
        }
    }
    Ok(())
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down: finishing calls in flight");
}

/// What `serve`'s flags override in the configuration.
pub struct Overrides {
    pub listen: Option<String>,
    pub entreprise_listen: Option<String>,
    pub redis_url: Option<String>,
    pub metrics_listen: Option<String>,
    pub bench_without_journal: bool,
}

pub async fn serve(config_file: Option<&Path>, overrides: Overrides, store_args: StoreArgs) -> anyhow::Result<()> {
    let mut config = GatewayConfig::load(config_file)?;
    config.journal.bench_without_journal = overrides.bench_without_journal;
    if let Some(listen) = overrides.listen {
        config.listen = listen;
    }
    if let Some(listen) = overrides.entreprise_listen {
        config.entreprise_listen = listen;
    }
    if let Some(url) = overrides.redis_url {
        config.redis.url = Some(url);
    }
    if let Some(listen) = overrides.metrics_listen {
        config.metrics_listen = Some(listen);
    }
    if let Some(dir) = &store_args.data_dir {
        config.data_dir = dir.clone();
    }
    let url = database_url(&store_args, &config);
    prepare_data_dir(&url)?;
    let store = passerelle_journal::open(&url).await?;
    // Metrics first, so that what starting records (Redis reachable or not) is kept.
    if let Some(listen) = &config.metrics_listen {
        let listener = TcpListener::bind(listen).await?;
        println!("metrics listening on http://{}/metrics", listener.local_addr()?);
        // Scrapes go on while calls drain; the listener ends with the process.
        passerelle_gateway::telemetry::serve(listener, std::future::pending()).await?;
    }
    let listeners = bind_bouquets(&config).await?;
    let particulier_address = listeners[0].0.local_addr()?.to_string();
    if config.habilitation.entreprise_url.is_empty() {
        config.habilitation.entreprise_url = reachable(listeners[1].0.local_addr()?);
    }
    let state = AppState::new(config, store).await?;
    let mut sites = passerelle_citizen_record::sites(&state, &particulier_address)?;
    passerelle_habilitation_web::add_site(&mut sites, &state, &particulier_address)?;
    // Printed once the state (and its signing keys) is loaded: a caller may rely on it.
    for (listener, bouquet) in &listeners {
        let name = if bouquet.name == passerelle_particulier::NAME {
            "gateway"
        } else {
            bouquet.title
        };
        println!("{name} listening on http://{}", listener.local_addr()?);
    }
    let pages = passerelle_public_site::pages(&state).into_iter().collect();
    passerelle_gateway::serve_with_pages(listeners, sites, pages, state, shutdown_signal()).await?;
    println!("gateway stopped");
    Ok(())
}

/// Both bouquets, each on its listener.
pub async fn bind_bouquets(config: &GatewayConfig) -> anyhow::Result<Vec<(TcpListener, Bouquet)>> {
    let particulier = TcpListener::bind(&config.listen).await?;
    let entreprise = TcpListener::bind(&config.entreprise_listen).await?;
    Ok(vec![
        (particulier, passerelle_particulier::bouquet(&config.providers)?),
        (entreprise, entreprise_bouquet(config)?),
    ])
}

/// The address a listener is reached at from this machine (a wildcard bind is
/// reached on the loopback).
fn reachable(mut address: std::net::SocketAddr) -> String {
    if address.ip().is_unspecified() {
        address.set_ip(match address {
            std::net::SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{address}")
}

/// API Entreprise, answered by its providers as configured.
pub fn entreprise_bouquet(config: &GatewayConfig) -> anyhow::Result<Bouquet> {
    let providers = passerelle_entreprise_providers::registry(&config.entreprise)?;
    Ok(passerelle_entreprise::bouquet(providers))
}

/// Starts every simulator; the FranceConnect one encrypts to the key published at
/// `gateway_jwks_url`.
pub async fn start_simulators(
    listen: &str,
    gateway_jwks_url: &str,
) -> anyhow::Result<(std::net::SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(listen).await?;
    let address = listener.local_addr()?;
    let simulators =
        passerelle_providers::simulators_for(gateway_jwks_url).merge(passerelle_entreprise_providers::simulators());
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, simulators).await {
            tracing::error!(error = %e, "simulators stopped");
        }
    });
    Ok((address, task))
}

pub async fn simulate(listen: &str, gateway_jwks_url: &str) -> anyhow::Result<()> {
    let (address, task) = start_simulators(listen, gateway_jwks_url).await?;
    println!("simulators listening on http://{address} (DSS under /dss)");
    tokio::select! { _ = task => {}, _ = shutdown_signal() => {} }
    Ok(())
}
