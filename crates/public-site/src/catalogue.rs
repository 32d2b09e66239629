use std::sync::Arc;

use axum::Router;

use crate::Site;

pub fn routes() -> Router<Arc<Site>> {
    Router::new()
}
