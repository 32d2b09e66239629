//! Each bouquet's public site, at the root of its base URL: a home page, the catalogue
//! of its endpoints (`/catalogue`), its providers' status (`/statut`), its public stats
//! (`/stats`) and the sandbox token (`/bac-a-sable`). The pages read the bouquet as it
//! is served and the store; they never pass through the API's layers.

mod catalogue;
mod french;
mod sandbox;
mod stats;
mod status;

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use passerelle_bouquet::Bouquet;
use passerelle_gateway::config::PublicSiteConfig;
use passerelle_gateway::{AppState, Pages, Served};
use passerelle_store::Store;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// What every page of one bouquet's site reads.
pub struct Site {
    pub served: Arc<Served>,
    pub config: PublicSiteConfig,
    /// Sandbox tokens handed out per client address.
    sandbox_tokens: sandbox::Limiter,
}

impl Site {
    pub fn bouquet(&self) -> &Bouquet {
        &self.served.bouquet
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.served.app.store
    }
}

/// The public site's pages for every bouquet, if the configuration turns them on.
pub fn pages(state: &Arc<AppState>) -> Option<Pages> {
    let config = state.config.public_site.clone();
    if !config.enabled {
        return None;
    }
    if !config.dsfr_dir.join("dsfr.min.css").exists() {
        tracing::warn!(dir = %config.dsfr_dir.display(), "the DSFR is not built there (npm ci in web/): pages will show unstyled");
    }
    Some(Arc::new(move |served: &Arc<Served>| {
        router(Arc::new(Site {
            served: served.clone(),
            config: config.clone(),
            sandbox_tokens: sandbox::Limiter::default(),
        }))
    }))
}

fn router(site: Arc<Site>) -> Router {
    let dsfr = ServeDir::new(&site.config.dsfr_dir);
    Router::new()
        .route("/", get(home))
        .merge(catalogue::routes())
        .merge(status::routes(&site))
        .merge(stats::routes(&site))
        .merge(sandbox::routes())
        .with_state(site)
        .layer(header_layer(header::X_FRAME_OPTIONS, "DENY"))
        .layer(header_layer(header::REFERRER_POLICY, "same-origin"))
        .layer(header_layer(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .nest_service("/dsfr", dsfr)
}

/// Only the site's own styles, fonts and images; no script (the API reference page
/// sets its own policy).
pub(crate) const CSP: &str = "default-src 'none'; style-src 'self'; font-src 'self'; img-src 'self' data:; \
                              form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn header_layer(name: header::HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
}

/// The header and navigation every page shares.
pub(crate) struct Frame {
    /// The bouquet's title (`API Particulier`).
    pub title: &'static str,
    /// The section the page belongs to, for the navigation's `aria-current`.
    pub section: &'static str,
}

impl Frame {
    pub fn new(site: &Site, section: &'static str) -> Frame {
        Frame {
            title: site.bouquet().title,
            section,
        }
    }
}

/// A page rendered, with the site's policy and a short public cache.
pub(crate) fn page(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (
            [
                (header::CONTENT_SECURITY_POLICY, CSP),
                (header::CACHE_CONTROL, "public, max-age=60"),
            ],
            Html(html),
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "erreur interne").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    frame: Frame,
    endpoints: usize,
    providers: usize,
}

async fn home(State(site): State<Arc<Site>>) -> Response {
    let bouquet = site.bouquet();
    page(&Home {
        frame: Frame::new(&site, "accueil"),
        endpoints: bouquet.endpoints.len(),
        providers: bouquet.providers.len(),
    })
}
