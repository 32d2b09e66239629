//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the reference names, the two accounts, and
//! the deferred downloads.

use std::sync::Arc;

use passerelle_bouquet::{Deferred, Endpoint, Fetched, Health, Provider};
use passerelle_core::ApiError;
use serde_json::{json, Value};

use super::simulator::{self, Seen, Simulator};
use super::{mapping, InpiRneProvider, Settings};
use crate::testing::{self, today, Case};

const DATA: &str = include_str!("rne.json");
/// The companies of the official cases.
const CASE_COMPANY: &str = "552049447";
const CASE_ATTACHMENTS: &str = "130025265";

async fn serve(simulator: Arc<Simulator>, settings: impl Fn(&str) -> Settings) -> InpiRneProvider {
    let base = testing::serve(simulator::router(simulator)).await;
    InpiRneProvider::new(settings(&base)).unwrap()
}

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, InpiRneProvider) {
    let simulator = Simulator::with_default_data();
    (simulator.clone(), serve(simulator, settings).await)
}

async fn start() -> (Arc<Simulator>, InpiRneProvider) {
    start_with(Settings::simulated).await
}

fn endpoint(resource: &str) -> &'static Endpoint {
    testing::endpoint(super::ID, resource)
}

async fn fetch(provider: &InpiRneProvider, resource: &str, siren: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(resource), 3, &[("siren", siren)]).await
}

async fn code(provider: &InpiRneProvider, resource: &str, siren: &str) -> (String, u16) {
    testing::code_of(fetch(provider, resource, siren).await, "INPI - RNE")
}

async fn download_code(provider: &InpiRneProvider, target: &str) -> (String, u16) {
    let error = provider.download(target, today()).await.unwrap_err();
    (error.code.clone(), error.status())
}

/// The identifier under which the simulator keeps the failure `name`.
fn failing(name: &str) -> String {
    testing::canned(DATA, name, "id")
}

/// The SIREN under which the simulator keeps the recorded fixture `name`.
fn fixture(list: &str, name: &str) -> String {
    let data: Value = serde_json::from_str(DATA).unwrap();
    let found = data[list].as_array().unwrap().iter().find(|c| c["name"] == name);
    found.expect("a recorded fixture")["siren"]
        .as_str()
        .unwrap()
        .to_string()
}

fn logins(simulator: &Simulator) -> Vec<String> {
    let seen = simulator.seen().into_iter();
    seen.filter_map(|s| match s {
        Seen::Login(account) => Some(account),
        Seen::Data { .. } => None,
    })
    .collect()
}

fn data_accounts(simulator: &Simulator) -> Vec<String> {
    let seen = simulator.seen().into_iter();
    seen.filter_map(|s| match s {
        Seen::Data { account, .. } => Some(account),
        Seen::Login(_) => None,
    })
    .collect()
}

/// The actes' and bilans' `url`s set to null, as our mapping leaves them for the gateway.
fn urls_aside(mut data: Value) -> Value {
    for kind in ["actes", "bilans"] {
        for item in data[kind].as_array_mut().into_iter().flatten() {
            item["url"] = Value::Null;
        }
    }
    data
}

fn case_verdict(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    let operation = case.operation.trim_start_matches("api_entreprise_v3_inpi_rne_");
    match (operation, case.status, answer) {
        ("actes_bilans", 200, Ok(fetched)) => {
            let expected = urls_aside(case.payload["data"].clone());
            let links = fetched.deferred.len() == 4 && fetched.deferred[0].url_pointer == "/actes/0/url";
            (fetched.data == expected && links && fetched.meta.is_empty())
                .then_some(true)
                .ok_or(format!("{:#}", fetched.data))
        }
        // Exactly, but for the link the gateway writes.
        ("extrait_rne", 200, Ok(fetched)) => {
            let mut expected = case.payload["data"].clone();
            expected["document_url"] = Value::Null;
            (fetched.deferred == [extrait_link(CASE_COMPANY)] && fetched.data == expected)
                .then_some(true)
                .ok_or(format!("{:#}", fetched.data))
        }
        // The recorded 404 carries another provider's code (`07003`, "INPI") and detail.
        ("extrait_rne", 404, Err(error)) => {
            testing::error_differences(case, error, &["title"], &["code", "detail", "meta"])
        }
        _ => {
            let (status, body) = testing::rendered(answer);
            (status == case.status && body == case.payload)
                .then_some(true)
                .ok_or(format!("{status} {body:#}"))
        }
    }
}

