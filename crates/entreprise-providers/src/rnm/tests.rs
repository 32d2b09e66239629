//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::sync::Arc;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, RnmProvider, Settings};
use crate::testing::{
    self, body, cases, code_of, compare_error_differences, exact_count, quickly, serve, today, unreachable_base, Case,
};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, RnmProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, RnmProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, RnmProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "entreprises_artisanales")
}

async fn fetch(provider: &RnmProvider, siren: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(), 3, &[("siren", siren)]).await
}

async fn code(provider: &RnmProvider, siren: &str) -> (String, u16) {
    code_of(fetch(provider, siren).await, "CMA France")
}

const DATA: &str = include_str!("rnm.json");

fn data_file() -> Value {
    serde_json::from_str(DATA).unwrap()
}

/// The SIREN the simulator answers `name` for (`500`, `slow`…).
fn canned(name: &str) -> String {
    testing::canned(DATA, name, "siren")
}

/// Where our error differs from the recorded one: the case carries the prefix `31`
/// (GIP-MDS's) and its own wording; we answer CMA France's `15003` with the generic
/// detail the OpenAPI gives. Status, title and provider name agree.
const ERROR_DIFFERENCES: &[&str] = &["code", "detail"];

/// `Ok(true)` when exact, `Ok(false)` when equal but for the documented differences.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    compare_error_differences(case, answer, &["title", "meta"], ERROR_DIFFERENCES)
}

/// Both official cases, through the simulator: 1 exact of 2 (the 404 matches its
/// status, title and provider, with the differences documented above).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut verdicts = Vec::new();
    for case in &cases {
        verdicts.push((case, compare(case, &fetch(&provider, &case.params["siren"]).await)));
    }
    assert_eq!((exact_count(&verdicts), cases.len()), (1, 2));
}

#[tokio::test]
async fn the_siren_is_checked_before_any_call() {
    let (simulator, provider) = start().await;
    for refused in ["552049448", "55204944", "A52049447"] {
        let errors = provider
            .parse_extras(endpoint(), &Query::from_pairs(&[("siren", refused)]), today())
            .unwrap_err();
        assert_eq!(errors[0].code, "00301", "{refused}");
    }
    assert!(simulator.seen().is_empty());
}

/// The recorded record: only the two facts reach the caller; the SIREN goes out in
/// the path with `format=json` and the JSON content type.
#[tokio::test]
async fn the_recorded_record_gives_two_facts() {
    let (simulator, provider) = start().await;
    let fetched = fetch(&provider, "301123626").await.unwrap();
    assert_eq!(
        body(&fetched),
        json!({"data": {"modalite_exercice": "P", "non_sedentaire": "0"}, "links": {}, "meta": {}})
    );
    let seen = simulator.seen();
    assert_eq!(seen[0].siren, "301123626");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn an_unknown_siren_is_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "877862425").await, ("15003".into(), 404));
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, &canned("500")).await, ("15999".into(), 502));
    assert_eq!(code(&provider, &canned("503")).await, ("15001".into(), 502));
    assert_eq!(code(&provider, &canned("504")).await, ("15002".into(), 504));
    assert_eq!(code(&provider, &canned("302")).await, ("15000".into(), 502));
    assert_eq!(code(&provider, &canned("html")).await, ("15999".into(), 502));
    assert_eq!(code(&provider, &canned("cut")).await, ("15999".into(), 502));
    assert_eq!(code(&provider, &canned("empty_id")).await, ("15999".into(), 502));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(quickly(code(&provider, &canned("slow"))).await, ("15002".into(), 504));
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 100,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "301123626").await, ("15999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_register_is_unavailable_and_the_ping_says_so() {
    let base = unreachable_base();
    let provider = RnmProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "301123626").await, ("15001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("15001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].siren, super::PING_SIREN);
}

fn recorded_valid() -> String {
    serde_json::to_string(&data_file()["entreprises"][0]).unwrap()
}

proptest::proptest! {
    /// A body cut anywhere, or without its id or one of the two facts, or with one of
    /// the wrong type: `15999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_15999(cut in 0usize..10_000, pick in 0usize..4) {
        let valid = recorded_valid();
        proptest::prop_assert!(mapping::entreprise(valid.as_bytes()).is_ok());
        let broken = match pick {
            0 => valid.as_bytes()[..cut % valid.len()].to_vec(),
            1 => valid.replace("\"id\":19139", "\"rnm_id\":19139").into_bytes(),
            2 => valid.replace("\"ent_act_modalite_exercice\":\"P\"", "\"modalite\":\"P\"").into_bytes(),
            _ => valid.replace("\"ent_act_non_sedentaire\":\"0\"", "\"ent_act_non_sedentaire\":0").into_bytes(),
        };
        let failure = mapping::entreprise(&broken).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "15999");
    }
}
