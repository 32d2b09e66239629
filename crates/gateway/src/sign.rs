//! Signed answers, on request: a caller that sends `Accept-Signature` gets the
//! answer's detached JWS in `X-JWS-Signature`, whatever the status, and the call's
//! journal row keeps the SHA-256 of the body it signed.
//!
//! Between the record and who calls: the signature covers the errors of every inner
//! layer, and the record writes the body's hash into the row (format 3). When the row
//! cannot be written the record answers 503 without this header: no signature ever
//! vouches for an answer the journal does not hold.

use std::sync::Arc;

use axum::body::{to_bytes, Body};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use passerelle_core::{codes, ApiError};
use passerelle_signature::{sha256_hex, AnswerClaims, ASK_HEADER, SIGNATURE_HEADER};

use crate::concern::{concern, Inner, Next};
use crate::error::Errors;
use crate::handlers::request_id::RequestId;
use crate::record::{Matched, Recorder};
use crate::Served;

/// Answers are JSON documents; anything larger is not one of ours.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

concern!(
    /// The answer's signature, when the caller asks for one.
    Sign = sign
);

async fn sign<S: Inner>(served: Arc<Served>, request: Request, next: Next<S>) -> Response {
    if !request.headers().contains_key(ASK_HEADER) {
        return next.run(request).await;
    }
    // What the caller sent, as it sent it, so that it can hash its own URL alike.
    let target_sha256 = sha256_hex(request.uri().path_and_query().map_or("/", |p| p.as_str()).as_bytes());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let endpoint = request
        .extensions()
        .get::<Matched>()
        .map(|m| m.template.to_string())
        .unwrap_or_default();
    let recorder = request.extensions().get::<Recorder>().cloned().unwrap_or_default();
    let (mut parts, body) = next.run(request).await.into_parts();
    let Ok(body) = to_bytes(body, BODY_LIMIT).await else {
        return unsigned("La réponse n'a pu être lue pour être signée.");
    };
    let claims = AnswerClaims {
        request_id,
        bouquet: served.bouquet.name.to_string(),
        endpoint,
        target_sha256,
        purpose: recorder.purpose(),
        status: parts.status.as_u16(),
        iat: chrono::Utc::now().timestamp(),
        body_sha256: sha256_hex(&body),
    };
    let signature = served.app.answers.sign(&claims, &body).ok();
    let Some(value) = signature.and_then(|s| HeaderValue::from_str(&s).ok()) else {
        tracing::error!("an answer could not be signed: no answer key is active");
        return unsigned("La réponse n'a pu être signée.");
    };
    recorder.update(|r| r.body_sha256 = Some(claims.body_sha256));
    parts.headers.insert(SIGNATURE_HEADER, value);
    Response::from_parts(parts, Body::from(body))
}

/// 500 in place of an answer the caller asked signed and cannot have so.
fn unsigned(detail: &str) -> Response {
    Errors::from(ApiError::gateway(codes::INTERNAL).with_detail(detail)).into_response()
}
