//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract names.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider};
use passerelle_core::{ApiError, Purpose, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{DgfipProvider, Settings};
use crate::testing::{self, body, cases, code_of, serve, today, Case, CALLER, REQUEST_ID};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, DgfipProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, DgfipProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, DgfipProvider) {
    start_with(Settings::simulated).await
}

fn endpoint(resource: &str) -> &'static Endpoint {
    testing::endpoint(super::ID, resource)
}

fn extras(provider: &DgfipProvider, resource: &str, params: &[(&str, &str)]) -> Result<Extras, Vec<ApiError>> {
    provider.parse_extras(endpoint(resource), &Query::from_pairs(params), today())
}

async fn call(
    provider: &DgfipProvider,
    resource: &str,
    version: u8,
    extras: &Extras,
    day: NaiveDate,
    ids: (&str, &str),
) -> Result<Fetched, ApiError> {
    let purpose = Purpose::new();
    let call = Call {
        endpoint: endpoint(resource),
        version,
        caller: ids.0,
        civility: None,
        extras,
        purpose: &purpose,
        request_id: ids.1,
        today: day,
    };
    provider.fetch(&call).await
}

async fn fetch(
    provider: &DgfipProvider,
    resource: &str,
    version: u8,
    params: &[(&str, &str)],
) -> Result<Fetched, ApiError> {
    let extras = extras(provider, resource, params).expect("valid parameters");
    call(provider, resource, version, &extras, today(), (CALLER, REQUEST_ID)).await
}

async fn error(provider: &DgfipProvider, resource: &str, params: &[(&str, &str)]) -> (String, u16) {
    code_of(fetch(provider, resource, 3, params).await, "DGFIP - Adélie")
}

/// Cases whose identifier fails its checksum: the real gateway refuses them (422)
/// before any call, and so do we; the replay then asks the simulator anyway, so that
/// the data behind them is still checked.
const INVALID_IDENTIFIERS: &[(&str, &str, &str)] = &[
    (
        "api_entreprise_v3_dgfip_attestations_fiscales",
        "entite_hors_perimetre.yaml",
        "00301",
    ),
    (
        "api_entreprise_v4_dgfip_attestations_fiscales",
        "entite_hors_perimetre.yaml",
        "00301",
    ),
    ("api_entreprise_v3_dgfip_chiffres_affaires", "200-2022.yaml", "00302"),
];

/// Where our body differs from a recorded one, and why: each pointer is checked to
/// still differ, and the bodies to be equal once it is removed.
const KNOWN_DIFFERENCES: &[(&str, &str, &str)] = &[
    // A hand-written example: regime `RN` is "Réel normal" in the OpenAPI's own table,
    // the case says "Réel simplifié".
    (
        "api_entreprise_v3_dgfip_liasses_fiscales",
        "200.yml",
        "/data/declarations/0/regime/libelle",
    ),
    // The contract's collections count their items in `meta`; the example's is empty.
    (
        "api_entreprise_v3_dgfip_chiffres_affaires",
        "200-2022.yaml",
        "/meta/count",
    ),
];

/// The body the gateway would send, minus the two document members it writes itself.
fn without_document_members(mut payload: Value) -> Value {
    if let Some(data) = payload["data"].as_object_mut() {
        for member in ["document_url", "expires_in", "document_url_expires_in"] {
            data.remove(member);
        }
    }
    payload
}

fn remove(value: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    if let Some(object) = value.pointer_mut(parent).and_then(Value::as_object_mut) {
        object.remove(key);
    }
}

