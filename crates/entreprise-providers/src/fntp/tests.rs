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
use super::{mapping, FntpProvider, Settings};
use crate::testing::today;

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, FntpProvider) {
    let simulator = Simulator::with_default_data();
    let base = crate::testing::serve(simulator::router(simulator.clone())).await;
    (simulator, FntpProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, FntpProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    crate::testing::endpoint(super::ID, "carte_professionnelle_travaux_publics")
}

async fn fetch(provider: &FntpProvider, siren: &str) -> Result<Fetched, ApiError> {
    crate::testing::fetch(provider, endpoint(), 3, &[("siren", siren)]).await
}

async fn code(provider: &FntpProvider, siren: &str) -> (String, u16) {
    crate::testing::code_of(fetch(provider, siren).await, "FNTP")
}

/// The SIREN under which the simulator keeps the failure `name`.
fn failing(name: &str) -> String {
    let data: Value = serde_json::from_str(include_str!("cartes.json")).unwrap();
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

/// Our answer as a body, the two members the gateway writes (the stored card's link
/// and lifetime) left out of both sides; a success must attach a PDF.
fn answered(answer: &Result<Fetched, ApiError>) -> (u16, Value) {
    match answer {
        Ok(f) => {
            let attached = f.attachments.len() == 1 && f.attachments[0].bytes.starts_with(b"%PDF-");
            assert!(attached, "no PDF attachment");
            (200, json!({"data": f.data, "links": f.links, "meta": f.meta}))
        }
        Err(e) => (e.status(), json!({"errors": [e]})),
    }
}

fn without_document_members(mut payload: Value) -> Value {
    if let Some(data) = payload.get_mut("data").and_then(Value::as_object_mut) {
        data.remove("document_url");
        data.remove("expires_in");
    }
    payload
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

/// The official cases, through the simulator: 1 exact of 2 (the card's link and
/// lifetime aside). The 404 case's SIREN (844451564) fails the Luhn check, so the
/// gateway refuses it with `00301` before any call, as the real one does; asked
/// directly, the simulator gives the recorded 404.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases: Cases = serde_json::from_str(include_str!("cases.json")).unwrap();
    let (mut exact, mut refused) = (0, 0);
    let mut unexpected = Vec::new();
    for case in &cases.cases {
        let siren = &case.params["siren"];
        let recorded = without_null_source(without_document_members(case.payload.clone()));
        let query = Query::from_pairs(&[("siren", siren.as_str())]);
        if let Err(errors) = provider.parse_extras(endpoint(), &query, today()) {
            assert_eq!(errors[0].code, "00301", "{}", case.case);
            let direct = provider
                .card(siren)
                .await
                .map(mapping::answer)
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

/// The card goes out whole as a stored document; the token travels in the query and
/// the PDF content type on the GET, as the real gateway sends them.
#[tokio::test]
async fn the_card_is_attached_as_a_stored_pdf() {
    let (simulator, provider) = start().await;
    let fetched = fetch(&provider, "562077503").await.unwrap();
    assert_eq!(fetched.data, json!({}));
    let card = &fetched.attachments[0];
    assert_eq!(
        (card.url_member, card.expiry_member, card.file_name),
        ("document_url", "expires_in", "carte_professionnelle_fntp.pdf")
    );
    assert_eq!((card.content_type, card.lifetime_secs), ("application/pdf", 86_400));
    assert_eq!(card.bytes, Simulator::card());
    let seen = simulator.seen();
    assert_eq!(seen[0].siren, "562077503");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/pdf"));
}

#[tokio::test]
async fn an_unknown_company_is_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "552032534").await, ("12003".into(), 404));
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    let expected = [
        ("server error", "12000", 502),
        ("forbidden", "12999", 502),
        ("unavailable", "12001", 502),
        ("gateway timeout", "12002", 504),
        ("redirect", "12000", 502),
        ("html page", "12055", 502),
        ("empty", "12055", 502),
    ];
    for (name, wanted, status) in expected {
        assert_eq!(code(&provider, &failing(name)).await, (wanted.into(), status), "{name}");
    }
}

#[tokio::test]
async fn a_wrong_token_is_a_provider_error() {
    let (simulator, provider) = start_with(|base| Settings {
        token: "someone-else".into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "562077503").await, ("12999".into(), 502));
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let started = Instant::now();
    assert_eq!(code(&provider, &failing("slow")).await, ("12002".into(), 504));
    assert!(started.elapsed().as_secs() < 5);
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 1000,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "562077503").await, ("12999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = crate::testing::unreachable_base();
    let provider = FntpProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "562077503").await, ("12001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("12001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].siren, super::PING_SIREN);
}

proptest::proptest! {
    /// A 200 whose bytes are the card cut before its signature, or anything not
    /// starting like a PDF, is `12055`; a status FNTP does not use is `12999`: never a
    /// panic nor an attachment.
    #[test]
    fn incomplete_bodies_are_12055_and_odd_statuses_12999(cut in 0usize..5, junk in proptest::collection::vec(proptest::num::u8::ANY, 0..64), status in 201u16..300) {
        let card = Simulator::card();
        let cut_card = card[..cut].to_vec();
        proptest::prop_assert_eq!(mapping::card(200, cut_card).unwrap_err().into_error().code, "12055");
        if !junk.starts_with(b"%PDF-") {
            proptest::prop_assert_eq!(mapping::card(200, junk.clone()).unwrap_err().into_error().code, "12055");
        }
        proptest::prop_assert_eq!(mapping::card(status, card.to_vec()).unwrap_err().into_error().code, "12999");
    }
}
