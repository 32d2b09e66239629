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
use super::{mapping, FabriqueProvider, Settings};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, FabriqueProvider) {
    let simulator = Simulator::with_default_data();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = simulator::router(simulator.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (simulator, FabriqueProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, FabriqueProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    passerelle_entreprise::OPERATIONS
        .iter()
        .map(|o| &o.endpoint)
        .find(|e| e.provider == super::ID && e.resource == "conventions_collectives")
        .expect("the conventions collectives operation")
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
}

async fn fetch(provider: &FabriqueProvider, siret: &str) -> Result<Fetched, ApiError> {
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

async fn code(provider: &FabriqueProvider, siret: &str) -> (String, u16) {
    let e = fetch(provider, siret).await.unwrap_err();
    assert_eq!(e.meta["provider"], "Fabrique numérique des Ministères Sociaux", "{e:?}");
    (e.code.clone(), e.status())
}

fn data_file() -> Value {
    serde_json::from_str(include_str!("conventions.json")).unwrap()
}

/// The SIRET the simulator answers `name` for (`500`, `slow`…).
fn canned(name: &str) -> String {
    let answers = data_file()["answers"].as_array().unwrap().clone();
    let found = answers
        .into_iter()
        .find(|a| a["name"] == name)
        .expect("a canned answer");
    found["siret"].as_str().unwrap().to_string()
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

/// Where our error differs from the recorded one: the case carries the prefix `35`
/// (no provider of the contract's table), its own wording and the provider name in
/// lower case; we answer `14003` with the OpenAPI's detail and provider name. Status
/// and title agree.
const ERROR_DIFFERENCES: &[&str] = &["code", "detail", "meta"];

/// `Ok(true)` when exact, `Ok(false)` when equal but for the documented differences.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    match answer {
        Ok(fetched) if case.status == 200 => {
            let ours = body(fetched);
            (ours == case.payload).then_some(true).ok_or(format!("{ours:#}"))
        }
        Ok(_) => Err(format!("answered 200, recorded {}", case.status)),
        Err(error) => {
            let recorded = &case.payload["errors"][0];
            let ours = serde_json::to_value(error).unwrap();
            if error.status() != case.status || recorded["title"] != ours["title"] {
                return Err(format!("{error:?}"));
            }
            for member in ERROR_DIFFERENCES {
                if recorded[member] == ours[member] {
                    return Err(format!("{member} no longer differs"));
                }
            }
            Ok(false)
        }
    }
}

/// Both official cases, through the simulator: 1 exact of 2 (the 404 matches its
/// status and title, with the differences documented above).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases: Cases = serde_json::from_str(include_str!("cases.json")).unwrap();
    let mut exact = 0;
    let mut unexpected = Vec::new();
    for case in &cases.cases {
        match compare(case, &fetch(&provider, &case.params["siret"]).await) {
            Ok(true) => exact += 1,
            Ok(false) => {}
            Err(why) => unexpected.push(format!("{}: {why}", case.case)),
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!((exact, cases.cases.len()), (1, 2));
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
    let started = Instant::now();
    assert_eq!(code(&provider, &canned("slow")).await, ("14002".into(), 504));
    assert!(started.elapsed().as_secs() < 5);
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
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
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
