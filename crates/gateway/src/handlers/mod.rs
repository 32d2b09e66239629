//! Routes: one file per resource.

mod api;
mod request_id;
mod v3;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use passerelle_core::ApiError;

use crate::error::Errors;
use crate::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/api/ping", get(api::ping))
        .route("/api/introspect", get(api::introspect))
        .route("/api/france_connect_jwks", get(crate::france_connect::jwks))
        .route("/api/open-api.yml", get(api::open_api))
        .route("/api/pings", get(api::pings))
        .route("/api/{provider}/ping", get(api::provider_ping))
        .route("/{version}/{provider}/{resource}/{mode}", get(v3::call))
        .fallback(unknown_route)
        .layer(axum::middleware::from_fn(request_id::tag))
}

async fn unknown_route() -> Errors {
    ApiError::gateway("00404").into()
}
