//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the reference names.

use std::collections::BTreeMap;
use std::sync::Arc;

use passerelle_bouquet::{Endpoint, Extras, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{MiProvider, Settings};
use crate::testing::{self, body, cases, serve, today, Case};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, MiProvider, String) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    let provider = MiProvider::new(settings(&base)).unwrap();
    (simulator, provider, base)
}

async fn start() -> (Arc<Simulator>, MiProvider, String) {
    start_with(Settings::simulated).await
}

fn endpoint(resource: &str) -> &'static Endpoint {
    testing::endpoint(super::ID, resource)
}

fn extras(provider: &MiProvider, resource: &str, params: &[(&str, &str)]) -> Result<Extras, Vec<ApiError>> {
    provider.parse_extras(endpoint(resource), &Query::from_pairs(params), today())
}

async fn call(provider: &MiProvider, resource: &str, version: u8, extras: &Extras) -> Result<Fetched, ApiError> {
    testing::call(provider, endpoint(resource), version, extras).await
}

/// One call by identifier: `v3` routes take `siret_or_rna`, `v4` ones `siren_or_rna`.
async fn fetch(provider: &MiProvider, resource: &str, id: &str) -> Result<Fetched, ApiError> {
    let (parameter, version) = match resource {
        "associations" | "documents_associations" => ("siret_or_rna", 3),
        _ => ("siren_or_rna", 4),
    };
    let extras = extras(provider, resource, &[(parameter, id)]).expect("valid identifier");
    call(provider, resource, version, &extras).await
}

async fn error(provider: &MiProvider, resource: &str, id: &str) -> (String, u16, String) {
    let e = fetch(provider, resource, id).await.unwrap_err();
    let name = e.meta["provider"].as_str().unwrap_or_default().to_string();
    (e.code.clone(), e.status(), name)
}

/// Where our answer differs from a recorded one, and why: each pointer is checked to
/// still differ, and the bodies to be equal once it is removed.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    // The sandbox's v3 not-found says `24003` "Ministère de l'Intérieur"; the contract
    // gives MI the prefix 21 and the name "MI" (prefix 24 is no provider's).
    ("api_entreprise_v3_mi_associations", "404.yaml", "/code"),
    ("api_entreprise_v3_mi_associations", "404.yaml", "/meta/provider"),
    ("api_entreprise_v3_mi_documents_associations", "404.yaml", "/code"),
    (
        "api_entreprise_v3_mi_documents_associations",
        "404.yaml",
        "/meta/provider",
    ),
];

fn remove(value: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if let Some(object) = value.pointer_mut(parent).and_then(Value::as_object_mut) {
        object.remove(key);
    }
}

/// The gateway writes every proxied URL (and the v3 lifetimes): each must be marked,
/// and is then compared as written by neither side.
fn without_proxied(fetched: &Fetched, recorded: &mut Value) -> Result<Value, String> {
    let mut ours = body(fetched);
    for proxied in &fetched.proxied {
        let pointers = std::iter::once(&proxied.url_pointer).chain(proxied.expiry_pointer.as_ref());
        for pointer in pointers {
            let full = format!("/data{pointer}");
            if recorded.pointer(&full).is_none() {
                return Err(format!("{full} is proxied but not in the recorded body"));
            }
            for side in [&mut ours, &mut *recorded] {
                if let Some(value) = side.pointer_mut(&full) {
                    *value = Value::Null;
                }
            }
        }
    }
    Ok(ours)
}

fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<(), String> {
    let known = KNOWN_DIFFERENCES
        .iter()
        .filter(|(o, f, _)| (*o, *f) == (case.operation.as_str(), case.case.as_str()));
    match answer {
        Ok(fetched) => {
            if case.status != 200 {
                return Err(format!("answered 200, recorded {}", case.status));
            }
            let mut recorded = case.payload.clone();
            let ours = without_proxied(fetched, &mut recorded)?;
            (ours == recorded).then_some(()).ok_or(format!("{ours:#}"))
        }
        Err(error) => {
            let mut recorded = case.payload["errors"][0].clone();
            let mut ours =
                json!({"code": error.code, "title": error.title, "detail": error.detail, "meta": error.meta});
            if let Some(object) = recorded.as_object_mut() {
                object.remove("source");
            }
            for (_, _, pointer) in known {
                if ours.pointer(pointer) == recorded.pointer(pointer) {
                    return Err(format!("{pointer} no longer differs"));
                }
                remove(&mut ours, pointer);
                remove(&mut recorded, pointer);
            }
            (error.status() == case.status && ours == recorded)
                .then_some(())
                .ok_or(format!("{error:?}"))
        }
    }
}

