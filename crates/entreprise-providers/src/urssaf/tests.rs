//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract names.

use std::collections::BTreeMap;
use std::sync::Arc;

use passerelle_bouquet::{Call, Endpoint, Extras, Fetched, Health, Provider};
use passerelle_core::{ApiError, Purpose, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{Settings, UrssafProvider};
use crate::testing::{self, body, cases, quickly, serve, today, Case, CALLER, REQUEST_ID};

const RECIPIENT: &str = "13002526500013";

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, UrssafProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, UrssafProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, UrssafProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "attestations_sociales")
}

fn extras(provider: &UrssafProvider, siren: &str) -> Result<Extras, Vec<ApiError>> {
    provider.parse_extras(endpoint(), &Query::from_pairs(&[("siren", siren)]), today())
}

async fn call(provider: &UrssafProvider, version: u8, extras: &Extras) -> Result<Fetched, ApiError> {
    let purpose = Purpose::from([("recipient".to_string(), RECIPIENT.to_string())]);
    let call = Call {
        endpoint: endpoint(),
        version,
        caller: CALLER,
        civility: None,
        extras,
        purpose: &purpose,
        request_id: REQUEST_ID,
        today: today(),
    };
    provider.fetch(&call).await
}

async fn fetch(provider: &UrssafProvider, version: u8, siren: &str) -> Result<Fetched, ApiError> {
    call(provider, version, &extras(provider, siren).expect("a valid SIREN")).await
}

async fn error(provider: &UrssafProvider, version: u8, siren: &str) -> ApiError {
    let e = fetch(provider, version, siren).await.unwrap_err();
    assert_eq!(e.meta["provider"], "ACOSS", "{e:?}");
    e
}

/// Cases whose SIREN fails its checksum: the real gateway refuses them (422) before
/// any call, and so do we; the replay then asks the simulator anyway, so that the data
/// behind them is still checked.
const INVALID_IDENTIFIERS: &[(&str, &str)] = &[(
    "api_entreprise_v4_acoss_attestations_sociales",
    "attestation_delivree.yaml",
)];

/// The recorded body minus the two document members the gateway writes itself.
fn without_document_members(mut payload: Value) -> Value {
    if let Some(data) = payload["data"].as_object_mut() {
        for member in ["document_url", "expires_in", "document_url_expires_in"] {
            data.remove(member);
        }
    }
    payload
}

fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<(), String> {
    match answer {
        Ok(fetched) => {
            if case.status != 200 {
                return Err(format!("answered 200, recorded {}", case.status));
            }
            let pdf_attached = fetched.attachments.len() == 1 && fetched.attachments[0].bytes.starts_with(b"%PDF-");
            if !pdf_attached {
                return Err("no PDF attachment".into());
            }
            let ours = without_document_members(body(fetched));
            let recorded = without_document_members(case.payload.clone());
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
/// code, title, detail, meta) equal the recorded payload's, document link and lifetime
/// aside.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut per_operation: BTreeMap<&str, usize> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for case in &cases {
        let siren = &case.params["siren"];
        let refused = INVALID_IDENTIFIERS.contains(&(case.operation.as_str(), case.case.as_str()));
        let extras = match (extras(&provider, siren), refused) {
            (Ok(extras), false) => extras,
            (Err(errors), true) if errors[0].code == "00301" => Extras::from([("siren".to_string(), siren.clone())]),
            (other, _) => {
                unexpected.push(format!("{} {}: parameters {other:?}", case.operation, case.case));
                continue;
            }
        };
        let answer = call(&provider, case.version, &extras).await;
        match compare(case, &answer) {
            Ok(()) => *per_operation.entry(&case.operation).or_default() += 1,
            Err(why) => unexpected.push(format!("{} {}: {why}", case.operation, case.case)),
        }
    }
    for (operation, reproduced) in &per_operation {
        println!("{operation}: {reproduced} reproduced");
    }
    assert_eq!(cases.len(), 3);
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}

#[tokio::test]
async fn the_siren_caller_and_recipient_go_to_urssaf_under_one_cached_token() {
    let (simulator, provider) = start().await;
    assert_eq!(extras(&provider, "418166097").unwrap_err()[0].code, "00301");
    fetch(&provider, 3, "418166096").await.unwrap();
    fetch(&provider, 4, "418166096").await.unwrap();
    let seen = simulator.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        (
            seen[0].siren.as_str(),
            seen[0].id_client.as_str(),
            seen[0].beneficiaire.as_str()
        ),
        ("418166096", CALLER, RECIPIENT)
    );
    assert_eq!(simulator.live_tokens(), 1);
}

