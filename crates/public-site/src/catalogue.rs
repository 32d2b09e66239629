//! The catalogue of the bouquet's endpoints (`/catalogue`), a page per endpoint
//! (`/catalogue/{operation id}`) and the interactive API reference
//! (`/catalogue/reference`), all read from the bouquet as it is served.

mod call;
mod detail;
mod entries;
mod errors;
mod examples;
mod fields;
mod listing;
mod openapi;
mod params;
mod reference;
mod search;

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::Site;

/// The catalogue's own few styles (no inline style: the site's policy forbids them).
const STYLES: &str = include_str!("../assets/catalogue.css");

pub fn routes() -> Router<Arc<Site>> {
    Router::new()
        .route("/catalogue", get(listing::page))
        .route("/catalogue/catalogue.css", get(styles))
        .route("/catalogue/reference", get(reference::page))
        .route("/catalogue/reference/initialisation.js", get(reference::script))
        .route("/catalogue/reference/swagger/{*file}", get(reference::asset))
        .route("/catalogue/{operation}", get(detail::page))
}

async fn styles() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLES,
    )
        .into_response()
}
