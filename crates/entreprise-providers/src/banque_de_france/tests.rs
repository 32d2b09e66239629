//! The provider against its simulator and the DGFIP simulator (for the dictionaries)
//! over loopback: the official sandbox cases, mutual TLS with and without the right
//! certificate, then each upstream behaviour the reference names.

use std::sync::Arc;
use std::time::Instant;

use passerelle_bouquet::{Endpoint, Fetched, Health, MaintenanceWindow, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, BanqueDeFranceProvider, Settings};
use crate::dgfip;
use crate::mtls::testing as mtls;
use crate::testing::{self, today, Case};

type Adelie = Arc<dgfip::simulator::Simulator>;

/// Both simulators on one loopback port, the provider pointed at them.
async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, Adelie, BanqueDeFranceProvider) {
    let bdf = Simulator::with_default_data();
    let adelie = dgfip::simulator::Simulator::with_default_data();
    let app = axum::Router::new()
        .nest("/banque_de_france", simulator::router(bdf.clone()))
        .nest("/dgfip", dgfip::simulator::router(adelie.clone()));
    let base = testing::serve(app).await;
    let provider = BanqueDeFranceProvider::new(
        settings(&format!("{base}/banque_de_france")),
        dgfip::Settings::simulated(&format!("{base}/dgfip")),
    )
    .unwrap();
    (bdf, adelie, provider)
}

async fn start() -> (Arc<Simulator>, Adelie, BanqueDeFranceProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "bilans_entreprise")
}

async fn fetch(provider: &BanqueDeFranceProvider, siren: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(), 3, &[("siren", siren)]).await
}

async fn code(provider: &BanqueDeFranceProvider, siren: &str) -> (String, u16) {
    testing::code_of(fetch(provider, siren).await, "Banque de France")
}

/// The SIREN under which the simulator keeps the failure `name`.
fn failing(name: &str) -> String {
    let data: Value = serde_json::from_str(include_str!("bilans.json")).unwrap();
    let answers = data["answers"].as_array().unwrap();
    let canned = answers.iter().find(|a| a["name"] == name).expect("a canned failure");
    canned["id"].as_str().unwrap().to_string()
}

/// A form line of an item: its donnee of `code_nref` in form `form`.
fn donnee<'a>(item: &'a Value, form: &str, code_nref: &str) -> &'a Value {
    let declarations = item["data"]["declarations"].as_array().unwrap();
    let declaration = declarations.iter().find(|d| d["numero_imprime"] == form).unwrap();
    let donnees = declaration["donnees"].as_array().unwrap();
    donnees.iter().find(|d| d["code_nref"] == code_nref).unwrap()
}

/// Members of the 200 case's item that the real mapping cannot give: the closing
/// month is `YYYY-MM` (the case writes `YYYYMM`), and the forms carry the Banque de
/// France's figures (the case shows one line of another form's dictionary).
const ITEM_DIFFERENCES: [&str; 2] = ["date_arrete_exercice", "declarations"];