/// Every official case through the simulator: the actes et bilans and bénéficiaires
/// effectifs cases and the extrait's 200 exactly (URLs aside: ours are the gateway's
/// links), the extrait's 404 with the recorded code's difference.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = testing::cases(include_str!("cases.json"));
    let mut verdicts = Vec::new();
    for case in &cases {
        let resource = case.operation.trim_start_matches("api_entreprise_v3_inpi_rne_");
        let answer = fetch(&provider, resource, &case.params["siren"]).await;
        verdicts.push((case, case_verdict(case, &answer)));
    }
    assert_eq!((testing::exact_count(&verdicts), cases.len()), (5, 6));
}

fn extrait_link(siren: &str) -> Deferred {
    Deferred {
        url_pointer: "/document_url".into(),
        target: format!("extrait:{siren}"),
        lifetime_secs: 3600,
    }
}

#[tokio::test]
async fn the_bearer_and_content_type_go_with_each_data_call() {
    let (simulator, provider) = start().await;
    fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    fetch(&provider, "actes_bilans", CASE_ATTACHMENTS).await.unwrap();
    let paths: Vec<String> = simulator
        .seen()
        .into_iter()
        .filter_map(|s| match s {
            Seen::Data { path, .. } => Some(path),
            Seen::Login(_) => None,
        })
        .collect();
    assert_eq!(
        paths,
        [
            format!("/api/companies/{CASE_COMPANY}"),
            format!("/api/companies/{CASE_ATTACHMENTS}/attachments")
        ]
    );
}

#[tokio::test]
async fn beneficial_owners_without_modalites_are_listed_in_meta() {
    let (_, provider) = start().await;
    let siren = fixture("companies", "beneficiaires_effectifs/without_modalite.json");
    let fetched = fetch(&provider, "beneficiaires_effectifs", &siren).await.unwrap();
    assert_eq!(fetched.data.as_array().unwrap().len(), 1);
    assert_eq!(
        Value::from(fetched.meta),
        json!({"count": 1, "beneficiaires_sans_modalites_uuids": [
            "0060d057-a55a-4224-adfa-80151879b833", "cf9642b0-2f99-4941-a142-246d9eb7235a"
        ]})
    );
    assert_eq!(
        fetched.data[0]["data"]["beneficiaire_uuid"],
        "21120ee0-d42b-44f6-a462-d3724cf6aeaf"
    );
}

/// The recorded owner without `descriptionPersonne`: nulls, not a failure; the other
/// one's names upper-cased, its birth month split.
#[tokio::test]
async fn a_beneficial_owner_without_description_has_nulls() {
    let (_, provider) = start().await;
    let siren = fixture("companies", "beneficiaires_effectifs/without_description_personne.json");
    let fetched = fetch(&provider, "beneficiaires_effectifs", &siren).await.unwrap();
    let first = &fetched.data[0]["data"];
    assert_eq!(
        (&first["nom"], &first["prenoms"], &first["date_naissance"]),
        (&Value::Null, &Value::Null, &json!({"annee": null, "mois": null}))
    );
    assert!(first["modalites"]["detention_de_capital"]["parts_totale"].is_number());
    let second = &fetched.data[1]["data"];
    assert!(second["nom"].as_str().unwrap().chars().all(|c| !c.is_lowercase()));
    assert_eq!(second["date_naissance"]["annee"].as_str().unwrap().len(), 4);
}

#[tokio::test]
async fn units_without_beneficial_owners_are_not_found() {
    let (_, provider) = start().await;
    for name in [
        "beneficiaires_effectifs/entrepreneur-individuel.json",
        "beneficiaires_effectifs/nor_personne_morale_nor_personne_physique.json",
        "beneficiaires_effectifs/without-beneficiaires-effectifs.json",
    ] {
        let siren = fixture("companies", name);
        assert_eq!(
            code(&provider, "beneficiaires_effectifs", &siren).await,
            ("34003".into(), 404),
            "{name}"
        );
    }
}

