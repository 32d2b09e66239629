//! The two webhook endpoints, one per bouquet.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{parse, verify_signature, Bouquet, DeliveryKey, Event, Payload, Sink, SinkError};
use super::{Notification, SIGNATURE_HEADER};

/// The largest body read; a DataPass payload is a few kilobytes.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
struct Receiver {
    secret: Arc<[u8]>,
    sink: Arc<dyn Sink>,
}

/// `POST /api/datapass/v2/{api_particulier,api_entreprise}/webhook`. `secret` is the
/// webhook's secret as DataPass shows it (the hex string's bytes are the HMAC key).
pub fn router(secret: impl Into<Vec<u8>>, sink: Arc<dyn Sink>) -> Router {
    let receiver = Receiver {
        secret: secret.into().into(),
        sink,
    };
    let mut router = Router::new();
    for bouquet in Bouquet::ALL {
        let path = format!("/api/datapass/v2/{}/webhook", bouquet.slug());
        let handler = move |State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes| {
            receive(receiver, bouquet, headers, body)
        };
        router = router.route(&path, post(handler));
    }
    router.layer(DefaultBodyLimit::max(MAX_BODY_BYTES)).with_state(receiver)
}

async fn receive(receiver: Receiver, path: Bouquet, headers: HeaderMap, body: Bytes) -> Response {
    let header = headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok());
    if !verify_signature(&receiver.secret, &body, header) {
        tracing::warn!(bouquet = path.slug(), "datapass webhook: bad or missing signature");
        return (StatusCode::UNAUTHORIZED, Json(json!({}))).into_response();
    }
    let notification = match parse(&body) {
        Ok(Payload::Test) => return ok(json!({})),
        Ok(Payload::Notification(n)) => *n,
        // The detail goes back to DataPass only: it may quote the payload.
        Err(e) => {
            tracing::warn!(bouquet = path.slug(), "datapass webhook: payload rejected");
            return unprocessable("invalid payload", &e.to_string());
        }
    };
    if notification.bouquet != path {
        return unprocessable(
            "wrong bouquet",
            &format!(
                "a {} notification was posted to the {} webhook",
                notification.bouquet.slug(),
                path.slug()
            ),
        );
    }
    apply(&*receiver.sink, DeliveryKey::of(&body), notification).await
}

async fn apply(sink: &dyn Sink, key: DeliveryKey, n: Notification) -> Response {
    let (event, model_id) = (n.event, n.model_id);
    match sink.apply(key.clone(), n).await {
        Ok(applied) => {
            tracing::info!(
                event = event.as_str(),
                model_id,
                delivery = %key,
                duplicate = applied.duplicate,
                stale = applied.stale,
                "datapass webhook applied"
            );
            match applied.token_id.filter(|_| event == Event::Approve) {
                Some(token_id) => ok(json!({ "token_id": token_id })),
                None => ok(json!({})),
            }
        }
        Err(e) => {
            tracing::error!(event = event.as_str(), model_id, delivery = %key, error = %e,
                "datapass webhook not applied");
            let detail = match &e {
                SinkError::Rejected(reason) => reason.as_str(),
                SinkError::Internal(_) => "the notification could not be applied; retry later",
            };
            unprocessable("not applied", detail)
        }
    }
}

fn ok(body: Value) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

fn unprocessable(title: &str, detail: &str) -> Response {
    let body = json!({ "errors": [{ "title": title, "detail": detail }] });
    (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
}