/// Every official case, through the simulator: status and body (errors: code, title,
/// detail, meta) equal the recorded ones, proxied URLs and the differences above aside.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider, _) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut per_operation: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for case in &cases {
        let resource = case.operation.split("_mi_").nth(1).unwrap();
        let params: Vec<(&str, &str)> = case.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let extras = match extras(&provider, resource, &params) {
            Ok(extras) => extras,
            Err(errors) => {
                unexpected.push(format!("{} {}: parameters {errors:?}", case.operation, case.case));
                continue;
            }
        };
        let answer = call(&provider, resource, case.version, &extras).await;
        match compare(case, &answer) {
            Ok(()) => *per_operation.entry(&case.operation).or_default() += 1,
            Err(why) => unexpected.push(format!("{} {}: {why}", case.operation, case.case)),
        }
    }
    for (operation, reproduced) in &per_operation {
        println!("{operation}: {reproduced} reproduced");
    }
    assert_eq!(cases.len(), 7);
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}

#[tokio::test]
async fn identifiers_are_checked_before_any_call() {
    let (simulator, provider, _) = start().await;
    let code = |resource, parameter, id| {
        extras(&provider, resource, &[(parameter, id)]).unwrap_err()[0]
            .code
            .clone()
    };
    assert_eq!(code("associations", "siret_or_rna", "W12"), "00303");
    assert_eq!(
        code("documents_associations", "siret_or_rna", "77567227221139"),
        "00303"
    );
    assert!(extras(&provider, "unites_legales", &[("siren_or_rna", "775672273")]).is_err());
    assert_eq!(simulator.calls(), 0);
}

#[tokio::test]
async fn a_record_is_found_by_rna_siren_or_siret_and_mapped() {
    let (_, provider, base) = start().await;
    for id in ["W751004076", "775672272"] {
        let fetched = fetch(&provider, "unites_legales", id).await.unwrap();
        assert_eq!(fetched.data["nom"], "CROIX ROUGE FRANCAISE");
        assert_eq!(fetched.meta["internal_id"], "1011627");
    }
    let full = fetch(&provider, "unites_legales", "775672272").await.unwrap();
    let data = &full.data;
    // Booleans, "no date", phone spaces, the address complement lines, ESS.
    assert_eq!(data["active"], true);
    assert_eq!(data["date_publication_journal_officiel"], Value::Null);
    assert_eq!(data["date_creation"], "1964-12-30");
    assert_eq!(data["etablissements"][0]["telephone"], "0156880183");
    assert_eq!(data["etablissements"][0]["adresse"]["complement"], "SITE CROIX ROUGE");
    assert_eq!(data["adresse_gestion"]["complement"], "CS 90070");
    assert_eq!(data["activites"]["economie_sociale_et_solidaire"], false);
    // Representatives, rhs and accounts per établissement; names upper-cased.
    let siege = &data["etablissements"][0];
    assert_eq!(siege["representants_legaux"][0]["nom"], "MARTIN");
    assert_eq!(siege["rhs"].as_array().unwrap().len(), 2);
    assert_eq!(siege["comptes"][0]["montant_subventions"], 23456.0);
    assert_eq!(data["etablissements"][1]["representants_legaux"][0]["nom"], "DUPONT");
    // The internal agrément URL is rewritten to the API's domain and passed through.
    assert_eq!(
        data["agrements"][0]["url"],
        format!("{base}/apim/api-asso/documents/00000000-0000-0000-0000-000000000001")
    );
    // DAC documents: hashed ids, labels, proxied URLs; RNA documents: Paris time.
    let dac = &siege["documents_dac"][0];
    assert_eq!(dac["type"], "Rapport d'activité (le plus récent)");
    assert_eq!(dac["date_depot"], "2018-09-01");
    // SHA-256 of the upstream uuid 00000000-0000-0000-0000-000000000002.
    assert_eq!(
        dac["id"],
        "90d5b0a26955772ebda61cd86cef90ec4f0a4efd29b8a7099df640bc94a8cc0a"
    );
    let rna = &data["documents_rna"][0];
    assert_eq!(rna["date_depot"], "2020-11-01T00:00:00.000+01:00");
    assert_eq!(rna["type"], "Pièce");
    let pointers: Vec<&str> = full.proxied.iter().map(|p| p.url_pointer.as_str()).collect();
    assert_eq!(
        pointers,
        [
            "/etablissements/0/documents_dac/0/url",
            "/etablissements/1/documents_dac/0/url",
            "/documents_rna/0/url"
        ]
    );
    // The recording's files live on associations.gouv.fr, which the settings must name.
    assert!(full.proxied.iter().all(|p| p.lifetime_secs == 86_400
        && p.target.starts_with("https://associations.gouv.fr/api/documents/")
        && !provider.may_proxy(&p.target)));
    assert_eq!(
        full.links["insee_siege_social"],
        "https://entreprise.api.gouv.fr/v3/insee/sirene/etablissements/77567227221138"
    );
}

