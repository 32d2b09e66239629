//! `GET /v{N}/{provider}/{resource}/{mode}`: the v3+ pipeline shared by every endpoint.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Extension, Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::{Europe::Paris, Tz};
use passerelle_catalogue::{mask, Endpoint, Mode, NotServed};
use passerelle_core::{ApiError, Civility, Query, Siret};
use passerelle_providers::{Call, Extras, Fetched, Provider};
use passerelle_store::{CallerId, JournalRow, Purpose};
use serde_json::json;
use sha2::{Digest, Sha512};
use uuid::Uuid;

use super::request_id::RequestId;
use crate::auth::{self, Caller};
use crate::error::{Errors, JSON_API};
use crate::france_connect;
use crate::limits::{Decision, Quota};
use crate::source::{Recording, Source};
use crate::{telemetry, AppState};

/// What the journal and the response headers need, filled in as the pipeline goes.
struct Trace {
    request_id: String,
    endpoint: String,
    jti: Option<Uuid>,
    recipient: Option<String>,
    params_hash: Option<String>,
    rate: Option<Decision>,
    cache_left: Option<u64>,
    /// The catalogue's path of the endpoint, once resolved: the metrics' label (the
    /// requested path is the caller's to choose, so it is no label).
    route: Option<String>,
    /// Time spent waiting for the provider.
    upstream: Duration,
}

type RouteParts = (String, String, String, String);

/// What a call is answered with: a provider's data, masked and wrapped by the gateway,
/// or a recorded answer served as is (the sandbox).
enum Answer {
    Fetched(Fetched),
    Recorded(Recording),
}

pub async fn call(
    State(state): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path((version, provider, resource, mode)): Path<RouteParts>,
    RawQuery(raw): RawQuery,
    Extension(RequestId(request_id)): Extension<RequestId>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let _counted = telemetry::CallInFlight::start();
    let mut trace = Trace {
        request_id,
        endpoint: format!("/{version}/{provider}/{resource}/{mode}"),
        jti: None,
        recipient: None,
        params_hash: None,
        rate: None,
        cache_left: None,
        route: None,
        upstream: Duration::ZERO,
    };
    let route = (version, provider, resource, mode);
    let outcome = run(
        &state,
        &mut trace,
        &route,
        raw.as_deref().unwrap_or(""),
        &headers,
        client_ip(&state, &headers, peer),
    )
    .await;
    finish(&state, trace, outcome, started).await
}

async fn run(
    state: &AppState,
    trace: &mut Trace,
    route: &RouteParts,
    raw: &str,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Answer, Errors> {
    let (endpoint, version) = resolve(route)?;
    trace.route = Some(endpoint.public_path(version));
    let (caller, identity, recorded_identity) = match endpoint.mode {
        Mode::FranceConnect => france_connect_caller(state, trace, endpoint, headers).await?,
        _ => {
            let caller = auth::authenticate(&state.keys, &state.tokens, headers, ip).await?;
            trace.jti = Some(caller.record.jti);
            let quota = match caller.record.rate_limit_per_minute {
                Some(per_minute) => Quota::per_minute(per_minute),
                None => Quota::per_second(state.config.limits.per_second),
            };
            throttle(state, trace, &caller.record.jti.to_string(), quota).await?;
            (caller, None, Vec::new())
        }
    };
    if !endpoint.access_scopes.iter().any(|s| caller.scopes.contains(*s)) {
        return Err(ApiError::gateway("00100").into());
    }
    let query = parse_query(raw)?;
    let recipient = query
        .get("recipient")
        .and_then(Siret::parse)
        .ok_or_else(|| ApiError::gateway("00210"))?;
    trace.recipient = Some(recipient.to_string());
    let provider = state
        .providers
        .get(endpoint.provider)
        .ok_or_else(|| ApiError::gateway("00500"))?;
    let now = Utc::now().with_timezone(&Paris);
    let (civility, extras) = parse_params(endpoint, provider.as_ref(), &query, identity, now.date_naive())?;
    let key = cache_key(endpoint, version, civility.as_ref(), &extras);
    trace.params_hash = Some(params_hash(&state.salt, &key));
    check_maintenance(state, endpoint, provider.as_ref(), now)?;
    if let Source::Recorded(book) = &state.source {
        let mut pairs = query.pairs().to_vec();
        pairs.extend(recorded_identity);
        return Ok(Answer::Recorded(book.answer(endpoint, version, &Query::new(pairs))?));
    }

    let no_cache = headers.get("cache-control").and_then(|v| v.to_str().ok()) == Some("no-cache");
    let cached = if no_cache { None } else { state.cache.get(&key).await };
    let fetched = match cached.and_then(|(value, left)| Some((serde_json::from_value::<Fetched>(value).ok()?, left))) {
        Some((fetched, left)) => {
            trace.cache_left = Some(left);
            fetched
        }
        None => {
            let _running = state
                .inflight
                .try_acquire(format!("{}|{key}", caller.record.jti))
                .await
                .ok_or_else(|| ApiError::gateway("00015"))?;
            let caller_id = caller.record.jti.to_string();
            let call = Call {
                endpoint,
                version,
                caller: &caller_id,
                civility: civility.as_ref(),
                extras: &extras,
                recipient: &recipient,
                request_id: &trace.request_id,
                today: now.date_naive(),
            };
            let asked = Instant::now();
            let fetched = fetch(state, provider.as_ref(), &call).await;
            trace.upstream = asked.elapsed();
            let fetched = fetched?;
            if !no_cache && endpoint.cache_ttl_secs > 0 {
                if let Ok(value) = serde_json::to_value(&fetched) {
                    state
                        .cache
                        .put(key, value, Duration::from_secs(endpoint.cache_ttl_secs))
                        .await;
                }
            }
            fetched
        }
    };
    let mut fetched = fetched;
    mask::apply(&mut fetched.data, endpoint.masks, &caller.scopes);
    Ok(Answer::Fetched(fetched))
}

fn resolve(route: &RouteParts) -> Result<(&'static Endpoint, u8), ApiError> {
    let (version, provider, resource, mode) = route;
    let version: u8 = version
        .strip_prefix('v')
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ApiError::gateway("00404"))?;
    match passerelle_catalogue::find(&format!("{provider}/{resource}"), mode, version) {
        Ok(endpoint) => Ok((endpoint, version)),
        Err(NotServed::Unknown) => Err(ApiError::gateway("00404")),
        Err(NotServed::Version) => Err(ApiError::gateway("00402")
            .with_detail(format!("La version v{version} n'est pas supportée pour cet endpoint"))),
    }
}