/// The 200 case: every member equal but `ITEM_DIFFERENCES`, each of which must still
/// differ (so that the list cannot go stale).
fn compare_found(case: &Case, fetched: &Fetched) -> Result<(), String> {
    let mut ours = testing::body(fetched);
    let mut recorded = case.payload.clone();
    let items = |body: &mut Value| body["data"].as_array_mut().map(|list| list.len());
    if items(&mut ours) != items(&mut recorded) {
        return Err(format!("{ours:#}"));
    }
    for (mine, theirs) in ours["data"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .zip(recorded["data"].as_array_mut().unwrap())
    {
        for member in ITEM_DIFFERENCES {
            let (mine, theirs) = (
                mine["data"].as_object_mut().unwrap().remove(member),
                theirs["data"].as_object_mut().unwrap().remove(member),
            );
            if mine == theirs {
                return Err(format!("{member} no longer differs"));
            }
        }
    }
    (ours == recorded).then_some(()).ok_or(format!("{ours:#}"))
}

/// Both official cases: the 404 (`000000000`, no data) has the recorded status, title
/// and detail with our code `17003` (the sandbox shows `04003`); the 200 has the
/// recorded year, computed values, links and meta, and differs only by
/// `ITEM_DIFFERENCES`.
#[tokio::test]
async fn the_official_cases_through_the_simulators() {
    let (_, _, provider) = start().await;
    let cases = testing::cases(include_str!("cases.json"));
    assert_eq!(cases.len(), 2);
    for case in &cases {
        let answer = fetch(&provider, &case.params["siren"]).await;
        let verdict = match &answer {
            Ok(fetched) if case.status == 200 => compare_found(case, fetched),
            Ok(_) => Err("answered 200".into()),
            Err(error) => testing::error_differences(case, error, &["title", "detail", "meta"], &["code"]).map(|_| ()),
        };
        assert_eq!(verdict, Ok(()), "{}", case.case);
    }
}

/// Over mutual TLS: the test CA's client certificate opens the connection; without a
/// certificate, or with one of another CA, the handshake fails: `17001`.
#[tokio::test]
async fn mutual_tls_needs_the_gateways_certificate() {
    let base = mtls::serve(simulator::router(Simulator::with_default_data())).await;
    let adelie = testing::serve(dgfip::simulator::router(
        dgfip::simulator::Simulator::with_default_data(),
    ))
    .await;
    let with = |identity: Option<&str>| {
        let settings = Settings {
            tls: mtls::tls(identity),
            ..Settings::simulated(&base)
        };
        BanqueDeFranceProvider::new(settings, dgfip::Settings::simulated(&adelie)).unwrap()
    };
    let trusted = with(Some("client.pem"));
    assert_eq!(fetch(&trusted, "356000000").await.unwrap().meta["count"], 2);
    assert_eq!(trusted.ping().await, Health::Ok);
    for refused in [with(None), with(Some("stranger.pem"))] {
        assert_eq!(code(&refused, "356000000").await, ("17001".into(), 502));
        assert_eq!(refused.ping().await, Health::Down("17001".into()));
    }
}

/// The TLS files are keys of `[entreprise.banque_de_france]` itself; the window is on
/// unless said otherwise.
#[test]
fn the_tls_files_are_plain_settings_keys() {
    let settings: Settings = serde_json::from_value(json!({
        "base_url": "https://bdf.example/bilans",
        "client_cert": "/etc/passerelle/gateway.pem",
        "client_key": "/etc/passerelle/gateway.key",
        "ca_cert": "/etc/passerelle/bdf-ca.pem",
    }))
    .unwrap();
    let tls = passerelle_providers::http::TlsSettings {
        client_cert: Some("/etc/passerelle/gateway.pem".into()),
        client_key: Some("/etc/passerelle/gateway.key".into()),
        ca_cert: Some("/etc/passerelle/bdf-ca.pem".into()),
    };
    assert_eq!(settings.tls, tls);
    assert!(settings.maintenance_window);
    assert!(!Settings::simulated("http://x").maintenance_window);
}

#[test]
fn an_unreadable_certificate_stops_the_start() {
    let mut settings = Settings::simulated("https://127.0.0.1:1");
    settings.tls.client_cert = Some("/nonexistent/bdf.pem".into());
    assert!(BanqueDeFranceProvider::new(settings, dgfip::Settings::default()).is_err());
}

/// The recorded test answer: one item per bilan, thousands of euros as euros, the
/// misspelt "Emrunts" figure read, evolutions as numbers, the year's dictionary
/// describing its lines, the ratio as a percentage; the SIREN goes in the path with a
/// JSON content type.
#[tokio::test]
async fn the_recorded_answer_is_mapped() {
    let (bdf, _, provider) = start().await;
    let fetched = fetch(&provider, "356000000").await.unwrap();
    assert_eq!(fetched.meta["count"], 2);
    let first = &fetched.data[0];
    assert_eq!(first["data"]["annee"], "2021");
    assert_eq!(first["data"]["date_arrete_exercice"], "2021-12");
    let forms: Vec<&Value> = first["data"]["declarations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| &d["numero_imprime"])
        .collect();
    assert_eq!(forms, ["2051", "2052", "2053", "2057"]);
    assert_eq!(
        donnee(first, "2051", "300476"),
        &json!({
            "code_nref": "300476", "valeurs": ["15832000"], "evolution": 7.42,
            "code": "GG", "code_EDI": "XX:X123:2222:2:XXX", "code_absolu": "9876543",
            "code_type_donnee": "DXY", "intitule": "Réposé géant",
        })
    );
    assert_eq!(
        donnee(first, "2051", "300455"),
        &json!({"code_nref": "300455", "valeurs": ["45000"], "evolution": null})
    );
    assert_eq!(donnee(first, "2051", "300414")["evolution"], 0.0);
    assert_eq!(donnee(first, "2052", "300506")["valeurs"], json!(["12345000"]));
    assert_eq!(donnee(first, "2053", "300606")["evolution"], 52.91);
    assert_eq!(donnee(first, "2057", "301195")["evolution"], -23.0);
    let computed = &first["data"]["valeurs_calculees"][0];
    assert_eq!(
        computed["ratio_fonds_roulement_net_global_sur_besoin_en_fonds_de_roulement"],
        json!({"valeur": 101.26, "evolution": -0.54})
    );
    assert_eq!(
        computed["dettes4_maturite_a_un_an_au_plus"],
        json!({"valeur": "45000", "evolution": null})
    );
    assert_eq!(computed.as_object().unwrap().len(), 9);
    assert_eq!(fetched.data[1]["data"]["annee"], "2020");
    let seen = bdf.seen();
    assert_eq!(seen[0].siren, "356000000");
    assert_eq!(seen[0].content_type.as_deref(), Some("application/json"));
}

/// The recorded cassette (under the ping's SIREN): decimal commas are read, a "-"
/// ratio is null, negative figures stay negative; its 2017 bilan gets the 2017
/// dictionary.
#[tokio::test]
async fn commas_dashes_and_negative_figures() {
    let (_, _, provider) = start().await;
    let fetched = fetch(&provider, super::PING_SIREN).await.unwrap();
    let first = &fetched.data[0];
    assert_eq!(first["data"]["date_arrete_exercice"], "2017-12");
    let computed = &first["data"]["valeurs_calculees"][0];
    assert_eq!(
        computed["excedent_brut_exploitation"],
        json!({"valeur": "-987654000", "evolution": -8.9})
    );
    assert_eq!(
        computed["ratio_fonds_roulement_net_global_sur_besoin_en_fonds_de_roulement"],
        json!({"valeur": null, "evolution": null})
    );
    assert_eq!(donnee(first, "2052", "300506")["evolution"], -2.34);
    assert_eq!(donnee(first, "2051", "300438")["code"], "TT");
}

/// The service's "no data" (`code-retour` 204) and its 400 are `17003`, 404.
#[tokio::test]
async fn no_data_is_not_found() {
    let (_, adelie, provider) = start().await;
    assert_eq!(code(&provider, "000000000").await, ("17003".into(), 404));
    assert_eq!(code(&provider, "418166104").await, ("17003".into(), 404));
    assert_eq!(code(&provider, &failing("code 400")).await, ("17003".into(), 404));
    // Nothing to describe: DGFIP is not asked.
    assert!(adelie.seen().is_empty());
}

/// HTTP 408 and 500 and `code-retour` 500 are `17000`; any other status, a body that
/// is not the JSON expected, a 200 code without bilans or a figure that is not a number
/// are `17999`; the transport's statuses and redirects are theirs.
#[tokio::test]
async fn statuses_return_codes_and_garbage() {
    let (_, _, provider) = start().await;
    for (name, expected) in [
        ("server error", ("17000", 502)),
        ("request timeout", ("17000", 502)),
        ("code 500", ("17000", 502)),
        ("not found status", ("17999", 502)),
        ("html page", ("17999", 502)),
        ("cut short", ("17999", 502)),
        ("code 200 without bilans", ("17999", 502)),
        ("unreadable figure", ("17999", 502)),
        ("unavailable", ("17001", 502)),
        ("gateway timeout", ("17002", 504)),
        ("redirect", ("17000", 502)),
    ] {
        let (code, status) = code(&provider, &failing(name)).await;
        assert_eq!((code.as_str(), status), expected, "{name}");
    }
}

/// The correct spelling is read too, should the Banque de France fix its typo; a bilan
/// of undefined duration is kept, as the real gateway's dead filter keeps it.
#[tokio::test]
async fn the_corrected_spelling_and_undefined_durations() {
    let (_, _, provider) = start().await;
    let fetched = fetch(&provider, &failing("corrected spelling")).await.unwrap();
    assert_eq!(donnee(&fetched.data[0], "2051", "300455")["valeurs"], json!(["77000"]));
    let fetched = fetch(&provider, &failing("undefined duration")).await.unwrap();
    assert_eq!(fetched.meta["count"], 1);
}

/// The dictionaries are DGFIP's: each bilan year asked once, for the caller, and their
/// failures are DGFIP's errors on this route.
#[tokio::test]
async fn dictionary_failures_are_dgfip_errors() {
    let (_, adelie, provider) = start().await;
    fetch(&provider, "356000000").await.unwrap();
    fetch(&provider, "356000000").await.unwrap();
    let asked: Vec<_> = adelie.seen().into_iter().filter(|s| s.call == "dictionnaire").collect();
    // Two years, asked once each: the provider keeps them.
    assert_eq!(asked.len(), 2);
    assert_eq!(asked[0].user_id, testing::CALLER);
    assert_eq!(asked[0].request_id, testing::REQUEST_ID);
    let missing = fetch(&provider, &failing("year without dictionary")).await;
    assert_eq!(testing::code_of(missing, "DGFIP - Adélie"), ("03999".into(), 502));

    let base = testing::serve(simulator::router(Simulator::with_default_data())).await;
    let dgfip = dgfip::Settings::simulated(&testing::unreachable_base());
    let provider = BanqueDeFranceProvider::new(Settings::simulated(&base), dgfip).unwrap();
    let down = fetch(&provider, "356000000").await;
    assert_eq!(testing::code_of(down, "DGFIP - Adélie"), ("03001".into(), 502));
    // The ping asks the Banque de France only.
    assert_eq!(provider.ping().await, Health::Ok);
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, _, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    let started = Instant::now();
    assert_eq!(code(&provider, &failing("slow")).await, ("17002".into(), 504));
    assert!(started.elapsed().as_secs() < 5);
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, _, provider) = start_with(|base| Settings {
        max_body_bytes: 1_000,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "356000000").await, ("17999".into(), 502));
}

#[tokio::test]
async fn a_malformed_siren_is_refused_before_any_call() {
    let (bdf, _, provider) = start().await;
    for refused in ["356000001", "35600000", "abc"] {
        let errors = provider
            .parse_extras(endpoint(), &Query::from_pairs(&[("siren", refused)]), today())
            .unwrap_err();
        assert_eq!(errors[0].code, "00301", "{refused}");
    }
    assert!(bdf.seen().is_empty());
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let provider = BanqueDeFranceProvider::new(
        Settings::simulated(&testing::unreachable_base()),
        dgfip::Settings::default(),
    )
    .unwrap();
    assert_eq!(code(&provider, "356000000").await, ("17001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("17001".into()));
    let (bdf, _, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(bdf.seen()[0].siren, super::PING_SIREN);
}

/// The daily window it publishes, 22:04–22:08 Paris, which the gateway observes; none
/// for the simulator, which never closes.
#[tokio::test]
async fn it_publishes_its_daily_window_unless_simulated() {
    let (_, _, observed) = start_with(|base| Settings {
        maintenance_window: true,
        ..Settings::simulated(base)
    })
    .await;
    let window = MaintenanceWindow::daily(super::ID, "22:04", "22:08");
    assert_eq!(observed.maintenance_windows(), [window]);
    assert!(start().await.2.maintenance_windows().is_empty());
}

const RECORDED: &str = include_str!("bilans.json");

proptest::proptest! {
    /// The recorded answer cut anywhere: `17999`, never a panic nor a half answer.
    #[test]
    fn a_cut_answer_is_17999(cut in 0usize..100_000) {
        let data: Value = serde_json::from_str(RECORDED).unwrap();
        let whole = serde_json::to_vec(&data["companies"][1]["answer"]).unwrap();
        let cut = cut % whole.len();
        let failure = mapping::read(200, &whole[..cut]).err();
        proptest::prop_assert_eq!(failure.map(|f| f.into_error().code), Some("17999".to_string()));
    }
}
