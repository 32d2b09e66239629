//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::sync::Arc;
use std::time::Instant;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, DataSubventionProvider, Settings};
use crate::testing::{
    self, cases, code_of, compare_error_differences, exact_count, quickly, serve, today, unreachable_base, Case,
};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, DataSubventionProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, DataSubventionProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, DataSubventionProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "subventions")
}

async fn fetch(provider: &DataSubventionProvider, id: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(), 3, &[("siren_or_siret_or_rna", id)]).await
}

async fn code(provider: &DataSubventionProvider, id: &str) -> (String, u16) {
    code_of(fetch(provider, id).await, "DataSubvention")
}

/// Where our error differs from the recorded one: the 404 case carries `28003`
/// (European Commission's prefix) and the provider name "Data Subvention"; we answer
/// `52003` and `DataSubvention`, as the contract says. Status, title and detail agree.
const ERROR_DIFFERENCES: &[&str] = &["code", "meta"];

/// `Ok(true)` when exact, `Ok(false)` when equal but for the documented differences.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    compare_error_differences(case, answer, &["title", "detail"], ERROR_DIFFERENCES)
}

/// Both official cases, through the simulator: 1 exact of 2 (the 404 matches its
/// status, title and detail, with the differences documented above).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut verdicts = Vec::new();
    for case in &cases {
        verdicts.push((
            case,
            compare(case, &fetch(&provider, &case.params["siren_or_siret_or_rna"]).await),
        ));
    }
    assert_eq!((exact_count(&verdicts), cases.len()), (1, 2));
}

/// The recorded answer: five grants, one of them a payment without application.
#[tokio::test]
async fn the_recorded_grants_map_to_the_contract() {
    let (_, provider) = start().await;
    let data = fetch(&provider, super::PING_ID).await.unwrap().data;
    let items = data.as_array().unwrap();
    assert_eq!(items.len(), 5);
    let first = &items[0]["data"]["demande_subvention"];
    assert_eq!(first["fournisseur"], "OSIRIS");
    assert_eq!(first["annee_exercice_demande"], 2019);
    assert_eq!(first["instruction"]["date_commission"], "2019-06-15T00:00:00.000Z");
    let projet = &first["description_des_projets"]["projet"][0];
    assert_eq!(
        projet["aide"],
        json!({"nature": "Projets sportifs territoriaux", "modalite": "Aide au projet"})
    );
    assert_eq!(
        projet["cofinanceurs"],
        "Conseil départemental du Nord;Ville de Lille;Métropole Européenne de Lille;"
    );
    let payment_only = &items[2]["data"];
    assert_eq!(payment_only["demande_subvention"], Value::Null);
    assert_eq!(
        payment_only["paiements"][0]["programme"],
        json!({"numero": "219", "libelle": "Sport", "fournisseur": "Data Bretagne"})
    );
    assert_eq!(
        items[3]["data"]["demande_subvention"]["identifiant_engagement_juridique"],
        Value::Null
    );
    assert_eq!(items[0]["links"], json!({}));
}

/// One login serves several calls; a token DataSubvention no longer knows (401) is
/// replaced once and the call replayed.
#[tokio::test]
async fn the_token_is_reused_then_replaced_when_refused() {
    let (simulator, provider) = start().await;
    fetch(&provider, "W751234567").await.unwrap();
    fetch(&provider, super::PING_ID).await.unwrap();
    assert_eq!(simulator.logins(), 1);
    simulator.revoke_tokens();
    fetch(&provider, "W751234567").await.unwrap();
    assert_eq!(simulator.logins(), 2);
    assert_eq!(simulator.seen(), ["W751234567", super::PING_ID, "W751234567"]);
}

#[tokio::test]
async fn a_wrong_account_is_a_provider_error() {
    let (simulator, provider) = start_with(|base| Settings {
        password: "wrong".into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "W751234567").await, ("52999".into(), 502));
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn a_malformed_identifier_is_refused_before_any_call() {
    let (simulator, provider) = start().await;
    for refused in ["W12", "78060373", "780603735", "abc"] {
        let errors = provider
            .parse_extras(
                endpoint(),
                &Query::from_pairs(&[("siren_or_siret_or_rna", refused)]),
                today(),
            )
            .unwrap_err();
        assert_eq!(errors[0].code, "00330", "{refused}");
    }
    assert_eq!(simulator.logins(), 0);
}

/// Unknown (404), refused as invalid (400) and "no grant" (an empty list) are not found.
#[tokio::test]
async fn unknown_invalid_and_empty_are_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "W000000000").await, ("52003".into(), 404));
    assert_eq!(code(&provider, "W999900011").await, ("52003".into(), 404));
    assert_eq!(code(&provider, "W999900010").await, ("52003".into(), 404));
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "W999900012").await, ("52999".into(), 502));
    assert_eq!(code(&provider, "W999900013").await, ("52001".into(), 502));
    assert_eq!(code(&provider, "W999900014").await, ("52002".into(), 504));
    assert_eq!(code(&provider, "W999900015").await, ("52000".into(), 502));
    assert_eq!(code(&provider, "W999900016").await, ("52999".into(), 502));
    assert_eq!(code(&provider, "W999900017").await, ("52999".into(), 502));
    assert_eq!(code(&provider, "W999900018").await, ("52999".into(), 502));
    assert_eq!(code(&provider, "W999900019").await, ("52999".into(), 502));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(quickly(code(&provider, "W999900020")).await, ("52002".into(), 504));
}

/// The recorded grants are 30 kB; the login answer is under the 5 kB cap.
#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (simulator, provider) = start_with(|base| Settings {
        max_body_bytes: 5_000,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, super::PING_ID).await, ("52999".into(), 502));
    assert_eq!(simulator.logins(), 1);
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = unreachable_base();
    let provider = DataSubventionProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "W751234567").await, ("52001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("52001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen(), [super::PING_ID]);
}

#[test]
fn an_unreadable_expiry_serves_one_call_only() {
    let now = Instant::now();
    assert!(super::expiry(Some("2025")) <= Instant::now());
    assert!(super::expiry(None) <= Instant::now());
    let later = (chrono::Utc::now() + chrono::Duration::minutes(5)).to_rfc3339();
    assert!(super::expiry(Some(&later)) > now + std::time::Duration::from_secs(200));
}

fn recorded_valid() -> Value {
    let data: Value = serde_json::from_str(include_str!("data_subvention.json")).unwrap();
    data["grants"][1]["body"].clone()
}

proptest::proptest! {
    /// A body cut anywhere, without what the answer needs, or with a member of the
    /// wrong shape: `52999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_52999(cut in 0usize..10_000, pick in 0usize..5) {
        let valid = recorded_valid();
        let text = valid.to_string();
        proptest::prop_assert!(mapping::grants(text.as_bytes()).is_ok());
        let mut broken = valid.clone();
        let grant = &mut broken["subventions"][0];
        let bytes = match pick {
            0 => text.as_bytes()[..cut % text.len()].to_vec(),
            1 => text.replace("\"subventions\"", "\"grants\"").into_bytes(),
            2 => { grant["application"] = json!("23/0001234"); broken.to_string().into_bytes() }
            3 => { grant["payments"] = json!({}); broken.to_string().into_bytes() }
            _ => { grant["application"]["ej"] = json!("23/0001234"); broken.to_string().into_bytes() }
        };
        let failure = mapping::grants(&bytes).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "52999");
    }
}