/// Compares one case's answer; `Err` says how it differs.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<(), String> {
    match answer {
        Ok(fetched) => {
            let mut ours = body(fetched);
            let mut recorded = without_document_members(case.payload.clone());
            if case.status != 200 {
                return Err(format!("answered 200, recorded {}", case.status));
            }
            let has_document = case.payload["data"].get("document_url").is_some();
            let pdf_attached = fetched.attachments.len() == 1 && fetched.attachments[0].bytes.starts_with(b"%PDF-");
            if has_document && !pdf_attached {
                return Err("no PDF attachment".into());
            }
            for (operation, file, pointer) in KNOWN_DIFFERENCES {
                if (*operation, *file) == (case.operation.as_str(), case.case.as_str()) {
                    if ours.pointer(pointer) == recorded.pointer(pointer) {
                        return Err(format!("{pointer} no longer differs"));
                    }
                    remove(&mut ours, pointer);
                    remove(&mut recorded, pointer);
                }
            }
            (ours == recorded).then_some(()).ok_or(format!("{ours:#}"))
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

/// Every official case, through the simulator: status, `data`, `links`, `meta` (errors:
/// code, title, detail, meta) equal the recorded payload's, but for the differences
/// listed above.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut per_operation: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for case in &cases {
        let resource = case.operation.split("_dgfip_").nth(1).unwrap();
        let params: Vec<(&str, &str)> = case.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let refused = INVALID_IDENTIFIERS
            .iter()
            .find(|(o, f, _)| (*o, *f) == (case.operation.as_str(), case.case.as_str()));
        let extras = match (extras(&provider, resource, &params), refused) {
            (Ok(extras), None) => extras,
            (Err(errors), Some((_, _, code))) if errors[0].code == *code => {
                // As the gateway would have, had it not checked the identifier.
                params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
            }
            (other, _) => {
                unexpected.push(format!("{} {}: parameters {other:?}", case.operation, case.case));
                continue;
            }
        };
        let day = case.today.unwrap_or_else(today);
        let answer = call(&provider, resource, case.version, &extras, day, (CALLER, REQUEST_ID)).await;
        match compare(case, &answer) {
            Ok(()) => *per_operation.entry(&case.operation).or_default() += 1,
            Err(why) => unexpected.push(format!("{} {}: {why}", case.operation, case.case)),
        }
    }
    for (operation, reproduced) in &per_operation {
        println!("{operation}: {reproduced} reproduced");
    }
    assert_eq!(cases.len(), 12);
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}

#[tokio::test]
async fn identifiers_and_years_are_checked_before_any_call() {
    let (simulator, provider) = start().await;
    let codes = |resource, params: &[(&str, &str)]| -> Vec<String> {
        extras(&provider, resource, params)
            .unwrap_err()
            .into_iter()
            .map(|e| e.code)
            .collect()
    };
    assert_eq!(codes("attestations_fiscales", &[("siren", "418166097")]), ["00301"]);
    assert_eq!(codes("chiffres_affaires", &[("siret", "13002526500001")]), ["00302"]);
    // Every refusal at once.
    assert_eq!(
        codes("liasses_fiscales", &[("siren", "12"), ("year", "22")]),
        ["00301", "00307"]
    );
    // 2006 up to last year: 2026 is not closed on the test's day.
    assert_eq!(
        codes("liens_capitalistiques", &[("siren", "552049447"), ("year", "2026")]),
        ["00315"]
    );
    assert_eq!(
        codes("liens_capitalistiques", &[("siren", "552049447"), ("year", "2005")]),
        ["00315"]
    );
    let kept = extras(
        &provider,
        "liasses_fiscales",
        &[("siren", "306138900"), ("year", "2006")],
    )
    .unwrap();
    assert_eq!(kept["year"], "2006");
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn the_caller_uid_and_the_request_id_must_be_uuids_and_are_forwarded() {
    let (simulator, provider) = start().await;
    let extras = extras(&provider, "attestations_fiscales", &[("siren", "418166096")]).unwrap();
    let not_uuid = call(
        &provider,
        "attestations_fiscales",
        3,
        &extras,
        today(),
        ("caller-1", REQUEST_ID),
    )
    .await
    .unwrap_err();
    assert_eq!((not_uuid.code.as_str(), not_uuid.status()), ("00308", 422));
    let bad_request = call(&provider, "attestations_fiscales", 3, &extras, today(), (CALLER, "abc"))
        .await
        .unwrap_err();
    assert_eq!((bad_request.code.as_str(), bad_request.status()), ("00401", 422));
    assert!(simulator.seen().is_empty(), "nothing was asked upstream");

    call(
        &provider,
        "attestations_fiscales",
        3,
        &extras,
        today(),
        (CALLER, REQUEST_ID),
    )
    .await
    .unwrap();
    let seen = simulator.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (
            seen[0].call.as_str(),
            seen[0].user_id.as_str(),
            seen[0].request_id.as_str()
        ),
        ("attestationFiscale", CALLER, REQUEST_ID)
    );
}

