//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::DateTime;
use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{GipMdsEffectifsProvider, Settings, PING_SIREN};
use crate::testing::{self, body, cases, serve, today, unreachable_base, Case};

const ANNUAL: &str = "effectifs_annuels_entreprise";
const MONTHLY: &str = "effectifs_mensuels_etablissement";
/// Our établissement with fourteen months of history, January 2023 to February 2024.
const HISTORY_SIRET: &str = "55203253400018";

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, GipMdsEffectifsProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, GipMdsEffectifsProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, GipMdsEffectifsProvider) {
    start_with(Settings::simulated).await
}

fn endpoint(resource: &str) -> &'static Endpoint {
    testing::endpoint(super::ID, resource)
}

async fn fetch(
    provider: &GipMdsEffectifsProvider,
    resource: &str,
    params: &[(&str, &str)],
) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(resource), 3, params).await
}

async fn annual(provider: &GipMdsEffectifsProvider, siren: &str) -> Result<Fetched, ApiError> {
    fetch(provider, ANNUAL, &[("siren", siren), ("year", "2023")]).await
}

async fn failure(provider: &GipMdsEffectifsProvider, siren: &str) -> ApiError {
    let error = annual(provider, siren).await.unwrap_err();
    assert_eq!(error.meta["provider"], "GIP-MDS", "{error:?}");
    error
}

/// Where our 200 body differs from a recorded one, and why; each pointer is checked to
/// still differ, and the bodies to be equal once they are removed.
/// - The annual examples list the general regime only; the RCD always answers both
///   regimes (the gateway refuses an answer without one), so ours also has the
///   agricultural one, `NC` there: value and date null, as the monthly example shows.
/// - The `boeth` examples still label their headcounts `effectif_moyen_*`: the RCD
///   answers the nature asked (A02, M02), which maps to `effectif_boeth_*`.
const KNOWN_DIFFERENCES: &[(&str, &str, &[&str])] = &[
    (
        "api_entreprise_v3_gip_mds_effectifs_annuels_entreprise",
        "200-2022.yaml",
        &["/data/effectifs_annuel/1"],
    ),
    (
        "api_entreprise_v3_gip_mds_effectifs_annuels_entreprise",
        "200-boeth.yaml",
        &["/data/effectifs_annuel/1", "/data/effectifs_annuel/0/nature"],
    ),
    (
        "api_entreprise_v3_gip_mds_effectifs_mensuels_etablissement",
        "200-boeth.yaml",
        &["/data/effectifs_mensuels/0/nature", "/data/effectifs_mensuels/1/nature"],
    ),
];

/// The annual "not found" example is DGFIP's (`03003`, its detail and provider name):
/// we answer GIP-MDS's `31003`, worded as the monthly example. Status and title agree.
const ERROR_DIFFERENCES: &[(&str, &str)] = &[("api_entreprise_v3_gip_mds_effectifs_annuels_entreprise", "404.yaml")];

fn remove(value: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match value.pointer_mut(parent) {
        Some(Value::Object(object)) => {
            object.remove(key);
        }
        Some(Value::Array(items)) => {
            if let Some(index) = key.parse::<usize>().ok().filter(|i| *i < items.len()) {
                items.remove(index);
            }
        }
        _ => {}
    }
}

/// `Ok(true)` when exact, `Ok(false)` when equal but for the documented differences.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    let at = (case.operation.as_str(), case.case.as_str());
    match answer {
        Ok(fetched) => {
            if case.status != 200 {
                return Err(format!("answered 200, recorded {}", case.status));
            }
            let mut ours = body(fetched);
            let mut recorded = case.payload.clone();
            let known = KNOWN_DIFFERENCES.iter().find(|(o, f, _)| (*o, *f) == at);
            let pointers = known.map_or(&[][..], |(_, _, p)| p);
            for pointer in pointers {
                if ours.pointer(pointer) == recorded.pointer(pointer) {
                    return Err(format!("{pointer} no longer differs"));
                }
                remove(&mut ours, pointer);
                remove(&mut recorded, pointer);
            }
            (ours == recorded)
                .then_some(pointers.is_empty())
                .ok_or(format!("{ours:#}"))
        }
        Err(error) => {
            let recorded = &case.payload["errors"][0];
            if error.status() != case.status || recorded["title"] != error.title {
                return Err(format!("{error:?}"));
            }
            let same = recorded["code"] == error.code
                && recorded["detail"] == error.detail
                && recorded["meta"] == json!(error.meta);
            match (same, ERROR_DIFFERENCES.contains(&at)) {
                (true, false) => Ok(true),
                (false, true) => Ok(false),
                (true, true) => Err("no longer differs".into()),
                (false, false) => Err(format!("{error:?}")),
            }
        }
    }
}

