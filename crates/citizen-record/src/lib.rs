//! "Qui a consulté mes données ?": a citizen logs in with FranceConnect and reads
//! every call the gateway made about them: when, which administration (SIRET, name,
//! project), what was asked, what came of it — never the data itself.
//!
//! The gateway keeps, in each journal row about a person, a keyed lookup key derived
//! from the identity (`passerelle_core::PersonKey`); this site derives the same key
//! from the FranceConnect identity and reads the rows under it. It shares the store
//! and the journal with the gateway, never its call pipeline.

mod describe;
mod export;
mod login;
mod pages;
mod pdf;
mod session;
mod sirene;
mod site;

use std::path::PathBuf;
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use passerelle_journal::Journal;
use passerelle_store::Store;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

pub use describe::Directory;
pub use site::{simulated, sites};

/// Where the site lives under API Particulier's base URL.
pub const BASE: &str = "/mon-historique";

/// What the site needs, from the gateway's `citizen_record` settings.
#[derive(Clone)]
pub struct Settings {
    /// The key of the lookup keys (the gateway's, so that both derive the same).
    pub secret: Vec<u8>,
    /// FranceConnect's OpenID Connect issuer.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The site's address as browsers reach it, without a trailing slash.
    pub public_url: String,
    /// The built DSFR (`web/node_modules/@gouvfr/dsfr/dist`), served under `/mon-historique/dsfr`.
    pub dsfr_dir: PathBuf,
}

pub struct Site {
    settings: Settings,
    store: Arc<dyn Store>,
    journal: Journal,
    login: login::Login,
    sessions: session::Sessions,
    directory: Arc<dyn Directory>,
}

/// The site's routes, to merge into API Particulier's router.
pub fn router(settings: Settings, store: Arc<dyn Store>, journal: Journal, directory: Arc<dyn Directory>) -> Router {
    let dsfr = ServeDir::new(&settings.dsfr_dir);
    let site = Arc::new(Site {
        login: login::Login::new(&settings),
        sessions: session::Sessions::new(&settings.secret, settings.public_url.starts_with("https://")),
        settings,
        store,
        journal,
        directory,
    });
    let pages = Router::new()
        .route(BASE, get(pages::home))
        .route(&format!("{BASE}/connexion"), get(pages::log_in))
        .route(&format!("{BASE}/retour"), get(pages::come_back))
        .route(&format!("{BASE}/deconnexion"), post(pages::log_out))
        .route(&format!("{BASE}/releve.csv"), get(pages::csv))
        .route(&format!("{BASE}/releve.pdf"), get(pages::pdf))
        .with_state(site)
        // Pages name a person: never kept by a cache, never framed.
        .layer(header_layer(header::CACHE_CONTROL, "no-store"))
        .layer(header_layer(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    // Under the site's own path: the public site serves the DSFR at `/dsfr`.
    pages.nest_service(&format!("{BASE}/dsfr"), dsfr)
}

/// Only the site's own styles, fonts and images; no script at all.
const CSP: &str = "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn header_layer(name: header::HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}
