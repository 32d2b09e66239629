//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde::Deserialize;
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, CibtpProvider, Settings};
use crate::testing::today;

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, CibtpProvider) {
    let simulator = Simulator::with_default_data();
    let base = crate::testing::serve(simulator::router(simulator.clone())).await;
    (simulator, CibtpProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, CibtpProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    crate::testing::endpoint(super::ID, "attestation_cotisations_conges_payes_chomage_intemperies")
}

async fn fetch(provider: &CibtpProvider, siret: &str) -> Result<Fetched, ApiError> {
    let extras = match provider.parse_extras(endpoint(), &Query::from_pairs(&[("siret", siret)]), today()) {
        Ok(extras) => extras,
        Err(mut errors) => return Err(errors.remove(0)),
    };
    crate::testing::call(provider, endpoint(), 3, &extras).await
}

async fn code(provider: &CibtpProvider, siret: &str) -> (String, u16) {
    crate::testing::code_of(fetch(provider, siret).await, "CIBTP")
}

async fn canned(simulator: &Simulator, provider: &CibtpProvider, failure: &str) -> (String, u16) {
    code(provider, &simulator.siret_of(failure).expect("a canned failure")).await
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

/// Whether a success carries exactly the recorded members: an empty `data` the gateway
/// fills with the link (`document_url`) and its lifetime (`expires_in`), whose values
/// are not compared; the document a whole PDF.
fn same_success(case: &Case, fetched: &Fetched) -> bool {
    let mut data = fetched.data.clone();
    for attachment in &fetched.attachments {
        data[attachment.url_member] = case.payload["data"][attachment.url_member].clone();
        data[attachment.expiry_member] = case.payload["data"][attachment.expiry_member].clone();
    }
    let whole = fetched.attachments.len() == 1 && crate::cnetp::is_whole_pdf(&fetched.attachments[0].bytes);
    whole && json!({"data": data, "links": fetched.links, "meta": fetched.meta}) == case.payload
}

/// Both official cases, through the simulator: 2 exact of 2.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases: Cases = serde_json::from_str(include_str!("cases.json")).unwrap();
    let mut exact = 0;
    let mut unexpected = Vec::new();
    for case in &cases.cases {
        let answer = fetch(&provider, &case.params["siret"]).await;
        let same = match &answer {
            Ok(fetched) => case.status == 200 && same_success(case, fetched),
            Err(error) => {
                error.status() == case.status && serde_json::to_value(error).unwrap() == case.payload["errors"][0]
            }
        };
        if same {
            exact += 1;
        } else {
            unexpected.push(format!("{}: {answer:?}", case.case));
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!((exact, cases.cases.len()), (2, 2));
}

/// The recorded establishment: the PDF comes back whole as a ten-minute document; one
/// token serves both calls, which carry no content type.
#[tokio::test]
async fn a_known_establishment_gets_a_ten_minute_document() {
    let (simulator, provider) = start().await;
    for _ in 0..2 {
        let fetched = fetch(&provider, "81125785600021").await.unwrap();
        assert_eq!(fetched.data, json!({}));
        let attachment = &fetched.attachments[0];
        assert_eq!(attachment.bytes, Simulator::attestation());
        assert_eq!(
            (attachment.url_member, attachment.expiry_member),
            ("document_url", "expires_in")
        );
        assert_eq!(attachment.file_name, "certificat_cibtp.pdf");
        assert_eq!(attachment.lifetime_secs, 600);
    }
    assert_eq!(simulator.tokens_issued(), 1);
    let seen = simulator.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (seen[0].siret.as_str(), seen[0].content_type.as_ref()),
        ("81125785600021", None)
    );
}

#[tokio::test]
async fn an_invalid_siret_is_refused_before_any_call() {
    let (simulator, provider) = start().await;
    let error = fetch(&provider, "81125785600022").await.unwrap_err();
    assert_eq!((error.code.as_str(), error.status()), ("00302", 422));
    assert_eq!(simulator.tokens_issued(), 0);
}

/// The recorded refusals: not connected (404) is `38003`; behind in its contributions
/// (422) is `38422` with HTTP 404 and the contract's wording.
#[tokio::test]
async fn refusals_map_to_the_contract() {
    let (simulator, provider) = start().await;
    assert_eq!(code(&provider, "77566487304147").await, ("38003".into(), 404));
    let unpaid = fetch(&provider, simulator.unpaid_siret()).await.unwrap_err();
    assert_eq!((unpaid.code.as_str(), unpaid.status()), ("38422", 404));
    assert_eq!(unpaid.title, "Attestation non disponible");
    assert!(unpaid.detail.contains("pas en règle de ses cotisations CIBTP"));
}

/// A token the service no longer knows (after its restart) is replaced once, and the
/// call succeeds.
#[tokio::test]
async fn a_refused_token_is_renewed_once() {
    let (simulator, provider) = start().await;
    fetch(&provider, "81125785600021").await.unwrap();
    simulator.revoke_tokens();
    fetch(&provider, "81125785600021").await.unwrap();
    assert_eq!(simulator.tokens_issued(), 2);
}

#[tokio::test]
async fn wrong_credentials_are_a_provider_error() {
    let (simulator, provider) = start_with(|base| Settings {
        client_secret: "perime".into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "81125785600021").await, ("38999".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("38999".into()));
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (simulator, provider) = start().await;
    assert_eq!(canned(&simulator, &provider, "conflict").await, ("38000".into(), 502));
    assert_eq!(
        canned(&simulator, &provider, "server_error").await,
        ("38000".into(), 502)
    );
    assert_eq!(
        canned(&simulator, &provider, "bad_request").await,
        ("38999".into(), 502)
    );
    assert_eq!(
        canned(&simulator, &provider, "unavailable").await,
        ("38001".into(), 502)
    );
    assert_eq!(
        canned(&simulator, &provider, "gateway_timeout").await,
        ("38002".into(), 504)
    );
    assert_eq!(canned(&simulator, &provider, "redirect").await, ("38000".into(), 502));
    assert_eq!(canned(&simulator, &provider, "not_a_pdf").await, ("38055".into(), 502));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (simulator, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let started = Instant::now();
    assert_eq!(canned(&simulator, &provider, "slow").await, ("38002".into(), 504));
    assert!(started.elapsed().as_secs() < 3);
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 1000,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "81125785600021").await, ("38999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = crate::testing::unreachable_base();
    let provider = CibtpProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "81125785600021").await, ("38001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("38001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.tokens_issued(), 2);
    assert!(simulator.seen().is_empty());
}

proptest::proptest! {
    /// The recorded attestation cut short of its end marker is no whole PDF: `38055`,
    /// never a panic nor a stored half document; any status the reference does not
    /// name is `38999`.
    #[test]
    fn incomplete_bodies_are_refused(cut in 0usize..100_000, status in 100u16..600) {
        let pdf = Simulator::attestation();
        proptest::prop_assert!(mapping::answer(200, pdf.to_vec()).is_ok());
        let cut = cut % (pdf.len() - 6);
        let failure = mapping::answer(200, pdf[..cut].to_vec()).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "38055");
        if ![200, 404, 409, 422, 500].contains(&status) {
            let failure = mapping::answer(status, pdf.to_vec()).unwrap_err();
            proptest::prop_assert_eq!(failure.into_error().code, "38999");
        }
    }
}
