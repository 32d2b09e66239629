//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the reference names.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde::Deserialize;
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, OpqibiProvider, Settings};
use crate::testing::today;

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, OpqibiProvider) {
    let simulator = Simulator::with_default_data();
    let base = crate::testing::serve(simulator::router(simulator.clone())).await;
    (simulator, OpqibiProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, OpqibiProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    crate::testing::endpoint(super::ID, "certifications_ingenierie")
}

async fn fetch(provider: &OpqibiProvider, siren: &str) -> Result<Fetched, ApiError> {
    crate::testing::fetch(provider, endpoint(), 3, &[("siren", siren)]).await
}

async fn code(provider: &OpqibiProvider, siren: &str) -> (String, u16) {
    crate::testing::code_of(fetch(provider, siren).await, "OPQIBI")
}

fn data_file() -> Value {
    serde_json::from_str(include_str!("certificats.json")).unwrap()
}

/// The SIREN under which the simulator keeps the failure `name`.
fn failing(name: &str) -> String {
    let data = data_file();
    let answers = data["answers"].as_array().unwrap();
    let canned = answers.iter().find(|a| a["name"] == name).expect("a canned failure");
    canned["id"].as_str().unwrap().to_string()
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

fn answered(answer: &Result<Fetched, ApiError>) -> (u16, Value) {
    match answer {
        Ok(f) => (200, json!({"data": f.data, "links": f.links, "meta": f.meta})),
        Err(e) => (e.status(), json!({"errors": [e]})),
    }
}

/// The recorded body with a null `source` left out of its errors: the contract writes
/// `source` only when the catalogue defines one (§4), never as null.
fn without_null_source(mut payload: Value) -> Value {
    if let Some(errors) = payload.get_mut("errors").and_then(Value::as_array_mut) {
        for error in errors.iter_mut().filter_map(Value::as_object_mut) {
            if error.get("source") == Some(&Value::Null) {
                error.remove("source");
            }
        }
    }
    payload
}

/// The official cases, through the simulator: 1 exact of 2. The 404 case's SIREN
/// (844451564) fails the Luhn check, so the gateway refuses it with `00301` before any
/// call, as the real one does; asked directly, the simulator gives the recorded 404.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases: Cases = serde_json::from_str(include_str!("cases.json")).unwrap();
    let (mut exact, mut refused) = (0, 0);
    let mut unexpected = Vec::new();
    for case in &cases.cases {
        let siren = &case.params["siren"];
        let recorded = without_null_source(case.payload.clone());
        let query = Query::from_pairs(&[("siren", siren.as_str())]);
        if let Err(errors) = provider.parse_extras(endpoint(), &query, today()) {
            assert_eq!(errors[0].code, "00301", "{}", case.case);
            let direct = provider
                .certificate(siren)
                .await
                .map(Fetched::from)
                .map_err(super::Failure::into_error);
            assert_eq!(answered(&direct), (case.status, recorded), "{}", case.case);
            refused += 1;
            continue;
        }
        let (status, body) = answered(&fetch(&provider, siren).await);
        if (status, &body) == (case.status, &recorded) {
            exact += 1;
        } else {
            unexpected.push(format!("{}: {status} {body:#}", case.case));
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!((exact, refused, cases.cases.len()), (1, 1, 2));
}

/// The recorded certificate: the SIREN as the last segment, the JSON content type the
/// real gateway sends on its bodiless GET, dates made ISO and `rge` a boolean.
#[tokio::test]
async fn the_recorded_certificate_maps_to_the_contract() {
    let (simulator, provider) = start().await;
    let fetched = fetch(&provider, "434717997").await.unwrap();
    assert_eq!(fetched.data["numero_certificat"], "12 34 5678");
    assert_eq!(fetched.data["url"], "https://www.opqibi.com/fiche/9876");
    assert_eq!(fetched.data["date_delivrance_certificat"], "2021-06-15");
    assert_eq!(fetched.data["date_validite_qualifications"], "2024-06-15");
    assert_eq!(fetched.data["date_validite_qualifications_probatoires"], "2022-06-15");
    assert_eq!(fetched.data["assurances"], "ANONYME");
    assert_eq!(
        fetched.data["qualifications"][1],
        json!({"nom": "Ingénierie en efficacité énergétique", "code_qualification": "2002",
            "definition": "Amélioration de la performance", "rge": false})
    );
    assert_eq!(
        fetched.data["qualifications_probatoires"][0]["code_qualification"],
        "2003"
    );
    let seen = simulator.seen();
    assert_eq!(seen[0].siren, "434717997");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn an_unknown_company_is_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "552032534").await, ("11003".into(), 404));
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    let expected = [
        ("server error", "11999", 502),
        ("forbidden", "11999", 502),
        ("unavailable", "11001", 502),
        ("gateway timeout", "11002", 504),
        ("redirect", "11000", 502),
        ("html page", "11999", 502),
        ("cut short", "11999", 502),
        ("no number", "11999", 502),
    ];
    for (name, wanted, status) in expected {
        assert_eq!(code(&provider, &failing(name)).await, (wanted.into(), status), "{name}");
    }
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let started = Instant::now();
    assert_eq!(code(&provider, &failing("slow")).await, ("11002".into(), 504));
    assert!(started.elapsed().as_secs() < 5);
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 100,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "434717997").await, ("11999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = crate::testing::unreachable_base();
    let provider = OpqibiProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "434717997").await, ("11001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("11001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].siren, super::PING_SIREN);
}

fn recorded_valid() -> String {
    data_file()["certificates"][0]["certificate"].to_string()
}

proptest::proptest! {
    /// A body cut anywhere, or without what the certificate needs, or with a member of
    /// the wrong type: `11999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_11999(cut in 0usize..10_000, pick in 0usize..5) {
        let valid = recorded_valid();
        proptest::prop_assert!(mapping::certificate(valid.as_bytes()).is_ok());
        let broken = match pick {
            0 => valid.as_bytes()[..cut % valid.len()].to_vec(),
            1 => valid.replace("\"url\":", "\"lien\":").into_bytes(),
            2 => valid.replace("\"rge\":\"0\"", "\"rge\":false").into_bytes(),
            3 => valid.replace("\"15/06/2021\"", "\"2021-06-15\"").into_bytes(),
            _ => valid.replace("\"qualifications\":[", "\"qualifications\":{\"x\":[").replacen("}],", "}]},", 1).into_bytes(),
        };
        let failure = mapping::certificate(&broken).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "11999");
    }
}
