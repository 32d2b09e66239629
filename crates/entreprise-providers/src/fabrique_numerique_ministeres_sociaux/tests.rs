//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::sync::Arc;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, FabriqueProvider, Settings};
use crate::testing::{
    self, body, cases, code_of, compare_error_differences, exact_count, quickly, serve, today, unreachable_base, Case,
};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, FabriqueProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, FabriqueProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, FabriqueProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "conventions_collectives")
}

async fn fetch(provider: &FabriqueProvider, siret: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(), 3, &[("siret", siret)]).await
}

async fn code(provider: &FabriqueProvider, siret: &str) -> (String, u16) {
    code_of(
        fetch(provider, siret).await,
        "Fabrique numérique des Ministères Sociaux",
    )
}

const DATA: &str = include_str!("conventions.json");

fn data_file() -> Value {
    serde_json::from_str(DATA).unwrap()
}

/// The SIRET the simulator answers `name` for (`500`, `slow`…).
fn canned(name: &str) -> String {
    testing::canned(DATA, name, "siret")
}

/// Where our error differs from the recorded one: the case carries the prefix `35`
/// (no provider of the contract's table), its own wording and the provider name in
/// lower case; we answer `14003` with the OpenAPI's detail and provider name. Status
/// and title agree.
const ERROR_DIFFERENCES: &[&str] = &["code", "detail", "meta"];

/// `Ok(true)` when exact, `Ok(false)` when equal but for the documented differences.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    compare_error_differences(case, answer, &["title"], ERROR_DIFFERENCES)
}

/// Both official cases, through the simulator: 1 exact of 2 (the 404 matches its
/// status and title, with the differences documented above).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut verdicts = Vec::new();
    for case in &cases {
        verdicts.push((case, compare(case, &fetch(&provider, &case.params["siret"]).await)));
    }
    assert_eq!((exact_count(&verdicts), cases.len()), (1, 2));
}

#[tokio::test]
async fn the_siret_is_checked_before_any_call() {
    let (simulator, provider) = start().await;
    for refused in ["30613890001295", "3061389000129", "FR30613890001294"] {
        let errors = provider
            .parse_extras(endpoint(), &Query::from_pairs(&[("siret", refused)]), today())
            .unwrap_err();
        assert_eq!(errors[0].code, "00302", "{refused}");
    }
    assert!(simulator.seen().is_empty());
}

/// The recorded answers: a lower-case state passes unchanged, a trailing space is
/// trimmed, the timestamp becomes a day; the SIRET goes out as the last segment with
/// the JSON content type.
#[tokio::test]
async fn recorded_conventions_map_to_the_contract() {
    let (simulator, provider) = start().await;
    let fetched = fetch(&provider, "82161143100015").await.unwrap();
    assert_eq!(
        body(&fetched)["data"],
        json!([{"data": {"type": "convention_collective",
            "titre": "Convention collective des bureaux de conseil en ingénierie du 28 février 2001.",
            "titre_court": "Conseil en ingénierie industrielle et consulting technique",
            "numero_idcc": 9876, "active": true, "etat": "vigueur", "synonymes": ["anonyme"],
            "url": "https://www.legifrance.gouv.fr/affichIDCC.do?idConvention=ANONYME000001234567",
            "date_publication": "2001-05-15"},
            "links": {}, "meta": {"internal_id": "ANONYME000001234567"}}])
    );
    assert_eq!(simulator.seen()[0].siret, "82161143100015");
    assert_eq!(simulator.seen()[0].content_type.as_deref(), Some("application/json"));
    let three = fetch(&provider, "12000101100010").await.unwrap();
    let items = three.data.as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["data"]["etat"], Value::Null);
    assert_eq!(items[0]["data"]["date_publication"], Value::Null);
    assert_eq!(items[1]["data"]["etat"], "vigueur_etendue");
}

/// The service answers 200 with no convention for an establishment it does not know;
/// a 404 of its own means the same.
#[tokio::test]
async fn no_convention_is_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "82525962500028").await, ("14003".into(), 404));
    assert_eq!(code(&provider, &canned("404")).await, ("14003".into(), 404));
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, &canned("500")).await, ("14999".into(), 502));
    assert_eq!(code(&provider, &canned("503")).await, ("14001".into(), 502));
    assert_eq!(code(&provider, &canned("504")).await, ("14002".into(), 504));
    assert_eq!(code(&provider, &canned("302")).await, ("14000".into(), 502));
    assert_eq!(code(&provider, &canned("html")).await, ("14999".into(), 502));
    assert_eq!(code(&provider, &canned("cut")).await, ("14999".into(), 502));
    assert_eq!(code(&provider, &canned("object")).await, ("14999".into(), 502));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(quickly(code(&provider, &canned("slow"))).await, ("14002".into(), 504));
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 100,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "82161143100015").await, ("14999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = unreachable_base();
    let provider = FabriqueProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "82161143100015").await, ("14001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("14001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].siret, super::PING_SIRET);
}

fn recorded_valid() -> String {
    let entry = &data_file()["etablissements"][0];
    serde_json::to_string(&json!([entry])).unwrap()
}

proptest::proptest! {
    /// A body cut anywhere, or a convention without what an item needs, or with a
    /// member of the wrong type: `14999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_14999(cut in 0usize..10_000, pick in 0usize..5) {
        let valid = recorded_valid();
        proptest::prop_assert!(mapping::conventions(valid.as_bytes()).is_ok());
        let broken = match pick {
            0 => valid.as_bytes()[..cut % valid.len()].to_vec(),
            1 => valid.replace("\"num\":9876", "\"numero\":9876").into_bytes(),
            2 => valid.replace("\"active\":true", "\"active\":\"true\"").into_bytes(),
            3 => valid.replace("\"synonymes\":[\"anonyme\"]", "\"synonymes\":\"anonyme\"").into_bytes(),
            _ => valid.replace("\"conventions\":[", "\"convention\":[").into_bytes(),
        };
        let failure = mapping::conventions(&broken).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "14999");
    }
}
