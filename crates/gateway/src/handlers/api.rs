//! `/api/*`: the gateway's own health, token introspection, the OpenAPI document.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
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
    match auth::authenticate(&state.tokens, &headers, ip).await {
        Ok(caller) => {
            let r = caller.record;
            Json(json!({"_id": r.jti.to_string(), "name": r.name, "scopes": r.scopes})).into_response()
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

/// The provider checks this gateway can run.
pub async fn pings(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    let mut names: Vec<_> = state.providers.keys().copied().collect();
    names.sort_unstable();
    let list: Vec<_> = names
        .iter()
        .map(|name| json!({"name": name, "url": format!("/api/{name}/ping")}))
        .collect();
    Json(json!(list))
}

pub async fn provider_ping(State(state): State<Arc<AppState>>, Path(name): Path<String>) -> Response {
    let Some(provider) = state.providers.get(name.as_str()) else {
        return (StatusCode::NOT_FOUND, Json(json!({}))).into_response();
    };
    let (status, body) = state
        .pings
        .check(&name, provider.as_ref(), &state.config.maintenance)
        .await;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, Json(body)).into_response()
}