#[tokio::test]
async fn deleted_actes_are_dropped_and_kinds_labelled() {
    let (_, provider) = start().await;
    let deleted = fetch(
        &provider,
        "actes_bilans",
        &fixture("attachments", "actes_bilans/actes_deleted.json"),
    )
    .await
    .unwrap();
    let recorded: Value = serde_json::from_str(DATA).unwrap();
    let raw = recorded["attachments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "actes_bilans/actes_deleted.json")
        .unwrap();
    let kept = raw["attachments"]["actes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["deleted"] != true)
        .count();
    assert!(kept < raw["attachments"]["actes"].as_array().unwrap().len());
    assert_eq!(deleted.data["actes"].as_array().unwrap().len(), kept);

    let valid = fetch(
        &provider,
        "actes_bilans",
        &fixture("attachments", "actes_bilans/valid.json"),
    )
    .await
    .unwrap();
    let acte = &valid.data["actes"][0];
    assert_eq!(acte["date_mise_a_jour"], "2024-06-07");
    assert_eq!(
        acte["types_actes"],
        json!([
            {"type_acte": "Statuts mis à jour"},
            {"type_acte": "Décision(s) de l'associé unique", "type_decision": "Modification(s) statutaire(s)"}
        ])
    );
    assert_eq!(valid.data["bilans"][0]["type"], "bilan complet");
    assert_eq!(
        valid
            .deferred
            .iter()
            .map(|d| (d.url_pointer.as_str(), d.target.as_str()))
            .collect::<Vec<_>>(),
        [
            ("/actes/0/url", "actes:63e7e2e3998acaecf81b485e"),
            ("/actes/1/url", "actes:777d907f011c33736a087261"),
            ("/bilans/0/url", "bilans:999999d56fcc04967005a999")
        ]
    );
    let without = fetch(
        &provider,
        "actes_bilans",
        &fixture("attachments", "actes_bilans/without_bilans.json"),
    )
    .await
    .unwrap();
    assert_eq!(without.data["bilans"], json!([]));
}

#[tokio::test]
async fn company_failures_map_to_their_codes() {
    let (_, provider) = start().await;
    let expected = [
        ("not json", "34001", 502),
        ("rate limited", "34008", 502),
        ("server error", "34999", 502),
        ("teapot", "34999", 502),
        ("unavailable", "34001", 502),
        ("gateway timeout", "34002", 504),
        ("redirect", "34000", 502),
        ("not a company", "34999", 502),
    ];
    for (name, wanted, status) in expected {
        let answer = code(&provider, "beneficiaires_effectifs", &failing(name)).await;
        assert_eq!(answer, (wanted.into(), status), "{name}");
        // A company the extrait's mapping cannot follow is that mapping's to judge.
        if name != "not a company" {
            assert_eq!(code(&provider, "extrait_rne", &failing(name)).await.0, wanted, "{name}");
        }
    }
    assert_eq!(code(&provider, "extrait_rne", "754508695").await, ("34003".into(), 404));
}

#[tokio::test]
async fn attachment_failures_map_to_their_codes() {
    let (_, provider) = start().await;
    let expected = [
        ("empty object", "34003", 404),
        ("no documents", "34999", 502),
        ("server error", "34000", 502),
        ("rate limited", "34008", 502),
        ("teapot", "34999", 502),
        ("not json", "34999", 502),
        ("bad acte", "34999", 502),
        ("unavailable", "34001", 502),
    ];
    for (name, wanted, status) in expected {
        assert_eq!(
            code(&provider, "actes_bilans", &failing(name)).await,
            (wanted.into(), status),
            "{name}"
        );
    }
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout_and_a_big_one_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let answer = testing::quickly(code(&provider, "beneficiaires_effectifs", &failing("slow"))).await;
    assert_eq!(answer, ("34002".into(), 504));
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 2000,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(
        code(&provider, "beneficiaires_effectifs", CASE_COMPANY).await,
        ("34999".into(), 502)
    );
}

/// Calls take the two accounts in turn, each logging in once and keeping its token.
#[tokio::test]
async fn the_accounts_take_turns_and_keep_their_tokens() {
    let (simulator, provider) = start().await;
    for _ in 0..4 {
        fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    }
    assert_eq!(logins(&simulator), [simulator::USERNAME, simulator::FALLBACK_USERNAME]);
    assert_eq!(
        data_accounts(&simulator),
        [
            simulator::USERNAME,
            simulator::FALLBACK_USERNAME,
            simulator::USERNAME,
            simulator::FALLBACK_USERNAME
        ]
    );
}

#[tokio::test]
async fn without_fallback_the_primary_account_serves_alone() {
    let (simulator, provider) = start_with(|base| Settings {
        fallback_username: String::new(),
        fallback_password: String::new(),
        ..Settings::simulated(base)
    })
    .await;
    for _ in 0..3 {
        fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    }
    assert_eq!(logins(&simulator), [simulator::USERNAME]);
    simulator.refuse(simulator::USERNAME);
    simulator.revoke_tokens();
    assert_eq!(
        code(&provider, "beneficiaires_effectifs", CASE_COMPANY).await,
        ("34999".into(), 502)
    );
    assert_eq!(
        code(&provider, "beneficiaires_effectifs", CASE_COMPANY).await,
        ("34020".into(), 503)
    );
}

#[tokio::test]
async fn an_expiring_token_is_renewed() {
    let simulator = Simulator::with_token_lifetime(11);
    let provider = serve(simulator.clone(), Settings::simulated).await;
    fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    assert_eq!(logins(&simulator).len(), 3);
}

/// A refused account: the call goes to the other one, and the refused account is set
/// aside (not tried again) while its pause lasts.
#[tokio::test]
async fn a_refused_account_hands_over_to_the_other_and_is_set_aside() {
    let (simulator, provider) = start().await;
    simulator.refuse(simulator::USERNAME);
    for _ in 0..3 {
        fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    }
    assert_eq!(logins(&simulator), [simulator::USERNAME, simulator::FALLBACK_USERNAME]);
    assert_eq!(data_accounts(&simulator), [simulator::FALLBACK_USERNAME; 3]);
}

/// Both accounts refused: `34020` 503, and while the pause lasts nothing is tried even
/// once INPI accepts them again; with no pause, the next call logs in.
#[tokio::test]
async fn both_accounts_refused_is_a_maintenance_for_the_pause() {
    let (simulator, provider) = start().await;
    simulator.refuse(simulator::USERNAME);
    simulator.refuse(simulator::FALLBACK_USERNAME);
    assert_eq!(
        code(&provider, "beneficiaires_effectifs", CASE_COMPANY).await,
        ("34020".into(), 503)
    );
    simulator.accept_all();
    assert_eq!(
        code(&provider, "actes_bilans", CASE_ATTACHMENTS).await,
        ("34020".into(), 503)
    );
    assert_eq!(logins(&simulator).len(), 2);

    let (simulator, provider) = start_with(|base| Settings {
        refused_account_pause_secs: 0,
        ..Settings::simulated(base)
    })
    .await;
    simulator.refuse(simulator::USERNAME);
    simulator.refuse(simulator::FALLBACK_USERNAME);
    assert_eq!(
        code(&provider, "extrait_rne", CASE_COMPANY).await,
        ("34020".into(), 503)
    );
    simulator.accept_all();
    fetch(&provider, "extrait_rne", CASE_COMPANY).await.unwrap();
}

/// A login answer without a token (here a 405 with no body) is `34999`, not a refusal.
#[tokio::test]
async fn a_login_without_token_is_unknown() {
    let (simulator, provider) = start_with(|base| Settings {
        login_url: format!("{base}/api/companies/{CASE_COMPANY}"),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(
        code(&provider, "beneficiaires_effectifs", CASE_COMPANY).await,
        ("34999".into(), 502)
    );
    assert!(simulator.seen().is_empty());
}

/// A token INPI no longer knows: this call fails (nothing is retried), the account's
/// next call logs in again.
#[tokio::test]
async fn a_refused_token_is_forgotten() {
    let (simulator, provider) = start_with(|base| Settings {
        fallback_username: simulator::USERNAME.into(),
        fallback_password: simulator::PASSWORD.into(),
        ..Settings::simulated(base)
    })
    .await;
    fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    simulator.revoke_tokens();
    assert_eq!(
        code(&provider, "beneficiaires_effectifs", CASE_COMPANY).await,
        ("34999".into(), 502)
    );
    assert_eq!(
        code(&provider, "beneficiaires_effectifs", CASE_COMPANY).await,
        ("34999".into(), 502)
    );
    fetch(&provider, "beneficiaires_effectifs", CASE_COMPANY).await.unwrap();
    assert_eq!(logins(&simulator).len(), 3);
}

#[tokio::test]
async fn the_extrait_links_its_pdf() {
    let (_, provider) = start().await;
    let fetched = fetch(&provider, "extrait_rne", CASE_COMPANY).await.unwrap();
    assert_eq!(fetched.deferred, [extrait_link(CASE_COMPANY)]);
    assert!(fetched.data.as_object().unwrap().contains_key("document_url"));
    assert_eq!(code(&provider, "extrait_rne", "813914819").await, ("34003".into(), 404));
}

fn the_attachment(fetched: &Fetched) -> &passerelle_bouquet::Attachment {
    assert_eq!((fetched.data.clone(), fetched.attachments.len()), (json!({}), 1));
    &fetched.attachments[0]
}

#[tokio::test]
async fn downloads_give_the_pdf_of_each_kind() {
    let (simulator, provider) = start().await;
    let listed = fetch(&provider, "actes_bilans", CASE_ATTACHMENTS).await.unwrap();
    let mut names = Vec::new();
    for link in &listed.deferred[..2] {
        let fetched = provider.download(&link.target, today()).await.unwrap();
        let attachment = the_attachment(&fetched);
        let id = link.target.split_once(':').unwrap().1;
        assert!(crate::pdf::is_pdf(&attachment.bytes));
        assert!(attachment.bytes.windows(id.len()).any(|w| w == id.as_bytes()));
        assert_eq!(
            (
                attachment.url_member,
                attachment.expiry_member,
                attachment.content_type,
                attachment.lifetime_secs
            ),
            ("document_url", "expires_in", "application/pdf", 86_400)
        );
        names.push(attachment.file_name);
    }
    let extrait = provider
        .download(&format!("extrait:{CASE_COMPANY}"), today())
        .await
        .unwrap();
    names.push(the_attachment(&extrait).file_name);
    assert_eq!(
        names,
        [
            "actes_download_inpi.pdf",
            "bilans_download_inpi.pdf",
            "extrait_rne_download_inpi.pdf"
        ]
    );
    let last = simulator.seen().pop().unwrap();
    let expected = format!("{}?ids=[\"{CASE_COMPANY}\"]", simulator::EXPORT_PATH);
    assert!(matches!(last, Seen::Data { path, .. } if path == expected));
}

#[tokio::test]
async fn download_targets_are_checked_before_any_call() {
    let (simulator, provider) = start().await;
    for bad in [
        "actes:65419234A1F7D1F2BA09BD8C",
        "bilans:65419234a1f7d1f2ba09bd8",
        "actes:../../x",
    ] {
        let error = provider.download(bad, today()).await.unwrap_err();
        assert_eq!((error.code.as_str(), error.status()), ("00501", 422), "{bad}");
    }
    assert_eq!(
        download_code(&provider, "extrait:552049448").await,
        ("00301".into(), 422)
    );
    assert_eq!(
        download_code(&provider, "brevets:552049447").await,
        ("00500".into(), 500)
    );
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn download_failures_map_to_their_codes() {
    let (_, provider) = start().await;
    let expected = [
        ("document not pdf", "34055", 502),
        ("document forbidden", "34001", 502),
        ("document gone", "34003", 404),
        ("document rate limited", "34008", 502),
        ("document server error", "34999", 502),
        ("document unavailable", "34001", 502),
    ];
    for (name, wanted, status) in expected {
        let target = format!("bilans:{}", failing(name));
        assert_eq!(
            download_code(&provider, &target).await,
            (wanted.into(), status),
            "{name}"
        );
    }
    let unknown = "actes:0123456789abcdef01234567";
    assert_eq!(download_code(&provider, unknown).await, ("34003".into(), 404));
    assert_eq!(
        download_code(&provider, "extrait:813914819").await,
        ("34003".into(), 404)
    );
    assert_eq!(
        download_code(&provider, &format!("extrait:{}", failing("rate limited"))).await,
        ("34008".into(), 502)
    );
}

#[tokio::test]
async fn the_ping_asks_for_a_known_company_with_its_own_account() {
    let (_, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    let (simulator, provider) = start_with(|base| Settings {
        ping_username: simulator::FALLBACK_USERNAME.into(),
        ping_password: simulator::FALLBACK_PASSWORD.into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(logins(&simulator), [simulator::FALLBACK_USERNAME]);
    let provider = InpiRneProvider::new(Settings::simulated(&testing::unreachable_base())).unwrap();
    assert_eq!(provider.ping().await, Health::Down("34001".into()));
}

fn recorded_owners() -> Value {
    let data: Value = serde_json::from_str(DATA).unwrap();
    data["companies"][0]["company"].clone()
}

proptest::proptest! {
    /// A company whose members have the wrong type, anywhere in an owner: `34999`
    /// (or a valid answer when the member is not read), never a panic.
    #[test]
    fn odd_owners_never_panic(pick in 0usize..6, owner in 0usize..2) {
        let mut company = recorded_owners();
        let odd = [json!(12), json!("x"), json!([]), json!({}), json!(true), Value::Null][pick].clone();
        let at = format!("/formality/content/personneMorale/beneficiairesEffectifs/{owner}");
        let target = company.pointer_mut(&at).unwrap();
        target["beneficiaire"]["descriptionPersonne"]["prenoms"] = odd.clone();
        target["modalite"]["detentionPartTotale"] = odd;
        match mapping::beneficiaires(&company) {
            Ok(fetched) => proptest::prop_assert!(fetched.data.is_array()),
            Err(failure) => proptest::prop_assert_eq!(failure.into_error().code, "34999"),
        }
    }
}
