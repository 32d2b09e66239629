//! `/api/*`: the gateway's own health, token introspection, the OpenAPI document.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::StatusCode;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use passerelle_core::{codes, ApiError};
use passerelle_store::TokenRecord;
use serde_json::json;

use crate::auth;
use crate::caller::client_ip;
use crate::error::Errors;
use crate::Served;

pub async fn ping() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// The public keys that verify signed answers (old ones included), as a JWKS.
pub async fn answers_jwks(State(served): State<Arc<Served>>) -> Response {
    let headers = [
        (header::CONTENT_TYPE, "application/jwk-set+json"),
        (header::CACHE_CONTROL, "public, max-age=60"),
    ];
    (headers, served.app.answers.jwks()).into_response()
}

/// The caller's token record, whichever bouquet it opens.
async fn token_of(served: &Served, headers: &HeaderMap, peer: SocketAddr) -> Result<Arc<TokenRecord>, Errors> {
    let state = &served.app;
    let ip = client_ip(&state.config, headers, peer);
    Ok(auth::authenticate(&state.tokens, headers, ip).await?.record)
}

/// The caller's token; a v2 client (its key in `X-Api-Key`) is refused in v2's shape.
pub async fn introspect(
    State(served): State<Arc<Served>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    match token_of(&served, &headers, peer).await {
        Ok(r) => Json(json!({
            "_id": r.jti.to_string(),
            "name": r.name,
            "scopes": r.scopes,
            "expires_at": r.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        }))
        .into_response(),
        Err(errors) => match &served.bouquet.legacy {
            Some(legacy) if crate::legacy::sent_by_legacy_client(&headers) => crate::legacy::flat_error(legacy, errors),
            _ => errors.into_response(),
        },
    }
}

/// The scopes of the caller's token, which must be this bouquet's.
pub async fn privileges(
    State(served): State<Arc<Served>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, Errors> {
    let r = token_of(&served, &headers, peer).await?;
    if r.bouquet != served.bouquet.name {
        return Err(ApiError::gateway(codes::TOKEN_INVALID).into());
    }
    Ok(Json(json!({"data": {"privileges": r.scopes}})))
}

pub async fn open_api(State(served): State<Arc<Served>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        served.bouquet.openapi.clone(),
    )
        .into_response()
}

/// The provider checks this gateway can run.
pub async fn pings(State(served): State<Arc<Served>>) -> Json<serde_json::Value> {
    let mut names: Vec<_> = served.bouquet.providers.keys().map(|id| id.as_str()).collect();
    names.sort_unstable();
    let list: Vec<_> = names
        .iter()
        .map(|name| json!({"name": name, "url": format!("/api/{name}/ping")}))
        .collect();
    Json(json!(list))
}

pub async fn provider_ping(State(served): State<Arc<Served>>, Path(name): Path<String>) -> Response {
    let found = served.bouquet.providers.iter().find(|(id, _)| id.as_str() == name);
    let Some((_, provider)) = found else {
        return (StatusCode::NOT_FOUND, Json(json!({}))).into_response();
    };
    let state = &served.app;
    let (status, body) = state
        .pings
        .check(&name, provider.as_ref(), &state.config.maintenance)
        .await;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, Json(body)).into_response()
}
