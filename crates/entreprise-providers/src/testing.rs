//! What the providers' tests share: a simulator on a loopback port, the catalogue's
//! endpoints, calls with fixed identifiers, and the official sandbox cases.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Provider, ProviderId};
use passerelle_core::{ApiError, Purpose, Query};
use serde::Deserialize;
use serde_json::{json, Value};

/// The token and the request the tests call with: fixed, so that runs compare.
pub const CALLER: &str = "3f0a6c1e-2b1d-4c8e-9f5a-7d6e5c4b3a21";
pub const REQUEST_ID: &str = "6b2f0e9d-1c3a-4e5b-8a7f-0d9c8b7a6e54";

/// A fixed day, so that what depends on "today" does not drift with the calendar.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

/// Serves `app` on a free loopback port; its base URL.
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A base URL where nothing listens: a port just bound, then freed.
pub fn unreachable_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// The catalogue's endpoint `resource` of `provider`.
pub fn endpoint(provider: ProviderId, resource: &str) -> &'static Endpoint {
    passerelle_entreprise::OPERATIONS
        .iter()
        .map(|o| &o.endpoint)
        .find(|e| e.provider == provider && e.resource == resource)
        .unwrap_or_else(|| panic!("no operation {resource} for {provider:?}"))
}

/// Calls `endpoint` as the gateway would, with `extras` already parsed.
pub async fn call(
    provider: &dyn Provider,
    endpoint: &'static Endpoint,
    version: u8,
    extras: &Extras,
) -> Result<Fetched, ApiError> {
    let purpose = Purpose::new();
    let call = Call {
        endpoint,
        version,
        caller: CALLER,
        civility: None,
        extras,
        purpose: &purpose,
        request_id: REQUEST_ID,
        today: today(),
    };
    provider.fetch(&call).await
}

/// Parses `pairs` as the endpoint's parameters, which must be valid, then calls it.
pub async fn fetch(
    provider: &dyn Provider,
    endpoint: &'static Endpoint,
    version: u8,
    pairs: &[(&str, &str)],
) -> Result<Fetched, ApiError> {
    let extras = provider
        .parse_extras(endpoint, &Query::from_pairs(pairs), today())
        .expect("valid parameters");
    call(provider, endpoint, version, &extras).await
}

/// A failure's code and status, after checking it names `provider` in its `meta`.
pub fn code_of(answer: Result<Fetched, ApiError>, provider: &str) -> (String, u16) {
    let e = answer.unwrap_err();
    assert_eq!(e.meta["provider"], provider, "{e:?}");
    (e.code.clone(), e.status())
}

/// An answer's body as the gateway renders it.
pub fn body(fetched: &Fetched) -> Value {
    json!({"data": fetched.data, "links": fetched.links, "meta": fetched.meta})
}

/// An answer's status and body, errors included, as the gateway renders them.
pub fn rendered(answer: &Result<Fetched, ApiError>) -> (u16, Value) {
    match answer {
        Ok(fetched) => (200, body(fetched)),
        Err(error) => (error.status(), json!({"errors": [error]})),
    }
}

/// One official sandbox case of a provider's `cases.json`. Providers with a single
/// operation leave out `operation` and `version`; INSEE names its `identifier` alone.
#[derive(Deserialize)]
pub struct Case {
    #[serde(default)]
    pub operation: String,
    pub case: String,
    #[serde(default)]
    pub version: u8,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    #[serde(default)]
    pub identifier: String,
    pub status: u16,
    pub payload: Value,
    /// The day the case was recorded, where the answer depends on it.
    #[serde(default)]
    pub today: Option<NaiveDate>,
}

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

/// The cases of a `cases.json` (its text).
pub fn cases(json: &str) -> Vec<Case> {
    serde_json::from_str::<Cases>(json).unwrap().cases
}

/// Member `key` of the canned answer `name` (`500`, `slow`…) in a simulator's data file.
pub fn canned(data: &str, name: &str, key: &str) -> String {
    let data: Value = serde_json::from_str(data).unwrap();
    let found = data["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .expect("a canned answer");
    found[key].as_str().unwrap().to_string()
}

/// Runs `answer`, checking it came well before the 5 s a stuck call would take.
pub async fn quickly<T>(answer: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let out = answer.await;
    assert!(started.elapsed() < Duration::from_secs(5));
    out
}

/// Compares an answer with a case whose recorded error is known to differ from ours
/// (see `error_differences`): `Ok(true)` when exact, `Ok(false)` when equal but for
/// those differences, `Err` saying how it differs otherwise.
pub fn compare_error_differences(
    case: &Case,
    answer: &Result<Fetched, ApiError>,
    same: &[&str],
    differ: &[&str],
) -> Result<bool, String> {
    match answer {
        Ok(_) if case.status != 200 => Err(format!("answered 200, recorded {}", case.status)),
        Ok(fetched) => {
            let ours = body(fetched);
            (ours == case.payload).then_some(true).ok_or(format!("{ours:#}"))
        }
        Err(error) => error_differences(case, error, same, differ),
    }
}

/// An error against the case's recorded one: the status and the `same` members must
/// agree, each of the `differ` members must still differ (so the list cannot go stale).
pub fn error_differences(case: &Case, error: &ApiError, same: &[&str], differ: &[&str]) -> Result<bool, String> {
    let recorded = &case.payload["errors"][0];
    let ours = serde_json::to_value(error).unwrap();
    if error.status() != case.status || same.iter().any(|m| recorded[m] != ours[m]) {
        return Err(format!("{ours}"));
    }
    match differ.iter().find(|m| recorded[**m] == ours[**m]) {
        Some(member) => Err(format!("{member} no longer differs")),
        None => Ok(false),
    }
}

/// Counts the exact verdicts, after checking that none is a failure.
pub fn exact_count(verdicts: &[(&Case, Result<bool, String>)]) -> usize {
    let unexpected: Vec<String> = verdicts
        .iter()
        .filter_map(|(case, verdict)| verdict.as_ref().err().map(|why| format!("{}: {why}", case.case)))
        .collect();
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    verdicts.iter().filter(|(_, verdict)| verdict == &Ok(true)).count()
}
