//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::sync::Arc;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, CarifOrefProvider, Settings};
use crate::testing::{
    self, body, cases, code_of, compare_error_differences, exact_count, quickly, serve, today, unreachable_base, Case,
};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, CarifOrefProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, CarifOrefProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, CarifOrefProvider) {
    start_with(Settings::simulated).await
}

fn endpoint() -> &'static Endpoint {
    testing::endpoint(super::ID, "certifications_qualiopi_france_competences")
}

async fn fetch(provider: &CarifOrefProvider, siret: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(), 3, &[("siret", siret)]).await
}

async fn code(provider: &CarifOrefProvider, siret: &str) -> (String, u16) {
    code_of(fetch(provider, siret).await, "CARIF-OREF")
}

/// `Ok(true)` when exact, `Ok(false)` when the error differs only by its code: the 404
/// case carries `36003`, a prefix that is not CARIF-OREF's (`33`); status, title,
/// detail and provider agree.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    compare_error_differences(case, answer, &["title", "detail", "meta"], &["code"])
}

/// Both official cases, through the simulator: 1 exact of 2 (the 404 differs by its
/// code only, as documented above).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut verdicts = Vec::new();
    for case in &cases {
        verdicts.push((case, compare(case, &fetch(&provider, &case.params["siret"]).await)));
    }
    assert_eq!((exact_count(&verdicts), cases.len()), (1, 2));
}

/// The recorded answer, mapped whole; the token and the JSON headers go out.
#[tokio::test]
async fn the_recorded_record_maps_to_the_contract() {
    let (simulator, provider) = start().await;
    let fetched = fetch(&provider, "81841109200013").await.unwrap();
    assert_eq!(
        body(&fetched),
        json!({"data": {"siret": "81841109200013", "code_uai": null, "unite_legale_avec_plusieurs_nda": false,
            "declarations_activites_etablissement": [{"numero_de_declaration": "23456765341", "actif": true,
                "date_derniere_declaration": "2021-01-01", "date_debut_exercice": "2022-01-01",
                "date_fin_exercice": "2022-12-31",
                "certification_qualiopi": {"action_formation": false, "bilan_competences": false,
                    "validation_acquis_experience": false, "apprentissage": false,
                    "obtention_via_unite_legale": false},
                "specialites": {"specialite_1": {"code": "313", "libelle": "Finances, banque, assurances"},
                    "specialite_2": {"code": "326",
                        "libelle": "Informatique, traitement de l'information, réseaux de transmission des données"},
                    "specialite_3": {"code": null, "libelle": null}}}],
            "habilitations_france_competence": []}, "links": {}, "meta": {}})
    );
    let seen = simulator.seen();
    assert_eq!(seen[0].siret, "81841109200013");
    assert_eq!(seen[0].accept.as_deref(), Some("application/json"));
}

/// A habilitation marked `Supprimé` is not given out; a day-first date is rewritten;
/// an `obtention_qualiopi` that says neither way is null.
#[tokio::test]
async fn deleted_habilitations_are_dropped_and_dates_normalised() {
    let (_, provider) = start().await;
    let data = fetch(&provider, "99999000000013").await.unwrap().data;
    let habilitations = data["habilitations_france_competence"].as_array().unwrap();
    assert_eq!(habilitations.len(), 1);
    assert_eq!(habilitations[0]["code"], "RNCP09001");
    assert_eq!(habilitations[0]["date_fin_enregistrement"], "2024-01-01");
    let qualiopi = &data["declarations_activites_etablissement"][0]["certification_qualiopi"];
    assert_eq!(qualiopi["obtention_via_unite_legale"], Value::Null);
}

#[tokio::test]
async fn a_malformed_siret_is_refused_before_any_call() {
    let (simulator, provider) = start().await;
    for refused in ["81841109200014", "8184110920001", "abc"] {
        let errors = provider
            .parse_extras(endpoint(), &Query::from_pairs(&[("siret", refused)]), today())
            .unwrap_err();
        assert_eq!(errors[0].code, "00302", "{refused}");
    }
    assert!(simulator.seen().is_empty());
}

/// Quiforme's "no data" (a 200 with every member null) and a 404 are not found.
#[tokio::test]
async fn no_data_and_404_are_not_found() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "13002526500013").await, ("33003".into(), 404));
    assert_eq!(code(&provider, "99999000000104").await, ("33003".into(), 404));
}

#[tokio::test]
async fn statuses_redirects_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    assert_eq!(code(&provider, "99999000000112").await, ("33999".into(), 502));
    assert_eq!(code(&provider, "99999000000120").await, ("33001".into(), 502));
    assert_eq!(code(&provider, "99999000000138").await, ("33002".into(), 504));
    assert_eq!(code(&provider, "99999000000146").await, ("33000".into(), 502));
    assert_eq!(code(&provider, "99999000000153").await, ("33999".into(), 502));
    assert_eq!(code(&provider, "99999000000161").await, ("33999".into(), 502));
    assert_eq!(code(&provider, "99999000000179").await, ("33999".into(), 502));
    assert_eq!(code(&provider, "99999000000187").await, ("33999".into(), 502));
}

#[tokio::test]
async fn a_wrong_token_is_a_provider_error() {
    let (simulator, provider) = start_with(|base| Settings {
        token: "someone-else".into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "81841109200013").await, ("33999".into(), 502));
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(quickly(code(&provider, "99999000000195")).await, ("33002".into(), 504));
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 100,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "81841109200013").await, ("33999".into(), 502));
}

/// The ping needs a habilitation: the ping SIRET has one; an unreachable service is down.
#[tokio::test]
async fn the_ping_needs_a_habilitation_and_an_unreachable_service_is_unavailable() {
    let base = unreachable_base();
    let provider = CarifOrefProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "81841109200013").await, ("33001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("33001".into()));
    let (simulator, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    assert_eq!(simulator.seen()[0].siret, super::PING_SIRET);
    assert!(!super::has_habilitation(
        &fetch(&provider, "81841109200013").await.unwrap().data
    ));
}

fn recorded_valid() -> String {
    let data: Value = serde_json::from_str(include_str!("quiforme.json")).unwrap();
    serde_json::to_string(&data["organismes"][1]).unwrap()
}

proptest::proptest! {
    /// A body cut anywhere, without what the record needs, or with a member of the
    /// wrong type: `33999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_33999(cut in 0usize..10_000, pick in 0usize..5) {
        let valid = recorded_valid();
        proptest::prop_assert!(mapping::organisme(valid.as_bytes()).is_ok());
        let broken = match pick {
            0 => valid.as_bytes()[..cut % valid.len()].to_vec(),
            1 => valid.replace("\"siret_actif\"", "\"siret\"").into_bytes(),
            2 => valid.replace("\"multinda\":false", "\"multinda\":\"non\"").into_bytes(),
            3 => valid.replace("\"qualiopi_vae\":true", "\"qualiopi_vae\":1").into_bytes(),
            _ => valid.replace("\"date_fin_enregistrement\":\"01/01/2024\"", "\"date_fin_enregistrement\":\"2024\"").into_bytes(),
        };
        let failure = mapping::organisme(&broken).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "33999");
    }
}
