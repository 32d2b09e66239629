//! The provider against its simulator over loopback: the official sandbox cases
//! replayed over plain HTTP, mutual TLS with and without the right certificate, then
//! each upstream behaviour the contract and the reference name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde::Deserialize;
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, ProbtpProvider, Settings};
use crate::mtls::testing;

const ATTESTATION: &str = "attestations_cotisation_retraite";
const CONFORMITY: &str = "conformites_cotisations_retraite";

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, ProbtpProvider) {
    let simulator = Simulator::with_default_data();
    let base = crate::testing::serve(simulator::router(simulator.clone())).await;
    (simulator, ProbtpProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, ProbtpProvider) {
    start_with(Settings::simulated).await
}

fn endpoint(resource: &str) -> &'static Endpoint {
    crate::testing::endpoint(super::ID, resource)
}

fn resource_of(operation: &str) -> &'static str {
    if operation.contains("attestations") {
        ATTESTATION
    } else {
        CONFORMITY
    }
}

async fn fetch(provider: &ProbtpProvider, resource: &str, siret: &str) -> Result<Fetched, ApiError> {
    crate::testing::fetch(provider, endpoint(resource), 3, &[("siret", siret)]).await
}

async fn code(provider: &ProbtpProvider, resource: &str, siret: &str) -> (String, u16) {
    let e = fetch(provider, resource, siret).await.unwrap_err();
    assert_eq!(e.meta["provider"], "ProBTP", "{e:?}");
    (e.code.clone(), e.status())
}

async fn eligible(provider: &ProbtpProvider, siret: &str) -> Value {
    fetch(provider, CONFORMITY, siret).await.unwrap().data["eligible"].clone()
}

#[derive(Deserialize)]
struct Case {
    operation: String,
    case: String,
    params: BTreeMap<String, String>,
    status: u16,
    payload: Value,
}

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

/// The recorded body minus the two document members the gateway writes itself.
fn without_document_members(mut payload: Value) -> Value {
    if let Some(data) = payload["data"].as_object_mut() {
        data.remove("document_url");
        data.remove("expires_in");
    }
    payload
}

fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<(), String> {
    match answer {
        Ok(fetched) => {
            let attached = fetched.attachments.iter().all(|a| a.bytes.starts_with(b"%PDF-"));
            let expected_attachments = usize::from(resource_of(&case.operation) == ATTESTATION);
            if case.status != 200 || !attached || fetched.attachments.len() != expected_attachments {
                return Err(format!("answered 200 with {} attachment(s)", fetched.attachments.len()));
            }
            let ours = json!({"data": fetched.data, "links": fetched.links, "meta": fetched.meta});
            let same = without_document_members(ours.clone()) == without_document_members(case.payload.clone());
            same.then_some(()).ok_or(format!("{ours:#}"))
        }
        Err(error) => {
            let recorded = &case.payload["errors"][0];
            let same = error.status() == case.status
                && recorded["code"] == error.code
                && recorded["title"] == error.title
                && recorded["detail"] == error.detail
                && recorded["meta"] == json!(error.meta);
            same.then_some(()).ok_or(format!("{error:?}"))
        }
    }
}

/// The attestation's recorded 404 asks for `55203253400001`, whose Luhn key is wrong:
/// the gateway answers `00302` (422) before any call, as the real one does.
const REFUSED_BEFORE_THE_CALL: &[&str] = &["api_entreprise_v3_probtp_attestations_cotisation_retraite/404.yml"];

