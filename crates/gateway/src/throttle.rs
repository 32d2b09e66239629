//! The rate-limit layer: the quotas a call counts against (its token's endpoint group,
//! and the habilitation's own per-minute limit on top when it has one; or a
//! FranceConnect token's hash), `RateLimit-*` headers on every answer, 429 `00429` past
//! any of them.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use passerelle_core::{codes, ApiError};

use crate::concern::{concern, Inner, Next};
use crate::error::Errors;
use crate::limits::{Decision, Quota};
use crate::Served;

/// One counter a call counts against.
#[derive(Debug, Clone)]
pub struct RateKey {
    pub key: String,
    pub quota: Quota,
}

/// What the caller layer decided the call counts against, checked in order: every one
/// must pass. The headers tell the last one checked (the habilitation's own limit when
/// it has one, as the contract says).
#[derive(Debug, Clone)]
pub struct Rates(pub Vec<RateKey>);

concern!(
    /// The call's quotas.
    Throttle = throttle
);

async fn throttle<S: Inner>(served: Arc<Served>, request: Request, next: Next<S>) -> Response {
    let Some(Rates(rates)) = request.extensions().get::<Rates>().cloned() else {
        return next.run(request).await;
    };
    let mut last = None;
    for rate in &rates {
        let decision = served.app.limiter.check("token", &rate.key, rate.quota).await;
        last = Some(decision);
        if !decision.allowed {
            break;
        }
    }
    let Some(decision) = last else {
        return next.run(request).await;
    };
    let mut response = if decision.allowed {
        next.run(request).await
    } else {
        Errors::from(ApiError::gateway(codes::TOO_MANY_REQUESTS)).into_response()
    };
    headers(response.headers_mut(), decision);
    response
}

pub(crate) fn headers(headers: &mut HeaderMap, rate: Decision) {
    let mut set = |name: &'static str, value: u64| {
        headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
    };
    set("ratelimit-limit", rate.limit.into());
    set("ratelimit-remaining", rate.remaining.into());
    set("ratelimit-reset", rate.reset);
    if let Some(retry) = rate.retry_after {
        set("retry-after", retry);
    }
}
