//! The outermost layer of a bouquet call: whatever happened inside, one journal row,
//! the metrics and one log line, all from the call's record. The answer leaves only
//! once its row is durable; when it cannot be, the caller gets 503 `00503` and no data.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use passerelle_core::{codes, ApiError, Purpose};
use passerelle_store::{CallerId, JournalRow};

use crate::concern::{concern, Inner, Next};
use crate::error::Errors;
use crate::handlers::request_id::RequestId;
use crate::{telemetry, Served};

/// What the inner layers learn about a call, for its journal row and headers.
#[derive(Debug, Default)]
pub struct CallRecord {
    pub caller: Option<CallerId>,
    pub purpose: Purpose,
    pub params_hash: Option<String>,
    /// Seconds the cached answer has left, when the answer came from the cache.
    pub cache_left: Option<u64>,
    /// Time spent waiting for the provider.
    pub upstream: Duration,
    /// SHA-256 of the body, when the answer was signed.
    pub body_sha256: Option<String>,
    /// The lookup key of the person the call is about (citizen record).
    pub subject: Option<String>,
}

/// The call's record, shared by the layers that fill it.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<CallRecord>>);

impl Recorder {
    pub fn update(&self, change: impl FnOnce(&mut CallRecord)) {
        change(&mut self.0.lock().expect("call record"));
    }

    pub fn purpose(&self) -> Purpose {
        self.0.lock().expect("call record").purpose.clone()
    }

    fn take(&self) -> CallRecord {
        std::mem::take(&mut self.0.lock().expect("call record"))
    }
}

/// The route a call matched: its template (the journal's and the metrics' endpoint,
/// never the path as sent) and what answers it.
#[derive(Clone)]
pub struct Matched {
    pub template: Arc<str>,
    pub version: u8,
    pub endpoint: &'static passerelle_bouquet::Endpoint,
    /// Set on a legacy route (API Particulier v2): which one, and once the call is
    /// translated, the query as the caller sent it.
    pub legacy: Option<Arc<crate::legacy::LegacyCall>>,
}

concern!(
    /// The call's record: its journal row, metrics and log line.
    Record = record
);

async fn record<S: Inner>(served: Arc<Served>, mut request: Request, next: Next<S>) -> Response {
    let started = Instant::now();
    let _counted = telemetry::CallInFlight::start();
    let recorder = Recorder::default();
    request.extensions_mut().insert(recorder.clone());
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let template = request
        .extensions()
        .get::<Matched>()
        .map(|m| m.template.clone())
        .unwrap_or_else(|| Arc::from("unknown"));
    let response = next.run(request).await;
    let record = recorder.take();
    let took = started.elapsed();
    let status = response.status().as_u16();
    let row = JournalRow {
        request_id: request_id.clone(),
        at: Utc::now(),
        bouquet: served.bouquet.name.to_string(),
        caller: record.caller,
        purpose: record.purpose,
        endpoint: template.to_string(),
        status,
        duration_ms: took.as_secs_f64() * 1000.0,
        params_hash: record.params_hash,
        cached: record.cache_left.is_some(),
        body_sha256: record.body_sha256,
        subject: record.subject,
    };
    let journaled = served.app.journal.record(row).await;
    let mut response = if journaled { response } else { unjournaled(response) };
    cache_headers(response.headers_mut(), record.cache_left);
    let status = response.status().as_u16();
    telemetry::call(template.clone(), status, took, record.upstream);
    tracing::info!(
        request_id = %request_id,
        endpoint = %template,
        status,
        duration_ms = took.as_secs_f64() * 1000.0,
        cached = record.cache_left.is_some(),
        journaled,
        bouquet = served.bouquet.name,
        "bouquet call"
    );
    response
}

/// 503 `00503` in place of an answer whose row could not be written; the rate-limit
/// headers stay, the data does not.
fn unjournaled(answer: Response) -> Response {
    let mut response = Errors::from(ApiError::gateway(codes::JOURNAL_UNAVAILABLE)).into_response();
    for (name, value) in answer.headers() {
        if name.as_str().starts_with("ratelimit-") || name == "retry-after" {
            response.headers_mut().insert(name.clone(), value.clone());
        }
    }
    response
}

fn cache_headers(headers: &mut HeaderMap, cache_left: Option<u64>) {
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set("x-response-cached", cache_left.is_some().to_string());
    // Only a cached answer has a lifetime left; an empty value would read as zero.
    if let Some(left) = cache_left {
        set("x-cache-expires-in", left.to_string());
    }
}
