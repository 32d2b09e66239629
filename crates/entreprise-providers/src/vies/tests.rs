//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::sync::Arc;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, Settings, ViesProvider};
use crate::testing::{
    self, body, cases, code_of, error_differences, exact_count, quickly, today, unreachable_base, Case,
};

/// The simulator on a loopback port, and its base URL.
async fn serve() -> (Arc<Simulator>, String) {
    let simulator = Simulator::with_default_data();
    let base = testing::serve(simulator::router(simulator.clone())).await;
    (simulator, base)
}

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, ViesProvider) {
    let (simulator, base) = serve().await;
    (simulator, ViesProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, ViesProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "vies")
}

async fn fetch(provider: &ViesProvider, siren: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(), 3, &[("siren", siren)]).await
}

async fn code(provider: &ViesProvider, siren: &str) -> (String, u16) {
    code_of(fetch(provider, siren).await, "Commission Européenne")
}

/// The 200 case's number has a wrong key: FR82552049447, where the French rule (and
/// so VIES and the real gateway) gives FR35552049447.
const WRONG_KEY_CASE: (&str, &str) = ("200.yaml", "FR35552049447");

/// Where our error differs from the recorded one: the case carries Qualifelec's prefix
/// (`32003`) and its own wording; we answer `28003` with the OpenAPI's detail, as the
/// real service does. Status, title and `meta.provider` agree.
const ERROR_DIFFERENCES: &[&str] = &["code", "detail"];

/// `Ok(true)` when exact, `Ok(false)` when equal but for the documented differences.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    match answer {
        Ok(fetched) => {
            if case.status != 200 {
                return Err(format!("answered 200, recorded {}", case.status));
            }
            let ours = body(fetched);
            if ours == case.payload {
                return Ok(true);
            }
            let mut recorded = case.payload.clone();
            let (file, number) = WRONG_KEY_CASE;
            if case.case != file || ours["data"]["tva_number"] != number {
                return Err(format!("{ours:#}"));
            }
            recorded["data"]["tva_number"] = json!(number);
            (ours == recorded).then_some(false).ok_or(format!("{ours:#}"))
        }
        Err(error) => error_differences(case, error, &["title", "meta"], ERROR_DIFFERENCES),
    }
}

/// Both official cases, through the simulator: 0 exact of 2, both with the recorded
/// status and with the differences documented above.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut verdicts = Vec::new();
    for case in &cases {
        verdicts.push((case, compare(case, &fetch(&provider, &case.params["siren"]).await)));
    }
    assert_eq!((exact_count(&verdicts), cases.len()), (0, 2));
}

#[tokio::test]
async fn the_siren_is_checked_before_any_call() {
    let (simulator, provider) = start().await;
    let refused = provider
        .parse_extras(endpoint(), &Query::from_pairs(&[("siren", "552032535")]), today())
        .unwrap_err();
    assert_eq!(refused[0].code, "00301");
    assert!(simulator.seen().is_empty());
}

/// The recorded valid answer (Danone): the computed number goes out, VIES's name and
/// address do not.
#[tokio::test]
async fn the_computed_number_is_asked_and_given_out() {
    let (simulator, provider) = start().await;
    let fetched = fetch(&provider, "552032534").await.unwrap();
    assert_eq!(
        body(&fetched),
        json!({"data": {"tva_number": "FR27552032534"}, "links": {}, "meta": {}})
    );
    let seen = simulator.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].country.as_str(), seen[0].number.as_str()),
        ("FR", "27552032534")
    );
}

#[tokio::test]
async fn a_number_vies_does_not_know_is_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "130025265").await, ("28003".into(), 404));
}

/// The recorded `userError` values other than `VALID`/`INVALID`.
#[tokio::test]
async fn user_errors_map_to_the_contract() {
    let (_, provider) = start().await;
    // IP_BLOCKED, MS_MAX_CONCURRENT_REQ, MS_UNAVAILABLE.
    assert_eq!(code(&provider, "990000002").await, ("28008".into(), 502));
    assert_eq!(code(&provider, "990000010").await, ("28008".into(), 502));
    assert_eq!(code(&provider, "990000028").await, ("28001".into(), 502));
    // GLOBAL_MAX_CONCURRENT_REQ is none of the handled ones; no `isValid`.
    assert_eq!(code(&provider, "990000069").await, ("28999".into(), 502));
    assert_eq!(code(&provider, "990000077").await, ("28999".into(), 502));
}

#[tokio::test]
async fn a_block_page_is_unavailable_and_garbage_unknown() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "990000036").await, ("28001".into(), 502));
    assert_eq!(code(&provider, "990000044").await, ("28999".into(), 502));
    assert_eq!(code(&provider, "990000051").await, ("28999".into(), 502));
}

/// The body decides, whatever the status: a valid verdict under HTTP 500 is a
/// success, `MS_UNAVAILABLE` under 503 is `28001`, an empty 502 is unreadable.
#[tokio::test]
async fn the_http_status_is_ignored() {
    let (_, provider) = start().await;
    let fetched = fetch(&provider, "990000093").await.unwrap();
    assert_eq!(fetched.data, json!({"tva_number": "FR68990000093"}));
    assert_eq!(code(&provider, "990000101").await, ("28001".into(), 502));
    assert_eq!(code(&provider, "990000119").await, ("28999".into(), 502));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(quickly(code(&provider, "990000085")).await, ("28002".into(), 504));
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 200,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "552032534").await, ("28999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = unreachable_base();
    let provider = ViesProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "552032534").await, ("28001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("28001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].number, "27552032534");
}

/// The simulator holds French numbers only: the same digits under another country
/// are not valid.
#[tokio::test]
async fn the_simulator_answers_other_countries_invalid() {
    let (_, base) = serve().await;
    let url = format!("{base}/taxation_customs/vies/rest-api/ms/DE/vat/27552032534");
    let answer: Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    assert_eq!(
        (&answer["isValid"], &answer["userError"]),
        (&json!(false), &json!("INVALID"))
    );
}

fn recorded_valid() -> String {
    let data: Value = serde_json::from_str(include_str!("vies.json")).unwrap();
    let canned = data["answers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["siren"] == "990000093")
        .unwrap();
    serde_json::to_string(&canned["answer"]["body"]).unwrap()
}

proptest::proptest! {
    /// A body cut anywhere, or without what the verdict needs, or with a member of the
    /// wrong type: `28999`, never a panic nor a success.
    #[test]
    fn incomplete_bodies_are_28999(cut in 0usize..10_000, pick in 0usize..4) {
        let valid = recorded_valid();
        proptest::prop_assert!(mapping::verdict(valid.as_bytes()).is_ok());
        let broken = match pick {
            0 => valid.as_bytes()[..cut % valid.len()].to_vec(),
            1 => valid.replace("\"isValid\":true,", "").into_bytes(),
            2 => valid.replace("\"userError\":\"VALID\",", "").into_bytes(),
            _ => valid.replace("\"isValid\":true", "\"isValid\":\"true\"").into_bytes(),
        };
        let failure = mapping::verdict(&broken).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "28999");
    }
}