#[tokio::test]
async fn the_attestation_is_a_pdf_attachment_and_v4_adds_computed_dates() {
    let (_, provider) = start().await;
    let v3 = fetch(&provider, "attestations_fiscales", 3, &[("siren", "418166096")])
        .await
        .unwrap();
    assert_eq!(v3.data, json!({}));
    let document = &v3.attachments[0];
    assert_eq!(
        (document.url_member, document.expiry_member, document.file_name),
        ("document_url", "expires_in", "attestation_fiscale_dgfip.pdf")
    );
    assert_eq!(
        (document.content_type, document.lifetime_secs),
        ("application/pdf", 86_400)
    );
    assert!(document.bytes.starts_with(b"%PDF-"));
    assert!(document.bytes.len() > 100_000, "the whole document");

    let extras = extras(&provider, "attestations_fiscales", &[("siren", "418166096")]).unwrap();
    let new_year = NaiveDate::from_ymd_opt(2024, 1, 15).unwrap();
    let v4 = call(
        &provider,
        "attestations_fiscales",
        4,
        &extras,
        new_year,
        (CALLER, REQUEST_ID),
    )
    .await
    .unwrap();
    assert_eq!(
        v4.data,
        json!({"date_delivrance_attestation": "2024-01-15", "date_periode_analysee": "2023-12-31"})
    );
    assert_eq!(v4.attachments[0].expiry_member, "document_url_expires_in");
    let leap = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
    let v4 = call(
        &provider,
        "attestations_fiscales",
        4,
        &extras,
        leap,
        (CALLER, REQUEST_ID),
    )
    .await
    .unwrap();
    assert_eq!(v4.data["date_periode_analysee"], "2024-02-29");
}

#[tokio::test]
async fn a_refusal_page_or_an_unknown_company_is_a_404() {
    let (_, provider) = start().await;
    let refused = fetch(&provider, "attestations_fiscales", 4, &[("siren", "000000000")])
        .await
        .unwrap_err();
    assert_eq!((refused.code.as_str(), refused.status()), ("03003", 404));
    assert_eq!(
        error(&provider, "attestations_fiscales", &[("siren", "990000093")]).await,
        ("03003".into(), 404),
        "DGFIP's refusal page instead of an attestation"
    );
    assert_eq!(
        error(&provider, "chiffres_affaires", &[("siret", "00000000000000")]).await,
        ("03003".into(), 404)
    );
    assert_eq!(
        error(
            &provider,
            "liasses_fiscales",
            &[("siren", "552032534"), ("year", "2024")]
        )
        .await,
        ("03003".into(), 404)
    );
}

#[tokio::test]
async fn attestation_failures_have_their_codes() {
    let (_, provider) = start().await;
    let attestation = |siren| [("siren", siren)];
    assert_eq!(
        error(&provider, "attestations_fiscales", &attestation("990000010")).await,
        ("03011".into(), 502),
        "500 with erreur.code"
    );
    assert_eq!(
        error(&provider, "attestations_fiscales", &attestation("990000028")).await,
        ("03999".into(), 502),
        "not a PDF"
    );
    assert_eq!(
        error(&provider, "attestations_fiscales", &attestation("990000044")).await,
        ("03001".into(), 502),
        "503"
    );
}