/// On a `france_connect` endpoint the bearer is a citizen's FranceConnect access token:
/// it is rate-limited by its hash, then FranceConnect gives the scopes and the identity
/// (a checked civility). A recorded source (the sandbox) knows its own tokens and gives
/// the identity as query parameters instead.
async fn france_connect_caller(
    state: &AppState,
    trace: &mut Trace,
    endpoint: &Endpoint,
    headers: &HeaderMap,
) -> Result<(Caller, Option<Civility>, Vec<(String, String)>), Errors> {
    let token = auth::bearer(headers).ok_or_else(|| ApiError::gateway("00101"))?;
    let quota = Quota::per_second(state.config.limits.per_second);
    throttle(state, trace, &france_connect::token_hash(token), quota).await?;
    if let Source::Recorded(book) = &state.source {
        let user = book.france_connect(token)?;
        let caller = france_connect::caller(user.scopes.into_iter().collect());
        trace.jti = Some(caller.record.jti);
        return Ok((caller, None, user.identity));
    }
    let (caller, civility) = state.france_connect.caller(endpoint.resource, token).await?;
    trace.jti = Some(caller.record.jti);
    Ok((caller, Some(civility), Vec::new()))
}

async fn throttle(state: &AppState, trace: &mut Trace, key: &str, quota: Quota) -> Result<(), ApiError> {
    let decision = state.limiter.check(key, quota).await;
    trace.rate = Some(decision);
    if decision.allowed {
        Ok(())
    } else {
        Err(ApiError::gateway("00429"))
    }
}

fn parse_query(raw: &str) -> Result<Query, ApiError> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(raw)
        .map(Query::new)
        .map_err(|_| ApiError::gateway("00401").with_detail("La chaîne de requête n'est pas correctement encodée."))
}

/// The identity (from the query, or `given` by FranceConnect) and the endpoint's own
/// parameters, every error gathered.
fn parse_params(
    endpoint: &Endpoint,
    provider: &dyn Provider,
    query: &Query,
    given: Option<Civility>,
    today: NaiveDate,
) -> Result<(Option<Civility>, Extras), Errors> {
    let civility = match given {
        Some(civility) => Ok(Some(civility)),
        None => endpoint
            .civility
            .map(|rules| Civility::parse(query, &rules, today))
            .transpose(),
    };
    let extras = provider.parse_extras(endpoint, query, today);
    match (civility, extras) {
        (Ok(c), Ok(e)) => Ok((c, e)),
        (c, e) => Err(Errors(c.err().into_iter().chain(e.err()).flatten().collect())),
    }
}

