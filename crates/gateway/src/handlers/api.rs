//! `/api/*`: the gateway's own health, token introspection, the OpenAPI document.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::auth;
use crate::error::Errors;
use crate::handlers::v3::client_ip;
use crate::AppState;

pub async fn ping() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

pub async fn introspect(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let ip = client_ip(&state, &headers, peer);
    match auth::authenticate(&state.keys, &state.tokens, &headers, ip).await {
        Ok(caller) => {
            let r = caller.record;
            Json(json!({"_id": r.jti.to_string(), "name": r.name, "scopes": r.scopes}))
                .into_response()
        }
        Err(e) => Errors::from(e).into_response(),
    }
}

pub async fn open_api(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        state.openapi.clone(),
    )
        .into_response()
}
