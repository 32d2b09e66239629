//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use passerelle_bouquet::{Endpoint, Fetched, Health, MaintenanceWindow, Provider};
use passerelle_core::{ApiError, Query};
use serde::Deserialize;
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, CnetpProvider, Settings};
use crate::testing::today;

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, CnetpProvider) {
    let simulator = Simulator::with_default_data();
    let base = crate::testing::serve(simulator::router(simulator.clone())).await;
    (simulator, CnetpProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, CnetpProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    crate::testing::endpoint(super::ID, "attestation_cotisations_conges_payes_chomage_intemperies")
}

fn extras(siren: &str) -> Result<passerelle_bouquet::Extras, Vec<ApiError>> {
    passerelle_entreprise::parameters(endpoint(), &Query::from_pairs(&[("siren", siren)]), today())
}

async fn fetch(provider: &CnetpProvider, siren: &str) -> Result<Fetched, ApiError> {
    let extras = match provider.parse_extras(endpoint(), &Query::from_pairs(&[("siren", siren)]), today()) {
        Ok(extras) => extras,
        Err(mut errors) => return Err(errors.remove(0)),
    };
    crate::testing::call(provider, endpoint(), 3, &extras).await
}

async fn code(provider: &CnetpProvider, siren: &str) -> (String, u16) {
    crate::testing::code_of(fetch(provider, siren).await, "CNETP")
}

async fn canned(simulator: &Simulator, provider: &CnetpProvider, failure: &str) -> (String, u16) {
    code(provider, &simulator.siren_of(failure).expect("a canned failure")).await
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

/// The data of a success, the document members as the gateway writes them.
fn written(fetched: &Fetched) -> Value {
    let mut data = fetched.data.clone();
    for attachment in &fetched.attachments {
        data[attachment.url_member] = json!("<stored document>");
        data[attachment.expiry_member] = json!(attachment.lifetime_secs);
    }
    data
}

/// The 404 case's SIREN fails the Luhn check: the real gateway refuses it with 422
/// (`00301`) before any call, and so do we. (Its recorded code, `38003`, is CIBTP's.)
const INVALID_SIREN_CASE: &str = "404.yaml";

/// `Ok(true)` when exact (document URL and expiry aside), `Ok(false)` for the
/// documented difference.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    match answer {
        Ok(fetched) if case.status == 200 => {
            let recorded: Vec<&String> = case.payload["data"].as_object().unwrap().keys().collect();
            let ours = written(fetched);
            let ours_keys: Vec<&String> = ours.as_object().unwrap().keys().collect();
            let whole = fetched.attachments.len() == 1 && mapping::is_whole_pdf(&fetched.attachments[0].bytes);
            (recorded == ours_keys && whole && fetched.links.is_empty() && fetched.meta.is_empty())
                .then_some(true)
                .ok_or(format!("{ours:#}"))
        }
        Ok(_) => Err(format!("answered 200, recorded {}", case.status)),
        Err(error) if case.case == INVALID_SIREN_CASE => (error.code == "00301" && error.status() == 422)
            .then_some(false)
            .ok_or(format!("{error:?}")),
        Err(error) => {
            let recorded = &case.payload["errors"][0];
            let ours = serde_json::to_value(error).unwrap();
            (error.status() == case.status && ours == *recorded)
                .then_some(true)
                .ok_or(format!("{error:?}"))
        }
    }
}

