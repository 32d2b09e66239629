//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::sync::Arc;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, DgddiProvider, Settings};
use crate::testing::{
    self, body, cases, code_of, compare_error_differences, exact_count, quickly, serve, today, unreachable_base, Case,
};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, DgddiProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, DgddiProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, DgddiProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "eori")
}

async fn fetch(provider: &DgddiProvider, identifier: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(), 3, &[("siret_or_eori", identifier)]).await
}

async fn code(provider: &DgddiProvider, identifier: &str) -> (String, u16) {
    code_of(fetch(provider, identifier).await, "DGDDI")
}

/// Where our error differs from the recorded one: the case carries CARIF-OREF's
/// prefix (`33003`), its own wording and the provider name "Douanes"; we answer
/// `16003` with the OpenAPI's detail and `DGDDI`, as the real service does. Status
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
        verdicts.push((
            case,
            compare(case, &fetch(&provider, &case.params["siret_or_eori"]).await),
        ));
    }
    assert_eq!((exact_count(&verdicts), cases.len()), (1, 2));
}

#[tokio::test]
async fn the_identifier_is_checked_before_any_call() {
    let (simulator, provider) = start().await;
    for refused in ["30613890001295", "FR30613890001295", "Z", "es123", "123"] {
        let errors = provider
            .parse_extras(endpoint(), &Query::from_pairs(&[("siret_or_eori", refused)]), today())
            .unwrap_err();
        assert_eq!(errors[0].code, "00304", "{refused}");
    }
    assert!(simulator.seen().is_empty());
}

/// The recorded answers: a French number, a Spanish one; the identifier goes out as
/// the caller wrote it, with the client id and the JSON content type.
#[tokio::test]
async fn recorded_records_map_to_the_contract() {
    let (simulator, provider) = start().await;
    let french = fetch(&provider, "FR16002307300010").await.unwrap();
    assert_eq!(
        body(&french),
        json!({"data": {"id": "FR16002307300010", "actif": true, "code_pays": "FR",
            "code_postal": "95520", "libelle": "CENTRE INFORMATIQUE DOUANIER", "pays": "FRANCE",
            "rue": "27 R DES BEAUX SOLEILS", "ville": "OSNY"}, "links": {}, "meta": {}})
    );
    let spanish = fetch(&provider, "ESA08536583").await.unwrap();
    assert_eq!(spanish.data["ville"], "VALNCIA (VALENCIA)");
    assert_eq!(spanish.data["code_pays"], "ES");
    let by_siret = fetch(&provider, "16002307300010").await.unwrap();
    assert_eq!(by_siret.data["id"], "FR16002307300010");
    let seen: Vec<_> = simulator.seen().into_iter().map(|s| s.identifier).collect();
    assert_eq!(seen, ["FR16002307300010", "ESA08536583", "16002307300010"]);
    assert_eq!(simulator.seen()[0].content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn an_unknown_number_is_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "FR82827787100020").await, ("16003".into(), 404));
}

/// A foreign number passes our check on its two letters only; the customs refuse a
/// malformed one with 400, which is the provider's `16999`. It goes out as one
/// encoded path segment.
#[tokio::test]
async fn a_malformed_foreign_number_is_refused_upstream() {
    let (simulator, provider) = start().await;
    assert_eq!(code(&provider, "ES A08/536583?x=1").await, ("16999".into(), 502));
    assert_eq!(simulator.seen()[0].identifier, "ES A08/536583?x=1");
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "ZZ500").await, ("16999".into(), 502));
    assert_eq!(code(&provider, "ZZ503").await, ("16001".into(), 502));
    assert_eq!(code(&provider, "ZZ504").await, ("16002".into(), 504));
    assert_eq!(code(&provider, "ZZ302").await, ("16000".into(), 502));
    assert_eq!(code(&provider, "ZZHTML").await, ("16999".into(), 502));
    assert_eq!(code(&provider, "ZZCUT").await, ("16999".into(), 502));
    assert_eq!(code(&provider, "ZZNOID").await, ("16999".into(), 502));
}

#[tokio::test]
async fn a_wrong_client_id_is_a_provider_error() {
    let (simulator, provider) = start_with(|base| Settings {
        client_id: "someone-else".into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "FR16002307300010").await, ("16999".into(), 502));
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(quickly(code(&provider, "ZZSLOW")).await, ("16002".into(), 504));
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 100,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "FR16002307300010").await, ("16999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = unreachable_base();
    let provider = DgddiProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "FR16002307300010").await, ("16001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("16001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].identifier, "FR16002307300010");
}

fn recorded_valid() -> String {
    let data: Value = serde_json::from_str(include_str!("douanes.json")).unwrap();
    serde_json::to_string(&json!({"EORI": data["eori"][0]})).unwrap()
}

proptest::proptest! {
    /// A body cut anywhere, or without what the record needs, or with a member of
    /// the wrong type: `16999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_16999(cut in 0usize..10_000, pick in 0usize..4) {
        let valid = recorded_valid();
        proptest::prop_assert!(mapping::eori(valid.as_bytes()).is_ok());
        let broken = match pick {
            0 => valid.as_bytes()[..cut % valid.len()].to_vec(),
            1 => valid.replace("\"identifiant\":\"FR16002307300010\"", "\"id\":\"FR16002307300010\"").into_bytes(),
            2 => valid.replace("\"actif\":true", "\"actif\":\"oui\"").into_bytes(),
            _ => valid.replace("\"codePostal\":\"95520\"", "\"codePostal\":95520").into_bytes(),
        };
        let failure = mapping::eori(&broken).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "16999");
    }
}