#[tokio::test]
async fn a_slow_attestation_is_a_504_after_its_read_budget() {
    let (_, provider) = start_with(|base| Settings {
        attestation_timeout_ms: 1000,
        ..Settings::simulated(base)
    })
    .await;
    fetch(&provider, "attestations_fiscales", 3, &[("siren", "418166096")])
        .await
        .unwrap();
    let started = Instant::now();
    assert_eq!(
        error(&provider, "attestations_fiscales", &[("siren", "990000036")]).await,
        ("03002".into(), 504)
    );
    let waited = started.elapsed().as_millis();
    assert!((900..2500).contains(&waited), "waited {waited} ms");
}

#[tokio::test]
async fn chiffres_affaires_are_a_counted_collection() {
    let (_, provider) = start().await;
    let fetched = fetch(&provider, "chiffres_affaires", 3, &[("siret", "30613890000007")])
        .await
        .unwrap();
    assert_eq!(fetched.meta["count"], 3);
    assert_eq!(
        fetched.data[0],
        json!({"data": {"chiffre_affaires": 648374448, "date_fin_exercice": "2016-12-31"}, "links": {}, "meta": {}})
    );
    assert_eq!(fetched.data[2]["data"]["date_fin_exercice"], "2014-12-31");
    let siret = |s| [("siret", s)];
    assert_eq!(
        error(&provider, "chiffres_affaires", &siret("99000000200008")).await,
        ("03011".into(), 502)
    );
    assert_eq!(
        error(&provider, "chiffres_affaires", &siret("99000000200016")).await,
        ("03003".into(), 404)
    );
    assert_eq!(
        error(&provider, "chiffres_affaires", &siret("99000000200024")).await,
        ("03999".into(), 502)
    );
    assert_eq!(
        error(&provider, "chiffres_affaires", &siret("99000000200032")).await,
        ("03003".into(), 404)
    );
    assert_eq!(
        error(&provider, "chiffres_affaires", &siret("99000000200040")).await,
        ("03003".into(), 404),
        "an empty list"
    );
}

#[tokio::test]
async fn liasses_are_enriched_from_the_dictionary_and_repetitions_kept_in_place() {
    let (simulator, provider) = start().await;
    let params = [("siren", "130025265"), ("year", "2017")];
    let fetched = fetch(&provider, "liasses_fiscales", 3, &params).await.unwrap();
    assert_eq!(fetched.meta["internal_id_itip"], "100000101111");
    assert_eq!(
        fetched.data["obligations_fiscales"],
        json!([{"id": "100210511111", "code": "IS", "libelle": "Impôt sur les sociétés", "reference": "IS1", "regime": "RSI"}])
    );
    let first = &fetched.data["declarations"][0];
    assert_eq!(first["regime"], json!({"code": "RS", "libelle": "Réel simplifié"}));
    assert_eq!(first["duree_exercice"], 365);
    assert_eq!(
        first["donnees"][0],
        json!({"code_absolu": "1234567", "code_EDI": "XX:X123:4567:0:XXX", "code": "XX", "intitule": "Intitulé 1",
               "code_type_donnee": "XXX", "code_nref": "123456", "valeurs": ["1111"]})
    );
    // Not in the dictionary: the value alone.
    assert_eq!(first["donnees"][1], json!({"code_nref": "304331", "valeurs": ["2222"]}));
    let second = &fetched.data["declarations"][1];
    assert_eq!(
        second["donnees"][1],
        json!({"code_nref": "304814", "valeurs": ["JEAN DUPONT", "JACQUES DUPOND"]})
    );
    // The year's dictionary is asked once.
    fetch(&provider, "liasses_fiscales", 3, &params).await.unwrap();
    let dictionaries = simulator.seen().iter().filter(|s| s.call == "dictionnaire").count();
    assert_eq!(dictionaries, 1);
}

#[tokio::test]
async fn liasse_failures_have_their_codes() {
    let (_, provider) = start().await;
    let liasse = |siren| [("siren", siren), ("year", "2023")];
    assert_eq!(
        error(&provider, "liasses_fiscales", &liasse("990000051")).await,
        ("03000".into(), 502),
        "Adélie's error page"
    );
    assert_eq!(
        error(&provider, "liasses_fiscales", &liasse("990000069")).await,
        ("03001".into(), 502)
    );
    assert_eq!(
        error(&provider, "liasses_fiscales", &liasse("990000077")).await,
        ("03003".into(), 404),
        "no declarations"
    );
    assert_eq!(
        error(&provider, "liens_capitalistiques", &liasse("990000085")).await,
        ("03999".into(), 502),
        "cut JSON"
    );
}