/// Both official cases, through the simulator: 1 exact of 2 (the 404 case's SIREN is
/// invalid, see above).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases: Cases = serde_json::from_str(include_str!("cases.json")).unwrap();
    let mut exact = 0;
    let mut unexpected = Vec::new();
    for case in &cases.cases {
        let answer = fetch(&provider, &case.params["siren"]).await;
        match compare(case, &answer) {
            Ok(true) => exact += 1,
            Ok(false) => {}
            Err(why) => unexpected.push(format!("{}: {why}", case.case)),
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!((exact, cases.cases.len()), (1, 2));
}

/// The recorded company: the PDF comes back whole as a 24-hour document named as the
/// real gateway names it; the SIREN, client number and token go in the query with the
/// recorded content type.
#[tokio::test]
async fn a_known_company_gets_its_attestation_as_a_stored_document() {
    let (simulator, provider) = start().await;
    let fetched = fetch(&provider, "433604196").await.unwrap();
    assert_eq!(fetched.data, json!({}));
    let attachment = &fetched.attachments[0];
    assert_eq!(attachment.bytes, Simulator::attestation());
    assert_eq!(
        (attachment.url_member, attachment.expiry_member),
        ("document_url", "expires_in")
    );
    assert_eq!(attachment.file_name, "certificat_cnetp.pdf");
    assert_eq!(attachment.lifetime_secs, 86_400);
    let seen = &simulator.seen()[0];
    assert_eq!(seen.siren, "433604196");
    assert_eq!(seen.content_type.as_deref(), Some("application/octet-stream"));
}

#[tokio::test]
async fn an_invalid_siren_is_refused_before_any_call() {
    let (simulator, provider) = start().await;
    assert_eq!(extras("844451564").unwrap_err()[0].code, "00301");
    assert_eq!(fetch(&provider, "844451564").await.unwrap_err().status(), 422);
    assert!(simulator.seen().is_empty());
}

/// The recorded 404 (a Latin-1 text under a PDF content type) is `08003`.
#[tokio::test]
async fn an_unknown_company_is_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "552032534").await, ("08003".into(), 404));
}

/// The real gateway reports the CNETP's 401 as a maintenance; wrong credentials get it.
#[tokio::test]
async fn a_refusal_is_reported_as_a_maintenance() {
    let (simulator, provider) = start().await;
    assert_eq!(canned(&simulator, &provider, "refused").await, ("08020".into(), 503));
    let (simulator, provider) = start_with(|base| Settings {
        token: "perime".into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "433604196").await, ("08020".into(), 503));
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (simulator, provider) = start().await;
    assert_eq!(
        canned(&simulator, &provider, "server_error").await,
        ("08999".into(), 502)
    );
    assert_eq!(
        canned(&simulator, &provider, "unavailable").await,
        ("08001".into(), 502)
    );
    assert_eq!(
        canned(&simulator, &provider, "gateway_timeout").await,
        ("08002".into(), 504)
    );
    assert_eq!(canned(&simulator, &provider, "redirect").await, ("08000".into(), 502));
    assert_eq!(canned(&simulator, &provider, "not_a_pdf").await, ("08055".into(), 502));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (simulator, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let started = Instant::now();
    assert_eq!(canned(&simulator, &provider, "slow").await, ("08002".into(), 504));
    assert!(started.elapsed().as_secs() < 3);
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 1000,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "433604196").await, ("08999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = crate::testing::unreachable_base();
    let provider = CnetpProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "433604196").await, ("08001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("08001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].siren, super::PING_SIREN);
}

/// The daily window it publishes, 06:00–06:30 Paris, which the gateway observes; none
/// for the simulator, which never closes.
#[tokio::test]
async fn it_publishes_its_daily_window_unless_simulated() {
    let (_, observed) = start_with(|base| Settings {
        maintenance_window: true,
        ..Settings::simulated(base)
    })
    .await;
    let window = MaintenanceWindow::daily(super::ID, "06:00", "06:30");
    assert_eq!(observed.maintenance_windows(), [window]);
    assert!(start().await.1.maintenance_windows().is_empty());
    assert!(Settings::default().maintenance_window);
}

proptest::proptest! {
    /// The recorded attestation cut anywhere is no whole PDF: `08055`, never a panic
    /// nor a stored half document; any status the reference does not name is `08999`.
    #[test]
    fn incomplete_bodies_are_refused(cut in 0usize..100_000, status in 100u16..600) {
        let pdf = Simulator::attestation();
        proptest::prop_assert!(mapping::answer(200, pdf.to_vec()).is_ok());
        // Short of its last line, `%%EOF`.
        let cut = cut % (pdf.len() - 6);
        let failure = mapping::answer(200, pdf[..cut].to_vec()).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "08055");
        if ![200, 401, 404].contains(&status) {
            let failure = mapping::answer(status, pdf.to_vec()).unwrap_err();
            proptest::prop_assert_eq!(failure.into_error().code, "08999");
        }
    }
}
