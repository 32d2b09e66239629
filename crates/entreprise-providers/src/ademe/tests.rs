//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::sync::Arc;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, AdemeProvider, Settings};
use crate::testing::{self, body, cases, code_of, quickly, serve, today, unreachable_base, Case};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, AdemeProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, AdemeProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, AdemeProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "certificats_rge")
}

async fn fetch_with(provider: &AdemeProvider, pairs: &[(&str, &str)]) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(), 3, pairs).await
}

async fn fetch(provider: &AdemeProvider, siret: &str) -> Result<Fetched, ApiError> {
    fetch_with(provider, &[("siret", siret)]).await
}

async fn code(provider: &AdemeProvider, siret: &str) -> (String, u16) {
    code_of(fetch(provider, siret).await, "ADEME")
}

const DATA: &str = include_str!("historique_rge.json");

fn data_file() -> Value {
    serde_json::from_str(DATA).unwrap()
}

/// The SIRET the simulator answers `name` for (`500`, `slow`…).
fn canned(name: &str) -> String {
    testing::canned(DATA, name, "siret")
}

fn ours(answer: &Result<Fetched, ApiError>) -> Value {
    match answer {
        Ok(fetched) => body(fetched),
        Err(error) => json!({"errors": [error]}),
    }
}

/// The recorded payload without the errors' `source` (null), which the gateway's
/// rendering adds, not the provider.
fn recorded(case: &Case) -> Value {
    let mut payload = case.payload.clone();
    if let Some(errors) = payload.get_mut("errors").and_then(Value::as_array_mut) {
        errors.iter_mut().filter_map(Value::as_object_mut).for_each(|e| {
            e.remove("source");
        });
    }
    payload
}

/// Both official cases, through the simulator: 2 exact of 2, errors included.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut exact = 0;
    let mut unexpected = Vec::new();
    for case in &cases {
        let answer = fetch(&provider, &case.params["siret"]).await;
        let status = answer.as_ref().map_or_else(ApiError::status, |_| 200);
        if status == case.status && ours(&answer) == recorded(case) {
            exact += 1;
        } else {
            unexpected.push(format!("{}: {status} {:#}", case.case, ours(&answer)));
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    assert_eq!((exact, cases.len()), (2, 2));
}

#[tokio::test]
async fn the_siret_and_limit_are_checked_before_any_call() {
    let (simulator, provider) = start().await;
    let siret = ("siret", "13002526500013");
    for (pairs, expected) in [
        (vec![("siret", "13002526500014")], "00302"),
        (vec![siret, ("limit", "0")], "00313"),
        (vec![siret, ("limit", "1001")], "00313"),
        (vec![siret, ("limit", "12abc")], "00313"),
    ] {
        let errors = provider
            .parse_extras(endpoint(), &Query::from_pairs(&pairs), today())
            .unwrap_err();
        assert_eq!(errors[0].code, expected, "{pairs:?}");
    }
    assert!(simulator.seen().is_empty());
}

/// The recorded lines: the page URL passes through, `_updatedAt` becomes its day; the
/// call carries the key, the gateway's address as `Referer`, `size` 1000 by default.
#[tokio::test]
async fn recorded_lines_map_to_the_contract() {
    let (simulator, provider) = start().await;
    let fetched = fetch(&provider, "50530961700023").await.unwrap();
    let items = fetched.data.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        items[0]["data"],
        json!({"url": "https://www.qualibat.com/Views/GetFichier.aspx?fn=2022\\D75-Certificat-112379-EXEMPLE-ENERGIE-E112379-2-20220214-RGEAnnexe.pdf",
            "nom_certificat": "QUALIBAT-RGE", "domaine": "Ventilation mécanique",
            "meta_domaine": "Travaux d'efficacité énergétique",
            "qualification": {"code": "8611M12D108",
                "nom": "Efficacité énergétique - \"ECO Artisan®\" - Chauffagiste (8611M12D108)"},
            "organisme": "qualibat", "date_attribution": "2019-01-24", "date_expiration": "2023-02-04",
            "meta": {"internal_id": "Q112379-8611M12D108-2022-03-30", "updated_at": "2022-03-30", "archived": false}})
    );
    let seen = &simulator.seen()[0];
    assert_eq!((seen.siret.as_str(), seen.size), ("50530961700023", Some(1000)));
    assert_eq!(seen.referer.as_deref(), Some("https://sandbox.entreprise.api.gouv.fr"));
    assert_eq!(seen.content_type.as_deref(), Some("application/json"));
}

/// `limit` becomes the page size; only the first page is read. Finished lines are
/// left out by the query itself.
#[tokio::test]
async fn the_limit_is_the_page_size() {
    let (simulator, provider) = start().await;
    let one = fetch_with(&provider, &[("siret", "13002526500013"), ("limit", "1")])
        .await
        .unwrap();
    assert_eq!(one.data.as_array().unwrap().len(), 1);
    assert_eq!(simulator.seen()[0].size, Some(1));
    let all = fetch(&provider, "13002526500013").await.unwrap();
    assert_eq!(all.data.as_array().unwrap().len(), 2);
    assert!(all
        .data
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["data"]["meta"]["archived"] == false));
}

#[tokio::test]
async fn no_line_is_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "82525962500028").await, ("19003".into(), 404));
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, &canned("500")).await, ("19999".into(), 502));
    assert_eq!(code(&provider, &canned("503")).await, ("19001".into(), 502));
    assert_eq!(code(&provider, &canned("504")).await, ("19002".into(), 504));
    assert_eq!(code(&provider, &canned("302")).await, ("19000".into(), 502));
    assert_eq!(code(&provider, &canned("html")).await, ("19999".into(), 502));
    assert_eq!(code(&provider, &canned("cut")).await, ("19999".into(), 502));
    assert_eq!(code(&provider, &canned("no_results")).await, ("19999".into(), 502));
}

#[tokio::test]
async fn a_wrong_key_is_a_provider_error() {
    let (simulator, provider) = start_with(|base| Settings {
        api_key: "someone-else".into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "50530961700023").await, ("19999".into(), 502));
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(quickly(code(&provider, &canned("slow"))).await, ("19002".into(), 504));
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 100,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "50530961700023").await, ("19999".into(), 502));
}

#[tokio::test]
async fn an_unreachable_dataset_is_unavailable_and_the_ping_says_so() {
    let base = unreachable_base();
    let provider = AdemeProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "50530961700023").await, ("19001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("19001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].siret, super::PING_SIRET);
}

fn recorded_valid() -> String {
    let line = &data_file()["lines"][0];
    serde_json::to_string(&json!({"total": 1, "results": [line]})).unwrap()
}

proptest::proptest! {
    /// A body cut anywhere, or a line without what an item needs, or with a member of
    /// the wrong type: `19999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_19999(cut in 0usize..10_000, pick in 0usize..5) {
        let valid = recorded_valid();
        proptest::prop_assert!(mapping::certificats(valid.as_bytes()).is_ok());
        let broken = match pick {
            0 => valid.as_bytes()[..cut % valid.len()].to_vec(),
            1 => valid.replace("\"_id\":", "\"id\":").into_bytes(),
            2 => valid.replace("\"traitement_termine\":false", "\"traitement_termine\":\"false\"").into_bytes(),
            3 => valid.replace("\"organisme\":\"qualibat\"", "\"organisme\":7").into_bytes(),
            _ => valid.replace("\"_updatedAt\":\"2022-03-30T04:11:53.153Z\"", "\"_updatedAt\":null").into_bytes(),
        };
        let failure = mapping::certificats(&broken).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "19999");
    }
}
