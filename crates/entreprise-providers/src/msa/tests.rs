//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::sync::Arc;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};

use super::simulator::{self, Simulator};
use super::{mapping, MsaProvider, Settings};
use crate::testing::{self, cases, code_of, quickly, rendered, serve, today, unreachable_base};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, MsaProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, MsaProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, MsaProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "conformites_cotisations")
}

async fn fetch(provider: &MsaProvider, siret: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(), 3, &[("siret", siret)]).await
}

async fn code(provider: &MsaProvider, siret: &str) -> (String, u16) {
    code_of(fetch(provider, siret).await, "MSA")
}

/// Both official cases, through the simulator: 2 exact of 2 (the 404's whole error,
/// code, title, detail and provider included).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut exact = 0;
    let mut unexpected = Vec::new();
    for case in &cases {
        let ours = rendered(&fetch(&provider, &case.params["siret"]).await);
        if ours == (case.status, case.payload.clone()) {
            exact += 1;
        } else {
            unexpected.push(format!("{}: {ours:?}", case.case));
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!((exact, cases.len()), (2, 2));
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
    let answer = quickly(code(&provider, "99999000000195")).await;
    assert_eq!(answer, ("10002".into(), 504));
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
    let provider = MsaProvider::new(Settings::simulated(&unreachable_base())).unwrap();
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