#[tokio::test]
async fn a_refused_token_is_renewed_and_the_request_replayed_once() {
    let (simulator, provider) = start().await;
    fetch(&provider, 3, "418166096").await.unwrap();
    simulator.revoke_tokens();
    fetch(&provider, 3, "418166096").await.unwrap();
    assert_eq!(simulator.live_tokens(), 1);
    // The refused request is turned away before the simulator logs it: two served.
    assert_eq!(simulator.seen().len(), 2);
}

#[tokio::test]
async fn v3_links_the_pdf_and_v4_adds_what_the_pdf_says() {
    let (_, provider) = start().await;
    let v3 = fetch(&provider, 3, "999999105").await.unwrap();
    assert_eq!(v3.data, json!({}));
    let document = &v3.attachments[0];
    assert_eq!(
        (document.url_member, document.expiry_member, document.file_name),
        ("document_url", "expires_in", "attestation-vigilance-urssaf.pdf")
    );
    assert_eq!(
        (document.content_type, document.lifetime_secs),
        ("application/pdf", 86_400)
    );
    assert_eq!(document.bytes, include_bytes!("pdfs/hospital_bug_on_period.pdf"));

    let v4 = fetch(&provider, 4, "999999105").await.unwrap();
    assert_eq!(v4.attachments[0].expiry_member, "document_url_expires_in");
    assert_eq!(v4.data["date_debut_validite"], "2023-02-17");
    assert_eq!(v4.data["date_fin_validite"], "2023-08-31");
    assert_eq!(v4.data["code_securite"], "GG4U3QT3OJBWOKT");
    assert_eq!(v4.data["entity_status"]["code"], "ok");
    let members: Vec<&String> = v4.data.as_object().unwrap().keys().collect();
    assert_eq!(
        members,
        [
            "document_url",
            "document_url_expires_in",
            "date_debut_validite",
            "date_fin_validite",
            "code_securite",
            "entity_status"
        ]
    );

    let micro = fetch(&provider, 4, "999999121").await.unwrap();
    assert_eq!(
        (
            &micro.data["code_securite"],
            &micro.data["date_debut_validite"],
            &micro.data["date_fin_validite"]
        ),
        (&json!("KCT3ZDTCBLMHIEK"), &json!("2022-12-31"), &json!("2023-06-30"))
    );
}

#[tokio::test]
async fn an_unreadable_pdf_is_still_delivered_with_null_fields() {
    let (_, provider) = start().await;
    let v4 = fetch(&provider, 4, "999999139").await.unwrap();
    assert_eq!(v4.attachments.len(), 1);
    for member in ["date_debut_validite", "date_fin_validite", "code_securite"] {
        assert_eq!(v4.data[member], Value::Null, "{member}");
    }
    assert_eq!(v4.data["entity_status"]["code"], "ok");
}

#[tokio::test]
async fn the_refusal_is_04503_on_v3_and_a_200_without_document_on_v4() {
    let (_, provider) = start().await;
    let v3 = error(&provider, 3, "999999006").await;
    assert_eq!((v3.code.as_str(), v3.status()), ("04503", 502));
    assert_eq!(v3.meta["provider_errors"][0]["code"], "FUNC502");
    let v4 = fetch(&provider, 4, "999999006").await.unwrap();
    assert!(v4.attachments.is_empty());
    assert_eq!(v4.data["entity_status"]["code"], "refus_de_delivrance");
    assert_eq!(v4.data["document_url"], Value::Null);
    assert_eq!(v4.data["code_securite"], Value::Null);
}