/// The official cases through the simulator: 3 exact of 4 (attestation 1 of 2, the PDF
/// attached; conformité 2 of 2, the 404's whole error), the fourth refused before the
/// call (`REFUSED_BEFORE_THE_CALL`).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases: Cases = serde_json::from_str(include_str!("cases.json")).unwrap();
    let mut exact = BTreeMap::new();
    let mut refused = Vec::new();
    let mut unexpected = Vec::new();
    for case in &cases.cases {
        let resource = resource_of(&case.operation);
        let query = Query::from_pairs(&[("siret", case.params["siret"].as_str())]);
        if let Err(errors) = provider.parse_extras(endpoint(resource), &query, crate::testing::today()) {
            assert_eq!(errors[0].code, "00302");
            refused.push(format!("{}/{}", case.operation, case.case));
            continue;
        }
        match compare(case, &fetch(&provider, resource, &case.params["siret"]).await) {
            Ok(()) => *exact.entry(resource).or_insert(0) += 1,
            Err(why) => unexpected.push(format!("{} {}: {why}", case.operation, case.case)),
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!(refused, REFUSED_BEFORE_THE_CALL);
    assert_eq!(exact, BTreeMap::from([(ATTESTATION, 1), (CONFORMITY, 2)]));
}

/// Over mutual TLS: the test CA's client certificate opens the connection; without a
/// certificate, or with one of another CA, the handshake fails: `09001`.
#[tokio::test]
async fn mutual_tls_needs_the_gateways_certificate() {
    let base = testing::serve(simulator::router(Simulator::with_default_data())).await;
    let with = |identity: Option<&str>| {
        ProbtpProvider::new(Settings {
            tls: testing::tls(identity),
            ..Settings::simulated(&base)
        })
        .unwrap()
    };
    let trusted = with(Some("client.pem"));
    assert_eq!(eligible(&trusted, "30613890001294").await, json!(true));
    let attestation = fetch(&trusted, ATTESTATION, "30613890001294").await.unwrap();
    assert!(attestation.attachments[0].bytes.starts_with(b"%PDF-"));
    assert_eq!(trusted.ping().await, Health::Ok);
    for refused in [with(None), with(Some("stranger.pem"))] {
        assert_eq!(
            code(&refused, CONFORMITY, "30613890001294").await,
            ("09001".into(), 502)
        );
        assert_eq!(refused.ping().await, Health::Down("09001".into()));
    }
}

/// The TLS files are keys of `[entreprise.probtp]` itself.
#[test]
fn the_tls_files_are_plain_settings_keys() {
    let settings: Settings = serde_json::from_value(json!({
        "base_url": "https://probtp.example",
        "client_cert": "/etc/passerelle/gateway.pem",
        "ca_cert": "/etc/passerelle/probtp-ca.pem",
    }))
    .unwrap();
    let tls = passerelle_providers::http::TlsSettings {
        client_cert: Some("/etc/passerelle/gateway.pem".into()),
        client_key: None,
        ca_cert: Some("/etc/passerelle/probtp-ca.pem".into()),
    };
    assert_eq!(settings.tls, tls);
    assert_eq!(settings.read_timeout_ms, 10_000);
}

#[test]
fn an_unreadable_certificate_stops_the_start() {
    let mut settings = Settings::simulated("https://127.0.0.1:1");
    settings.tls.client_cert = Some("/nonexistent/probtp.pem".into());
    assert!(ProbtpProvider::new(settings).is_err());
}

/// The SIRET goes out as `{"corps": …}` in JSON to the right service; the first two
/// digits of `corps` tell the eligibility; PRO BTP's `code 8` is a 404 on both routes,
/// a non-eligible company's attestation included.
#[tokio::test]
async fn eligibility_and_not_found_on_both_services() {
    let (simulator, provider) = start().await;
    assert_eq!(eligible(&provider, "34909797200021").await, json!(true));
    assert_eq!(eligible(&provider, "55204599900828").await, json!(false));
    assert_eq!(eligible(&provider, "99999000000203").await, Value::Null);
    assert_eq!(
        code(&provider, CONFORMITY, "41816609600069").await,
        ("09003".into(), 404)
    );
    assert_eq!(
        code(&provider, ATTESTATION, "73582032600040").await,
        ("09003".into(), 404)
    );
    assert_eq!(
        code(&provider, ATTESTATION, "41816609600069").await,
        ("09003".into(), 404)
    );
    let seen = simulator.seen();
    assert_eq!(seen[0].service, simulator::STATUT);
    assert_eq!(seen[0].body, r#"{"corps":"34909797200021"}"#);
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
    assert_eq!(seen[4].service, simulator::ATTESTATION);
}

#[tokio::test]
async fn the_attestation_is_attached_for_a_day() {
    let (_, provider) = start().await;
    let fetched = fetch(&provider, ATTESTATION, "34909797200021").await.unwrap();
    assert_eq!(fetched.data, json!({}));
    let document = &fetched.attachments[0];
    assert_eq!(
        (document.url_member, document.expiry_member, document.file_name),
        (
            "document_url",
            "expires_in",
            "attestation_cotisation_retraite_probtp.pdf"
        )
    );
    assert_eq!(
        (document.content_type, document.lifetime_secs),
        ("application/pdf", 86_400)
    );
    assert!(document.bytes.starts_with(b"%PDF-") && document.bytes.len() > 10_000);
}

#[tokio::test]
async fn a_malformed_siret_is_refused_before_any_call() {
    let (simulator, provider) = start().await;
    for refused in ["30613890001295", "3061389000129", "abc"] {
        let errors = provider
            .parse_extras(
                endpoint(CONFORMITY),
                &Query::from_pairs(&[("siret", refused)]),
                crate::testing::today(),
            )
            .unwrap_err();
        assert_eq!(errors[0].code, "00302", "{refused}");
    }
    assert!(simulator.seen().is_empty());
}

/// A 500 and PRO BTP's `code 4` are `09000`, the latter with its message; the
/// transport's statuses are theirs; any other status or an unreadable body is `09999`;
/// a bad attestation is `09051` or `09055`.
#[tokio::test]
async fn statuses_provider_errors_and_garbage() {
    let (_, provider) = start().await;
    for resource in [CONFORMITY, ATTESTATION] {
        assert_eq!(code(&provider, resource, "99999000000104").await, ("09000".into(), 502));
        assert_eq!(code(&provider, resource, "99999000000112").await, ("09000".into(), 502));
        assert_eq!(code(&provider, resource, "99999000000120").await, ("09999".into(), 502));
        assert_eq!(code(&provider, resource, "99999000000138").await, ("09999".into(), 502));
        assert_eq!(code(&provider, resource, "99999000000146").await, ("09001".into(), 502));
        assert_eq!(code(&provider, resource, "99999000000153").await, ("09002".into(), 504));
        assert_eq!(code(&provider, resource, "99999000000161").await, ("09999".into(), 502));
        assert_eq!(code(&provider, resource, "99999000000211").await, ("09999".into(), 502));
    }
    let refused = fetch(&provider, CONFORMITY, "99999000000112").await.unwrap_err();
    assert_eq!(refused.detail, "Erreur fournisseur: Service indisponible");
    assert_eq!(
        code(&provider, ATTESTATION, "99999000000187").await,
        ("09051".into(), 502)
    );
    assert_eq!(
        code(&provider, ATTESTATION, "99999000000195").await,
        ("09055".into(), 502)
    );
    assert_eq!(
        code(&provider, ATTESTATION, "99999000000203").await,
        ("09999".into(), 502)
    );
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let started = Instant::now();
    assert_eq!(
        code(&provider, CONFORMITY, "99999000000179").await,
        ("09002".into(), 504)
    );
    assert!(started.elapsed().as_secs() < 5);
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 1_000,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(eligible(&provider, "34909797200021").await, json!(true));
    assert_eq!(
        code(&provider, ATTESTATION, "34909797200021").await,
        ("09999".into(), 502)
    );
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = crate::testing::unreachable_base();
    let provider = ProbtpProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(
        code(&provider, CONFORMITY, "30613890001294").await,
        ("09001".into(), 502)
    );
    assert_eq!(provider.ping().await, Health::Down("09001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(
        simulator.seen()[0].body,
        format!(r#"{{"corps":"{}"}}"#, super::PING_SIRET)
    );
}

const VALID: &str = r#"{"entete":{"code":"0"},"corps":"00 Compte éligible","data":"JVBERi0xLjQK"}"#;

proptest::proptest! {
    /// A body cut anywhere, without its header code, or with members of the wrong
    /// type: `09999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_09999(cut in 0usize..10_000, pick in 0usize..5) {
        let valid = mapping::read(200, VALID.as_bytes()).unwrap();
        proptest::prop_assert!(mapping::attestation(&valid).is_ok());
        let broken = match pick {
            0 => VALID.as_bytes()[..cut % VALID.len()].to_vec(),
            1 => VALID.replace("entete", "header").into_bytes(),
            2 => VALID.replace("\"0\"", "0").into_bytes(),
            3 => VALID.replace("\"data\"", "\"pdf\"").into_bytes(),
            _ => VALID.replace("\"JVBERi0xLjQK\"", "[\"JVBERi0xLjQK\"]").into_bytes(),
        };
        let failure = match mapping::read(200, &broken) {
            Ok(answer) => mapping::attestation(&answer).unwrap_err(),
            Err(failure) => failure,
        };
        proptest::prop_assert_eq!(failure.into_error().code, "09999");
    }
}
