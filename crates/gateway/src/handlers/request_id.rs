//! `X-Request-ID` on every response: the client's when it is a UUID (so both sides
//! log the same id), otherwise a new one, time-ordered (UUIDv7) so that the journal's
//! index of request ids grows at its end instead of at random pages.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::Response;
use uuid::Uuid;

use crate::concern::{concern, Inner, Next};
use crate::Served;

#[derive(Clone, Debug)]
pub struct RequestId(pub String);

concern!(
    /// The call's request id.
    Tag = tag
);

async fn tag<S: Inner>(_: Arc<Served>, mut request: Request, next: Next<S>) -> Response {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| Uuid::parse_str(v.trim()).ok())
        .unwrap_or_else(time_ordered)
        .hyphenated()
        .to_string();
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// A UUIDv7 whose random part comes from the thread's generator: `Uuid::now_v7` asks
/// the kernel for it, a system call per call.
fn time_ordered() -> Uuid {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    uuid::Builder::from_unix_timestamp_millis(millis, &rand::random()).into_uuid()
}
