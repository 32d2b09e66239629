//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Purpose, Query};
use serde::Deserialize;
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, MsaProvider, Settings};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, MsaProvider) {
    let simulator = Simulator::with_default_data();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = simulator::router(simulator.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (simulator, MsaProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, MsaProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    passerelle_entreprise::OPERATIONS
        .iter()
        .map(|o| &o.endpoint)
        .find(|e| e.provider == super::ID && e.resource == "conformites_cotisations")
        .expect("the MSA operation")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

async fn fetch(provider: &MsaProvider, siret: &str) -> Result<Fetched, ApiError> {
    let query = Query::from_pairs(&[("siret", siret)]);
    let extras = provider
        .parse_extras(endpoint(), &query, today())
        .expect("a valid SIRET");
    let purpose = Purpose::new();
    let call = Call {
        endpoint: endpoint(),
        version: 3,
        caller: "3f0a6c1e-2b1d-4c8e-9f5a-7d6e5c4b3a21",
        civility: None,
        extras: &extras,
        purpose: &purpose,
        request_id: "6b2f0e9d-1c3a-4e5b-8a7f-0d9c8b7a6e54",
        today: today(),
    };
    provider.fetch(&call).await
}

async fn code(provider: &MsaProvider, siret: &str) -> (String, u16) {
    let e = fetch(provider, siret).await.unwrap_err();
    assert_eq!(e.meta["provider"], "MSA", "{e:?}");
    (e.code.clone(), e.status())
}

fn body(fetched: &Fetched) -> Value {
    json!({"data": fetched.data, "links": fetched.links, "meta": fetched.meta})
}

#[derive(Deserialize)]
struct Case {
    case: String,
    params: BTreeMap<String, String>,
    status: u16,
    payload: Value,
}

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

/// Both official cases, through the simulator: 2 exact of 2 (the 404's whole error,
/// code, title, detail and provider included).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases: Cases = serde_json::from_str(include_str!("cases.json")).unwrap();
    let mut exact = 0;
    let mut unexpected = Vec::new();
    for case in &cases.cases {
        let ours = match fetch(&provider, &case.params["siret"]).await {
            Ok(fetched) => (200, body(&fetched)),
            Err(error) => (error.status(), json!({"errors": [error]})),
        };
        if ours == (case.status, case.payload.clone()) {
            exact += 1;
        } else {
            unexpected.push(format!("{}: {ours:?}", case.case));
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!((exact, cases.cases.len()), (2, 2));
}

/// Each letter, and the SIRET going out as the last path segment with the JSON
/// content type the real gateway sends.
#[tokio::test]
async fn each_status_letter_maps_to_the_contract() {
    let (simulator, provider) = start().await;
    let status = |f: Fetched| f.data["status"].clone();
    assert_eq!(status(fetch(&provider, "20005379100014").await.unwrap()), "up_to_date");
    assert_eq!(status(fetch(&provider, "99999000000013").await.unwrap()), "outdated");
    assert_eq!(
        status(fetch(&provider, "99999000000021").await.unwrap()),
        "under_investigation"
    );
    assert_eq!(code(&provider, "99999000000039").await, ("10999".into(), 502));
    assert_eq!(code(&provider, "13002526500013").await, ("10003".into(), 404));
    let seen = simulator.seen();
    assert_eq!(seen[0].siret, "20005379100014");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn a_malformed_siret_is_refused_before_any_call() {
    let (simulator, provider) = start().await;
    for refused in ["20005379100015", "2000537910001", "abc"] {
        let errors = provider
            .parse_extras(endpoint(), &Query::from_pairs(&[("siret", refused)]), today())
            .unwrap_err();
        assert_eq!(errors[0].code, "00302", "{refused}");
    }
    assert!(simulator.seen().is_empty());
}

/// A 500 and MSA's proxy relaying its own 502/504 are `10000`; the transport's
/// statuses are theirs; any other error or an unreadable body is `10999`.
#[tokio::test]
async fn statuses_proxy_errors_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "99999000000104").await, ("10000".into(), 502));
    assert_eq!(code(&provider, "99999000000112").await, ("10000".into(), 502));
    assert_eq!(code(&provider, "99999000000120").await, ("10000".into(), 502));
    assert_eq!(code(&provider, "99999000000138").await, ("10999".into(), 502));
    assert_eq!(code(&provider, "99999000000146").await, ("10001".into(), 502));
    assert_eq!(code(&provider, "99999000000153").await, ("10002".into(), 504));
    assert_eq!(code(&provider, "99999000000161").await, ("10999".into(), 502));
    assert_eq!(code(&provider, "99999000000179").await, ("10999".into(), 502));
    assert_eq!(code(&provider, "99999000000187").await, ("10999".into(), 502));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let started = Instant::now();
    assert_eq!(code(&provider, "99999000000195").await, ("10002".into(), 504));
    assert!(started.elapsed().as_secs() < 5);
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 20,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "20005379100014").await, ("10999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let provider = MsaProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "20005379100014").await, ("10001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("10001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].siret, super::PING_SIRET);
}

const VALID: &str = r#"{"TopRMPResponse":{"identifiantDebiteur":"20005379100014","topRegMarchePublic":"O"}}"#;

proptest::proptest! {
    /// A body cut anywhere, without what the answer needs, or with a member of the
    /// wrong type: `10999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_10999(cut in 0usize..10_000, pick in 0usize..4) {
        proptest::prop_assert!(mapping::conformity(200, VALID.as_bytes()).is_ok());
        let broken = match pick {
            0 => VALID.as_bytes()[..cut % VALID.len()].to_vec(),
            1 => VALID.replace("TopRMPResponse", "Response").into_bytes(),
            2 => VALID.replace("\"O\"", "[\"O\"]").into_bytes(),
            _ => VALID.replace("topRegMarchePublic", "top").into_bytes(),
        };
        let failure = mapping::conformity(200, &broken).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "10999");
    }
}