#[tokio::test]
async fn open_data_leaves_out_networks_representatives_and_documents() {
    let (_, provider, _) = start().await;
    let open = fetch(&provider, "unites_legales_open_data", "W751004076")
        .await
        .unwrap();
    let data = open.data.as_object().unwrap();
    assert!(!data.contains_key("reseaux_affiliation"));
    assert!(!data.contains_key("documents_rna"));
    let etablissement = data["etablissements"][0].as_object().unwrap();
    assert!(!etablissement.contains_key("representants_legaux"));
    assert!(!etablissement.contains_key("documents_dac"));
    assert!(etablissement.contains_key("rhs"));
    assert!(open.proxied.is_empty());
}

#[tokio::test]
async fn the_v3_documents_are_proxied_with_their_lifetime() {
    let (_, provider, base) = start().await;
    let fetched = fetch(&provider, "documents_associations", "77567227221138")
        .await
        .unwrap();
    assert_eq!(fetched.meta["nombre_documents"], 1);
    assert_eq!(fetched.data[0]["data"]["type"], "Arrêté");
    assert_eq!(fetched.proxied.len(), 1);
    assert_eq!(fetched.proxied[0].expiry_pointer.as_deref(), Some("/0/data/expires_in"));
    assert_eq!(
        fetched.proxied[0].target,
        "https://associations.gouv.fr/api/documents/00000000-0000-0000-0000-000000000004"
    );
    // Another host than the API's own is not proxied unless the settings name it.
    assert!(!provider.may_proxy(&fetched.proxied[0].target));
    assert!(provider.may_proxy(&format!("{base}/apim/api-asso/documents/x")));
    let (_, allowing, _) = start_with(|base| Settings {
        document_hosts: vec!["associations.gouv.fr".into()],
        ..Settings::simulated(base)
    })
    .await;
    assert!(allowing.may_proxy(&fetched.proxied[0].target));
    assert!(!allowing.may_proxy("https://associations.gouv.fr.evil.example/x"));
    assert!(!allowing.may_proxy("https://user@associations.gouv.fr/x"));
    assert!(!allowing.may_proxy("file:///etc/passwd"));
}

#[tokio::test]
async fn not_found_arrives_inside_a_200_and_names_each_provider() {
    let (_, provider, _) = start().await;
    assert_eq!(
        error(&provider, "associations", "W000000000").await,
        ("21003".into(), 404, "MI".into())
    );
    assert_eq!(
        error(&provider, "unites_legales", "W000000000").await,
        ("29003".into(), 404, "DJEPVA".into())
    );
    // Not an association: no RNA number and another legal category.
    assert_eq!(error(&provider, "unites_legales", "W999999013").await.0, "29003");
    // The documents route: no RNA document is not found too.
    assert_eq!(
        error(&provider, "documents_associations", "W999999009").await.0,
        "21003"
    );
}

#[tokio::test]
async fn upstream_failures_map_to_the_contract() {
    let (_, provider, _) = start().await;
    let code = |id: &'static str| {
        let provider = &provider;
        async move { error(provider, "unites_legales", id).await.0 }
    };
    assert_eq!(code("W999999002").await, "29001"); // 503
    assert_eq!(code("W999999010").await, "29002"); // 504
    assert_eq!(code("W999999003").await, "29999"); // not XML
    assert_eq!(code("W999999004").await, "29011"); // empty body
    assert_eq!(code("W999999005").await, "29999"); // a valid record, but HTTP 500
    assert_eq!(code("W999999006").await, "29003"); // an XML error page: no association
    assert_eq!(code("W999999007").await, "29999"); // over the body cap
    assert_eq!(code("W999999008").await, "29999"); // a number that does not read
    assert_eq!(code("W999999011").await, "29000"); // a redirection
                                                   // The documents route says "unavailable" when no record came back at all.
    assert_eq!(
        error(&provider, "documents_associations", "W999999006").await.0,
        "21001"
    );
    assert_eq!(error(&provider, "associations", "W999999002").await.0, "21001");
}