/// Each failure case of the simulator: (SIREN, v3 code, v4 code, status).
const FAILURES: &[(&str, &str, &str, u16)] = &[
    ("999999014", "04501", "04501", 502),
    ("999999022", "04502", "04502", 502),
    ("999999030", "04008", "04008", 502),
    ("999999048", "04000", "04000", 502),
    ("999999055", "04999", "04999", 502),
    ("999999063", "04999", "04999", 502),
    ("999999071", "04000", "04000", 502),
    ("999999089", "04000", "04000", 502),
    ("999999097", "04051", "04999", 502),
    ("999999147", "04055", "04055", 502),
    ("999999162", "04001", "04001", 502),
    ("000000000", "04003", "04003", 404),
];

#[tokio::test]
async fn each_upstream_failure_gives_its_code() {
    let (_, provider) = start().await;
    for (siren, v3_code, v4_code, status) in FAILURES {
        for (version, code) in [(3, v3_code), (4, v4_code)] {
            let e = error(&provider, version, siren).await;
            assert_eq!(
                (e.code.as_str(), e.status()),
                (*code, *status),
                "{siren} v{version}: {e:?}"
            );
        }
    }
    let manual = error(&provider, 4, "999999014").await;
    assert_eq!(manual.meta["retry_in"], 172_800);
    assert_eq!(manual.meta["provider_errors"][0]["code"], "FUNC503");
    let unknown = error(&provider, 3, "999999055").await;
    assert_eq!(unknown.meta["provider_errors"][0]["code"], "FUNC599");
}

#[tokio::test]
async fn a_slow_answer_is_04002() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let e = quickly(error(&provider, 4, "999999154")).await;
    assert_eq!((e.code.as_str(), e.status()), ("04002", 504));
}

#[tokio::test]
async fn a_body_over_the_cap_is_04999() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 10_000,
        ..Settings::simulated(base)
    })
    .await;
    let e = error(&provider, 3, "418166096").await;
    assert_eq!((e.code.as_str(), e.status()), ("04999", 502));
}

#[tokio::test]
async fn refused_credentials_and_an_unreachable_service() {
    let (_, provider) = start_with(|base| Settings {
        client_secret: "wrong".into(),
        ..Settings::simulated(base)
    })
    .await;
    let e = error(&provider, 3, "418166096").await;
    assert_eq!((e.code.as_str(), e.status()), ("04006", 502));
    assert!(matches!(provider.ping().await, Health::Down(code) if code == "04006"));

    let base = crate::testing::unreachable_base();
    let provider = UrssafProvider::new(Settings::simulated(&base)).unwrap();
    let e = error(&provider, 3, "418166096").await;
    assert_eq!((e.code.as_str(), e.status()), ("04001", 502));
}

#[tokio::test]
async fn the_ping_asks_for_a_token() {
    let (_, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
}

/// The benchmark's document: a PDF of about 100 KB whose cross-reference table points
/// at each object, the same at every start, that v4 reads; any SIREN of the prefix
/// gets it, other unknown ones still get `FUNC517`.
#[tokio::test]
async fn sirens_of_the_large_prefix_get_the_large_attestation() {
    let large = simulator::large_attestation();
    assert!((95_000..110_000).contains(&large.len()), "{} bytes", large.len());
    assert_eq!(large, simulator::large_attestation());
    let at = large.windows(9).rposition(|w| w == b"startxref").unwrap();
    let tail = std::str::from_utf8(&large[at..]).unwrap();
    let xref: usize = tail.lines().nth(1).unwrap().parse().unwrap();
    let table: Vec<&str> = std::str::from_utf8(&large[xref..at])
        .unwrap()
        .lines()
        .skip(3)
        .take(8)
        .collect();
    for (number, entry) in (1..).zip(table) {
        let offset: usize = entry[..10].parse().unwrap();
        assert!(
            large[offset..].starts_with(format!("{number} 0 obj\n").as_bytes()),
            "object {number}"
        );
    }

    let (_, provider) = start().await;
    for siren in ["998000004", "998123459", "998999999"] {
        let v4 = fetch(&provider, 4, siren).await.unwrap();
        assert_eq!(v4.attachments[0].bytes, large);
        assert_eq!(v4.data["code_securite"], "BNCH100KB7Q4XZ2");
        assert_eq!(v4.data["date_debut_validite"], "2023-01-31");
    }
    assert_eq!(error(&provider, 4, "997000005").await.code, "04003");
}