/// The call's identity: endpoint and every parameter, never the caller nor `recipient`.
fn cache_key(endpoint: &Endpoint, version: u8, civility: Option<&Civility>, extras: &Extras) -> String {
    let mut key = format!(
        "{}?{}",
        endpoint.public_path(version),
        civility.map(Civility::canonical).unwrap_or_default()
    );
    for (k, v) in extras {
        key.push_str(&format!("&{k}={v}"));
    }
    key
}

/// Salted SHA-512, so the journal can prove which call was made without holding the
/// identity in clear.
fn params_hash(salt: &[u8], canonical: &str) -> String {
    let mut hasher = Sha512::new();
    hasher.update(salt);
    hasher.update(b":");
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

fn check_maintenance(
    state: &AppState,
    endpoint: &Endpoint,
    provider: &dyn Provider,
    now: DateTime<Tz>,
) -> Result<(), ApiError> {
    let active = state
        .config
        .maintenance
        .iter()
        .find_map(|w| w.active_at(endpoint.provider, endpoint.resource, now));
    match active {
        None => Ok(()),
        Some(a) => Err(provider
            .info()
            .error("020")
            .with_detail(format!(
                "Le fournisseur de données est en maintenance de {} à {}",
                a.start, a.end
            ))
            .with_meta("retry_in", a.retry_in)),
    }
}

async fn fetch(state: &AppState, provider: &dyn Provider, call: &Call<'_>) -> Result<Fetched, ApiError> {
    let budget = Duration::from_secs(state.config.limits.provider_timeout_secs);
    let asked = Instant::now();
    let (result, outcome) = match tokio::time::timeout(budget, provider.fetch(call)).await {
        Ok(Ok(fetched)) => (Ok(fetched), "ok"),
        Ok(Err(e)) => (Err(e), "error"),
        Err(_) => (Err(provider.info().error("002")), "timeout"),
    };
    telemetry::upstream(call.endpoint.provider, outcome, asked.elapsed());
    result
}

async fn finish(state: &AppState, trace: Trace, outcome: Result<Answer, Errors>, started: Instant) -> Response {
    let status = match &outcome {
        Ok(Answer::Fetched(_)) => 200,
        Ok(Answer::Recorded(recording)) => recording.status,
        Err(errors) => errors.status().as_u16(),
    };
    let took = started.elapsed();
    let duration_ms = took.as_secs_f64() * 1000.0;
    let row = JournalRow {
        request_id: trace.request_id.clone(),
        at: Utc::now(),
        bouquet: "particulier".into(),
        caller: trace.jti.map(CallerId::Token),
        purpose: Purpose::from_iter(trace.recipient.clone().map(|r| ("recipient".into(), r))),
        endpoint: trace.endpoint.clone(),
        status,
        duration_ms,
        params_hash: trace.params_hash.clone(),
        cached: trace.cache_left.is_some(),
    };
    let journaled = state.journal.record(row).await;
    let status = if journaled { status } else { 503 };
    telemetry::call(
        trace.route.as_deref().unwrap_or("unknown"),
        status,
        took,
        trace.upstream,
    );
    tracing::info!(request_id = %trace.request_id, endpoint = %trace.endpoint, status, duration_ms, cached = trace.cache_left.is_some(), journaled, "v3 call");
    let mut response = match (journaled, outcome) {
        (false, _) => Errors::from(ApiError::gateway("00503")).into_response(),
        (true, Ok(Answer::Fetched(fetched))) => {
            Json(json!({"data": fetched.data, "links": {}, "meta": fetched.meta})).into_response()
        }
        (true, Ok(Answer::Recorded(recording))) => recorded_response(recording),
        (true, Err(errors)) => errors.into_response(),
    };
    add_headers(response.headers_mut(), &trace);
    response
}

/// A recorded answer: its status and body as recorded; error bodies keep the
/// contract's JSON:API content type.
fn recorded_response(recording: Recording) -> Response {
    let status = StatusCode::from_u16(recording.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, Json(recording.body)).into_response();
    if status.is_client_error() || status.is_server_error() {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_API));
    }
    response
}

fn add_headers(headers: &mut HeaderMap, trace: &Trace) {
    let mut set = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    set("x-response-cached", trace.cache_left.is_some().to_string());
    set(
        "x-cache-expires-in",
        trace.cache_left.map(|s| s.to_string()).unwrap_or_default(),
    );
    if let Some(rate) = trace.rate {
        set("ratelimit-limit", rate.limit.to_string());
        set("ratelimit-remaining", rate.remaining.to_string());
        set("ratelimit-reset", rate.reset.to_string());
        if let Some(retry) = rate.retry_after {
            set("retry-after", retry.to_string());
        }
    }
}

/// The caller's IP: the peer, or the last `X-Forwarded-For` hop when configured to
/// trust the proxy in front.
pub fn client_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    if state.config.trust_forwarded_for {
        let forwarded = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.ip()
}