#[tokio::test]
async fn liens_capitalistiques_read_forms_2059_f_and_g() {
    let (_, provider) = start().await;
    let fetched = fetch(
        &provider,
        "liens_capitalistiques",
        3,
        &[("siren", "130025265"), ("year", "2023")],
    )
    .await
    .unwrap();
    let capital = &fetched.data["capital"];
    let holders = capital["actionnaires"].as_array().unwrap();
    assert_eq!(holders.len(), 3, "one company, then two persons");
    assert_eq!(holders[0]["type"], "personne_morale");
    assert_eq!(holders[0]["pourcentage"], 51.0);
    assert_eq!(holders[0]["nombre_parts"], 510);
    assert_eq!(holders[0]["personne_morale_attributes"]["siren"], "110001013");
    assert_eq!(holders[0]["adresse"]["voie"], "RUE DE VARENNE");
    let person = &holders[2];
    assert_eq!(
        person["personne_physique_attributes"]["nom_patronymique_et_prenoms"],
        "MITTERRAND Francois"
    );
    assert_eq!(
        person["personne_physique_attributes"]["date_naissance"],
        json!({"annee": "1916", "mois": "10"})
    );
    assert_eq!(person["adresse"]["pays"], Value::Null, "no country on the second line");
    assert_eq!(
        capital["repartition"],
        json!({"personnes_physiques": {"total_actions": 490, "nombre": 2}, "personnes_morales": {"total_actions": 510, "nombre": 1}})
    );
    assert_eq!(fetched.data["participations"]["nombre_filiales"], 1);
    assert_eq!(
        fetched.data["participations"]["filiales"][0]["pourcentage_detention"],
        42.0
    );

    // A liasse without those forms: served as liasses, a 404 as liens.
    let without = [("siren", "130025265"), ("year", "2017")];
    fetch(&provider, "liasses_fiscales", 3, &without).await.unwrap();
    assert_eq!(
        error(&provider, "liens_capitalistiques", &without).await,
        ("03003".into(), 404)
    );
}

#[tokio::test]
async fn the_token_is_kept_then_renewed_when_refused() {
    let (simulator, provider) = start().await;
    fetch(&provider, "attestations_fiscales", 3, &[("siren", "418166096")])
        .await
        .unwrap();
    fetch(&provider, "chiffres_affaires", 3, &[("siret", "30613890000007")])
        .await
        .unwrap();
    assert_eq!(simulator.tokens_issued(), 1, "the token is kept between calls");
    simulator.revoke_tokens();
    let fetched = fetch(&provider, "chiffres_affaires", 3, &[("siret", "30613890000007")])
        .await
        .unwrap();
    assert_eq!(fetched.meta["count"], 3, "the refused call was replayed");
    assert_eq!(simulator.tokens_issued(), 2);
}

#[tokio::test]
async fn wrong_credentials_or_no_upstream_are_provider_errors() {
    let (_, provider) = start_with(|base| Settings {
        client_secret: "wrong".into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(
        error(&provider, "attestations_fiscales", &[("siren", "418166096")]).await,
        ("03006".into(), 502)
    );
    let down = DgfipProvider::new(Settings::simulated("http://127.0.0.1:9")).unwrap();
    assert_eq!(
        error(&down, "attestations_fiscales", &[("siren", "418166096")]).await,
        ("03001".into(), 502)
    );
}

#[tokio::test]
async fn the_ping_asks_adelie_for_its_health() {
    let (_, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    let down = DgfipProvider::new(Settings::simulated("http://127.0.0.1:9")).unwrap();
    assert!(matches!(down.ping().await, Health::Down(code) if code == "03001"));
}