/// Every official case, through the simulator: status, `data`, `links` and `meta` (errors:
/// code, title, detail, meta) equal the recorded payload's, but for the differences
/// documented above. Counts: annual 0 exact of 3 (all three with their recorded
/// status), monthly 1 exact of 2.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut counts: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for case in &cases {
        let resource = case.operation.split("_gip_mds_").nth(1).unwrap();
        let params: Vec<(&str, &str)> = case.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let answer = fetch(&provider, resource, &params).await;
        match compare(case, &answer) {
            Ok(exact) => *counts.entry((&case.operation, exact)).or_default() += 1,
            Err(why) => unexpected.push(format!("{} {}: {why}", case.operation, case.case)),
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    let count = |operation: &str, exact| counts.get(&(operation, exact)).copied().unwrap_or(0);
    let annual = "api_entreprise_v3_gip_mds_effectifs_annuels_entreprise";
    let monthly = "api_entreprise_v3_gip_mds_effectifs_mensuels_etablissement";
    assert_eq!((count(annual, true), count(annual, false)), (0, 3));
    assert_eq!((count(monthly, true), count(monthly, false)), (1, 1));
}

#[tokio::test]
async fn the_annual_call_sends_the_rcd_query() {
    let (simulator, provider) = start().await;
    fetch(
        &provider,
        ANNUAL,
        &[("siren", "130025265"), ("year", "2024"), ("nature_effectif", "boeth")],
    )
    .await
    .unwrap();
    let seen = simulator.seen();
    assert_eq!(seen.len(), 1);
    let query = &seen[0].query;
    assert_eq!(query["codeOPSDemandeur"], "00000DINUM");
    assert_eq!(query["source"], "RA;RG");
    assert_eq!(query["nature"], "A02");
    assert_eq!(query["siren"], "130025265");
    assert_eq!(query["periode"], "20241231");
    assert!(!query.contains_key("profondeurHistorique"));
    let stamp = DateTime::parse_from_rfc3339(&query["dateHeure"]).unwrap();
    assert!(
        [3600, 7200].contains(&stamp.offset().local_minus_utc()),
        "Paris time: {stamp}"
    );
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn each_nature_asks_its_own_code() {
    let (simulator, provider) = start().await;
    for (nature, code, label) in [
        ("moyen", "A01", "effectif_moyen_annuel"),
        ("boeth", "A02", "effectif_boeth_annuel"),
        ("ecap", "A03", "effectif_ecap_annuel"),
        ("assujettissement_oeth", "A04", "effectif_assujettissement_oeth_annuel"),
        ("anything", "A01", "effectif_moyen_annuel"),
    ] {
        let params = [("siren", PING_SIREN), ("year", "2023"), ("nature_effectif", nature)];
        let data = fetch(&provider, ANNUAL, &params).await.unwrap().data;
        assert_eq!(simulator.seen().last().unwrap().query["nature"], code);
        assert_eq!(data["effectifs_annuel"][0]["nature"], label, "{nature}");
    }
}

#[tokio::test]
async fn decimal_and_whole_headcounts_map_to_the_contract() {
    let (_, provider) = start().await;
    let data = annual(&provider, PING_SIREN).await.unwrap().data;
    assert_eq!(
        data,
        json!({"siren": PING_SIREN, "annee": "2023", "effectifs_annuel": [
            {"regime": "regime_general", "nature": "effectif_moyen_annuel", "value": 1250.5,
             "date_derniere_mise_a_jour": "2024-01-31"},
            {"regime": "regime_agricole", "nature": "effectif_moyen_annuel", "value": 3,
             "date_derniere_mise_a_jour": "2024-01-31"}
        ]})
    );
}

#[tokio::test]
async fn profondeur_brings_the_months_before() {
    let (simulator, provider) = start().await;
    let month = [("siret", HISTORY_SIRET), ("year", "2024"), ("month", "02")];
    let one = fetch(&provider, MONTHLY, &month).await.unwrap().data;
    assert_eq!(one["effectifs_mensuels"].as_array().unwrap().len(), 2);
    assert_eq!(one["effectifs_mensuels"][0]["value"], 113);
    let query = simulator.seen()[0].query.clone();
    assert_eq!(
        (query["nature"].as_str(), query["periode"].as_str()),
        ("M01", "20240201")
    );
    assert_eq!(query["siret"], HISTORY_SIRET);
    assert!(!query.contains_key("profondeurHistorique"));

    let deep = [month.as_slice(), &[("profondeur", "13")]].concat();
    let all = fetch(&provider, MONTHLY, &deep).await.unwrap().data;
    let entries = all["effectifs_mensuels"].as_array().unwrap();
    assert_eq!(entries.len(), 28);
    assert_eq!(
        (entries[0]["annee"].as_str(), entries[0]["mois"].as_str()),
        (Some("2023"), Some("01"))
    );
    assert_eq!(simulator.seen()[1].query["profondeurHistorique"], "13");
}

#[tokio::test]
async fn parameters_are_checked_before_any_call_and_kept_for_the_cache_key() {
    let (simulator, provider) = start().await;
    for (params, code) in [
        (
            vec![
                ("siret", HISTORY_SIRET),
                ("year", "2024"),
                ("month", "02"),
                ("profondeur", "14"),
            ],
            "00390",
        ),
        (
            vec![("siret", HISTORY_SIRET), ("year", "2024"), ("month", "13")],
            "00305",
        ),
        (
            vec![("siret", HISTORY_SIRET), ("year", "2027"), ("month", "01")],
            "00307",
        ),
        (
            vec![("siret", "55203253400019"), ("year", "2024"), ("month", "01")],
            "00302",
        ),
    ] {
        let refused = provider
            .parse_extras(endpoint(MONTHLY), &Query::from_pairs(&params), today())
            .unwrap_err();
        assert_eq!(refused[0].code, code, "{params:?}");
    }
    assert!(simulator.seen().is_empty());
    let query = Query::from_pairs(&[
        ("siret", HISTORY_SIRET),
        ("year", "2024"),
        ("month", "02"),
        ("profondeur", "3"),
        ("nature_effectif", "ecap"),
    ]);
    let extras = provider.parse_extras(endpoint(MONTHLY), &query, today()).unwrap();
    assert_eq!(extras["profondeur"], "3");
    assert_eq!(extras["nature_effectif"], "ecap");
}

/// The simulator's failure cases (`tools/derive_gip_mds_effectifs.py`), by SIREN.
#[tokio::test]
async fn upstream_failures_give_the_contract_codes() {
    let (_, provider) = start().await;
    for (siren, code, status) in [
        ("910000009", "31502", 502),
        ("910000017", "31502", 502),
        ("910000033", "31000", 502),
        ("910000041", "31001", 502),
        ("910000058", "31003", 404),
        ("910000066", "31501", 502),
        ("910000074", "31999", 502),
        ("910000082", "31003", 404),
        ("910000090", "31999", 502),
        ("910000116", "31999", 502),
        ("910000124", "31002", 504),
        ("910000132", "31000", 502),
        ("000000000", "31003", 404),
    ] {
        let error = failure(&provider, siren).await;
        assert_eq!((error.code.as_str(), error.status()), (code, status), "{siren}");
        let retry = (code == "31502").then_some(json!(10));
        assert_eq!(error.meta.get("retry_in"), retry.as_ref(), "{siren}");
    }
}

#[tokio::test]
async fn a_quota_refusal_says_when_to_retry() {
    let (_, provider) = start().await;
    let error = failure(&provider, "910000025").await;
    assert_eq!((error.code.as_str(), error.status()), ("31503", 502));
    let retry_in = error.meta["retry_in"].as_i64().unwrap();
    assert!((55..=60).contains(&retry_in), "{retry_in}");
    // The établissements of that unité légale are throttled alike.
    let params = [("siret", "91000002500015"), ("year", "2024"), ("month", "01")];
    assert_eq!(fetch(&provider, MONTHLY, &params).await.unwrap_err().code, "31503");
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let started = Instant::now();
    let error = failure(&provider, "910000108").await;
    assert_eq!((error.code.as_str(), error.status()), ("31002", 504));
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_refused_token_is_renewed_on_the_next_call() {
    let (simulator, provider) = start().await;
    annual(&provider, PING_SIREN).await.unwrap();
    annual(&provider, PING_SIREN).await.unwrap();
    assert_eq!(simulator.tokens_issued(), 1, "the token is reused");
    simulator.revoke_tokens();
    let error = failure(&provider, PING_SIREN).await;
    assert_eq!(
        (error.code.as_str(), error.meta["retry_in"].clone()),
        ("31502", json!(10))
    );
    annual(&provider, PING_SIREN).await.unwrap();
    assert_eq!(simulator.tokens_issued(), 2);
}

#[tokio::test]
async fn wrong_credentials_are_an_authentication_error() {
    let (_, provider) = start_with(|base| Settings {
        client_secret: "wrong".into(),
        ..Settings::simulated(base)
    })
    .await;
    let error = failure(&provider, PING_SIREN).await;
    assert_eq!((error.code.as_str(), error.status()), ("31006", 502));
    assert_eq!(provider.ping().await, Health::Down("31006".into()));
}

#[tokio::test]
async fn a_body_past_the_cap_is_unknown() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 64,
        ..Settings::simulated(base)
    })
    .await;
    let error = failure(&provider, PING_SIREN).await;
    assert_eq!((error.code.as_str(), error.status()), ("31999", 502));
}

#[tokio::test]
async fn an_unreachable_upstream_is_unavailable() {
    let base = unreachable_base();
    let provider = GipMdsEffectifsProvider::new(Settings::simulated(&base)).unwrap();
    let error = failure(&provider, PING_SIREN).await;
    assert_eq!((error.code.as_str(), error.status()), ("31001", 502));
}

#[tokio::test]
async fn the_ping_asks_the_real_gateways_unite_legale() {
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    let query = &simulator.seen()[0].query;
    assert_eq!(
        (query["siren"].as_str(), query["periode"].as_str()),
        (PING_SIREN, "20231231")
    );
}