#[tokio::test]
async fn a_slow_upstream_is_a_timeout() {
    let (_, provider, _) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(
        error(&provider, "unites_legales", "W999999001").await,
        ("29002".into(), 504, "DJEPVA".into())
    );
}

#[tokio::test]
async fn the_api_key_is_sent_and_a_wrong_one_fails() {
    let (_, provider, _) = start_with(|base| Settings {
        api_key: "wrong".into(),
        ..Settings::simulated(base)
    })
    .await;
    // Gravitee's JSON refusal is no XML: unknown.
    assert_eq!(error(&provider, "associations", "W751234567").await.0, "21999");
}

#[tokio::test]
async fn the_ping_asks_for_its_association() {
    let (simulator, provider, _) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.calls(), 1);
    let (_, down, _) = start_with(|_| Settings::simulated("http://127.0.0.1:9")).await;
    assert!(matches!(down.ping().await, Health::Down(code) if code == "29001"));
}

mod incomplete {
    use proptest::prelude::*;
    use reqwest::StatusCode;

    use super::super::{mapping, validate, Route};
    use crate::mi::mapping::{Audience, Bases};

    const RECORD: &str = include_str!("api_asso.json");

    fn croix_rouge() -> String {
        let data: serde_json::Value = serde_json::from_str(RECORD).unwrap();
        data["structures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["ids"].as_array().unwrap().iter().any(|i| i == "W751004076"))
            .unwrap()["xml"]
            .as_str()
            .unwrap()
            .to_string()
    }

    fn outcome(body: &[u8], route: Route) -> Result<(), String> {
        let bases = Bases {
            public: "https://gw",
            upstream: "https://up",
        };
        let asso = validate(StatusCode::OK, body, route).map_err(|f| f.into_error(route.info()).code)?;
        let mapped = match route {
            Route::Association => Ok(()),
            Route::Documents => mapping::documents_v3(&asso, bases.upstream).map(drop),
            Route::UniteLegale(audience) => mapping::unite_legale(&asso, audience, &bases).map(drop),
        };
        mapped.map_err(|f| f.into_error(route.info()).code)
    }

    proptest! {
        /// A record cut anywhere, or with any one value replaced by garbage, is answered
        /// (mapped, or one of the contract's codes), never a panic.
        #[test]
        fn incomplete_bodies_are_xx999_or_not_found(cut in 0usize..13_000, pick in 0usize..400, junk in "[a-z<>&]{0,6}") {
            let record = croix_rouge();
            let cut_body = &record.as_bytes()[..cut.min(record.len())];
            for route in [Route::Association, Route::Documents, Route::UniteLegale(Audience::Full)] {
                match outcome(cut_body, route) {
                    // Only what follows the root element may be cut from a record that maps.
                    Ok(()) => prop_assert!(record.as_bytes()[cut.min(record.len())..]
                        .iter()
                        .all(u8::is_ascii_whitespace)),
                    Err(code) => prop_assert!(
                        ["21999", "29999", "21011", "29011", "21003", "29003", "21001"].contains(&code.as_str()),
                        "{code}"
                    ),
                }
            }
            // One element's text replaced.
            let pieces: Vec<&str> = record.split('>').collect();
            let index = pick % pieces.len();
            let mut altered: Vec<String> = pieces.iter().map(|p| p.to_string()).collect();
            if let Some(end) = altered[index].find('<') {
                if end > 0 {
                    altered[index] = format!("{junk}{}", &altered[index][end..]);
                }
            }
            let altered = altered.join(">");
            if let Err(code) = outcome(altered.as_bytes(), Route::UniteLegale(Audience::Full)) {
                prop_assert!(["29999", "29011", "29003"].contains(&code.as_str()), "{code}");
            }
        }
    }

    #[test]
    fn a_malformed_number_is_unknown() {
        let record = croix_rouge().replace(
            "<nb_benevoles>70</nb_benevoles>",
            "<nb_benevoles>soixante-dix</nb_benevoles>",
        );
        assert_eq!(
            outcome(record.as_bytes(), Route::UniteLegale(Audience::Full)),
            Err("29999".into())
        );
        // The v3 summary reads no number: it still answers.
        assert_eq!(outcome(record.as_bytes(), Route::Association), Ok(()));
    }
}
