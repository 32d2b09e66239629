//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract and the reference name.

use std::collections::BTreeMap;
use std::sync::Arc;

use passerelle_bouquet::{Endpoint, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{mapping, soap, Failure, InfogreffeProvider, Settings};
use crate::testing::{self, body, cases, error_differences, quickly, serve, today, unreachable_base, Case};

async fn start_with(settings: impl Fn(&str) -> Settings) -> (Arc<Simulator>, InfogreffeProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, InfogreffeProvider::new(settings(&base)).unwrap())
}

async fn start() -> (Arc<Simulator>, InfogreffeProvider) {
    start_with(Settings::simulated).await
}

const EXTRAIT: &str = "extraits_rcs";
const MANDATAIRES: &str = "mandataires_sociaux";

fn endpoint(resource: &str) -> &'static Endpoint {
    testing::endpoint(super::ID, resource)
}

async fn fetch(provider: &InfogreffeProvider, resource: &str, siren: &str) -> Result<Fetched, ApiError> {
    testing::fetch(provider, endpoint(resource), 3, &[("siren", siren)]).await
}

async fn data(provider: &InfogreffeProvider, resource: &str, siren: &str) -> Value {
    match fetch(provider, resource, siren).await {
        Ok(fetched) => body(&fetched),
        Err(e) => panic!("{siren}: {e:?}"),
    }
}

async fn error(provider: &InfogreffeProvider, resource: &str, siren: &str) -> ApiError {
    let e = fetch(provider, resource, siren).await.unwrap_err();
    assert_eq!(e.meta["provider"], "Infogreffe", "{e:?}");
    e
}

async fn code(provider: &InfogreffeProvider, siren: &str) -> (String, u16) {
    let e = error(provider, EXTRAIT, siren).await;
    (e.code.clone(), e.status())
}

/// Where our 200 body differs from a recorded one, and why: each pointer is checked
/// to still differ, and the bodies to be equal once they are removed.
const KNOWN_DIFFERENCES: &[(&str, &str, &[&str])] = &[
    // The two hand-written examples of SIREN 552049447 disagree: the extract lists one
    // dirigeant "Président du conseil d'administration", the collection a "PRESIDENT"
    // and a legal person. Both routes make one upstream call, so one extract cannot
    // give both; the simulator follows the extract. The example's timestamp is also
    // not 1965-03-15 at Paris midnight (-151462800): it is three days later.
    (
        "api_entreprise_v3_infogreffe_mandataires_sociaux",
        "200.yaml",
        &[
            "/data/1",
            "/data/0/data/fonction",
            "/data/0/data/date_naissance_timestamp",
            "/meta/personnes_morales_count",
            "/meta/count",
        ],
    ),
];

/// Where our error differs from a recorded one: both examples of "not found" carry
/// CNETP's prefix (`08003`) and another route's wording; we answer Infogreffe's
/// `02003` with the OpenAPI's detail and Infogreffe's own code and message in
/// `meta.provider_error`, as the real service does. Status and title agree.
const ERROR_DIFFERENCES: &[&str] = &["code", "detail", "meta"];

fn remove(value: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match value.pointer_mut(parent) {
        Some(Value::Object(object)) => {
            object.remove(key);
        }
        Some(Value::Array(items)) => {
            if let Ok(index) = key.parse::<usize>() {
                if index < items.len() {
                    items.remove(index);
                }
            }
        }
        _ => {}
    }
}

/// `Ok(true)` when exact, `Ok(false)` when equal but for the documented differences.
fn compare(case: &Case, answer: &Result<Fetched, ApiError>) -> Result<bool, String> {
    match answer {
        Ok(fetched) => {
            if case.status != 200 {
                return Err(format!("answered 200, recorded {}", case.status));
            }
            let mut ours = body(fetched);
            let mut recorded = case.payload.clone();
            let known = KNOWN_DIFFERENCES
                .iter()
                .find(|(o, f, _)| (*o, *f) == (case.operation.as_str(), case.case.as_str()));
            let pointers = known.map_or(&[][..], |(_, _, p)| p);
            for pointer in pointers {
                if ours.pointer(pointer) == recorded.pointer(pointer) {
                    return Err(format!("{pointer} no longer differs"));
                }
            }
            for pointer in pointers.iter().rev() {
                remove(&mut ours, pointer);
                remove(&mut recorded, pointer);
            }
            (ours == recorded)
                .then_some(pointers.is_empty())
                .ok_or(format!("{ours:#}"))
        }
        Err(error) => error_differences(case, error, &["title"], ERROR_DIFFERENCES),
    }
}

/// Every official case, through the simulator: the status always, and the body but
/// for the differences documented above. Counts: extraits RCS 1 exact of 2 (the 404
/// matches its status and title), mandataires sociaux 0 exact of 2.
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut counts: BTreeMap<(&str, bool), usize> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for case in &cases {
        let resource = case.operation.split("_infogreffe_").nth(1).unwrap();
        let answer = fetch(&provider, resource, &case.params["siren"]).await;
        match compare(case, &answer) {
            Ok(exact) => *counts.entry((&case.operation, exact)).or_default() += 1,
            Err(why) => unexpected.push(format!("{} {}: {why}", case.operation, case.case)),
        }
    }
    assert!(unexpected.is_empty(), "{unexpected:#?}");
    let count = |operation: &str, exact| counts.get(&(operation, exact)).copied().unwrap_or(0);
    assert_eq!(count("api_entreprise_v3_infogreffe_extraits_rcs", true), 1);
    assert_eq!(count("api_entreprise_v3_infogreffe_extraits_rcs", false), 1);
    assert_eq!(count("api_entreprise_v3_infogreffe_mandataires_sociaux", true), 0);
    assert_eq!(count("api_entreprise_v3_infogreffe_mandataires_sociaux", false), 2);
}

#[tokio::test]
async fn the_siren_is_checked_before_any_call() {
    let (simulator, provider) = start().await;
    let refused = provider
        .parse_extras(
            endpoint(EXTRAIT),
            &Query::from_pairs(&[("siren", "418166097")]),
            today(),
        )
        .unwrap_err();
    assert_eq!(refused[0].code, "00301");
    assert!(simulator.seen().is_empty());
}

#[tokio::test]
async fn the_order_is_a_soap_post_with_the_real_headers() {
    let (simulator, provider) = start().await;
    data(&provider, EXTRAIT, "418166096").await;
    let seen = simulator.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].siren, "418166096");
    assert_eq!(seen[0].content_type.as_deref(), Some("text/xml"));
    assert_eq!(seen[0].charset.as_deref(), Some("utf-8"));
}

/// The recorded extract of a société anonyme, member by member where we choose.
#[tokio::test]
async fn a_recorded_legal_person_maps_to_the_contract() {
    let (_, provider) = start().await;
    let extrait = data(&provider, EXTRAIT, "418166096").await["data"].clone();
    assert_eq!(extrait["siren"], "418166096");
    assert_eq!(extrait["date_extrait"], "2017-05-30");
    assert_eq!(extrait["date_immatriculation"], "2000-01-15");
    assert_eq!(extrait["date_radiation"], Value::Null);
    assert_eq!(
        extrait["capital"],
        json!({"montant": 234567.8, "devise": "EUROS", "code_devise": "EUR"})
    );
    assert_eq!(extrait["greffe"], json!({"valeur": "PARIS", "code": "7501"}));
    assert_eq!(
        extrait["observations"],
        json!([{"numero": "12197", "libelle": "LA SOCIETE NE CONSERVE AUCUNE ACTIVITE A SON ANCIEN SIEGE", "date": "2001-02-12"}])
    );
    assert_eq!(extrait["nom_commercial"], "EXEMPLE-TECHNOLOGIE");
    assert_eq!(extrait["etablissement_principal"]["code_ape"], "6202A");
    assert_eq!(extrait["personne_morale"]["forme_juridique"]["code"], "SAh");
    assert_eq!(extrait["personne_morale"]["date_fin_de_vie"], "2099-01-15");
    assert_eq!(extrait["personne_physique"]["nom"], Value::Null);
    let mandataires = extrait["mandataires_sociaux"].as_array().unwrap();
    assert_eq!(mandataires.len(), 12);
    assert_eq!(mandataires[0]["date_naissance"], "1980-02");
    assert_eq!(
        mandataires[9],
        json!({"numero_identification": "123456789", "type": "personne_morale",
               "fonction": "COMMISSAIRE AUX COMPTES TITULAIRE", "nom": null, "prenom": null,
               "date_naissance": null, "raison_sociale": "MAZARS - SOCIETE ANONYME"})
    );
    let collection = data(&provider, MANDATAIRES, "418166096").await;
    assert_eq!(
        collection["meta"],
        json!({"personnes_physiques_count": 10, "personnes_morales_count": 2, "count": 12})
    );
    assert_eq!(
        collection["data"][0],
        json!({"data": {"type": "personne_physique", "fonction": "PRESIDENT DU DIRECTOIRE",
            "nom": "DURANT", "prenom": "ALEX", "date_naissance": "1980-02-15",
            "date_naissance_timestamp": 319_417_200, "lieu_naissance": "PARIS",
            "pays_naissance": "FRANCE", "code_pays_naissance": "FR",
            "nationalite": "FRANCAISE", "code_nationalite": "FR"},
            "links": {}, "meta": {}})
    );
    assert_eq!(
        collection["data"][10]["data"],
        json!({"numero_identification": "987654321", "type": "personne_morale",
               "fonction": "COMMISSAIRE AUX COMPTES SUPPLEANT",
               "raison_sociale": "BCRH & ASSOCIES - SOCIETE A RESPONSABILITE LIMITEE",
               "code_greffe": "7501", "libelle_greffe": "PARIS"})
    );
}

/// An entrepreneur without dirigeants: he is his own mandataire.
#[tokio::test]
async fn a_recorded_natural_person_is_its_own_mandataire() {
    let (_, provider) = start().await;
    let extrait = data(&provider, EXTRAIT, "403860265").await["data"].clone();
    let pp = &extrait["personne_physique"];
    assert_eq!(pp["nom"], "SPLOUSHY");
    assert_eq!(pp["naissance"]["date"], "1971-02-26");
    assert_eq!(pp["adresse"]["code_postal"], "40440");
    assert_eq!(pp["adresse"]["voie"], "UN ENDROIT");
    assert_eq!(pp["adresse"]["pays"], Value::Null);
    assert_eq!(extrait["personne_morale"]["denomination"], Value::Null);
    assert_eq!(
        extrait["capital"],
        json!({"montant": null, "devise": null, "code_devise": null})
    );
    assert_eq!(extrait["mandataires_sociaux"], json!([]));
    let collection = data(&provider, MANDATAIRES, "403860265").await;
    assert_eq!(collection["meta"]["count"], 1);
    let only = &collection["data"][0]["data"];
    assert_eq!(only["fonction"], Value::Null);
    assert_eq!(only["nom"], "SPLOUSHY");
    assert_eq!(only["date_naissance"], "1971-02-26");
}

#[tokio::test]
async fn legal_persons_without_greffe_and_people_without_birth_keep_nulls() {
    let (_, provider) = start().await;
    let collection = data(&provider, MANDATAIRES, "900000050").await;
    let pm = &collection["data"][9]["data"];
    assert_eq!(pm["type"], "personne_morale");
    assert_eq!(
        (&pm["code_greffe"], &pm["libelle_greffe"]),
        (&Value::Null, &Value::Null)
    );
    let born_unknown = data(&provider, MANDATAIRES, "900000035").await["data"][0]["data"].clone();
    assert_eq!(born_unknown["date_naissance"], Value::Null);
    assert_eq!(born_unknown["date_naissance_timestamp"], Value::Null);
    let extrait = data(&provider, EXTRAIT, "900000035").await;
    assert_eq!(extrait["data"]["mandataires_sociaux"][0]["date_naissance"], Value::Null);
    let without_etablissement = data(&provider, EXTRAIT, "900000043").await["data"].clone();
    assert_eq!(without_etablissement["nom_commercial"], Value::Null);
    assert_eq!(
        without_etablissement["etablissement_principal"],
        json!({"activite": null, "origine_fonds": null, "mode_exploitation": null, "code_ape": null})
    );
}

#[tokio::test]
async fn an_extract_without_anyone_has_no_mandataires() {
    let (_, provider) = start().await;
    let extrait = data(&provider, EXTRAIT, "900000027").await;
    assert_eq!(extrait["data"]["mandataires_sociaux"], json!([]));
    let e = error(&provider, MANDATAIRES, "900000027").await;
    assert_eq!((e.code.as_str(), e.status()), ("02003", 404));
    assert!(e.meta.get("provider_error").is_none());
}

/// Errors come inside HTTP 200, as a text `NNN -MESSAGE-`.
#[tokio::test]
async fn in_band_error_codes_map_to_the_contract() {
    let (_, provider) = start().await;
    let not_found = error(&provider, MANDATAIRES, "432268993").await;
    assert_eq!((not_found.code.as_str(), not_found.status()), ("02003", 404));
    assert_eq!(
        not_found.meta["provider_error"],
        json!({"code": "006", "message": "DOSSIER NON TROUVE DANS LA BASE DE GREFFES"})
    );
    let struck_off = error(&provider, EXTRAIT, "900000092").await;
    assert_eq!(struck_off.meta["provider_error"]["code"], "081");
    let identification = error(&provider, EXTRAIT, "900000068").await;
    assert_eq!((identification.code.as_str(), identification.status()), ("02501", 502));
    assert_eq!(identification.meta["retry_in"], 10);
    assert_eq!(code(&provider, "900000076").await, ("02502".into(), 502));
    assert_eq!(code(&provider, "900000084").await, ("02001".into(), 502));
    assert_eq!(code(&provider, "900000100").await, ("02999".into(), 502));
}

#[tokio::test]
async fn faults_5xx_redirects_and_garbage_are_provider_errors() {
    let (_, provider) = start().await;
    // A SOAP fault (HTTP 500).
    assert_eq!(code(&provider, "900000118").await, ("02999".into(), 502));
    assert_eq!(code(&provider, "900000126").await, ("02001".into(), 502));
    assert_eq!(code(&provider, "900000134").await, ("02002".into(), 504));
    // A body cut in the middle, and an HTML page, both with HTTP 200.
    assert_eq!(code(&provider, "900000142").await, ("02999".into(), 502));
    assert_eq!(code(&provider, "900000167").await, ("02999".into(), 502));
    assert_eq!(code(&provider, "900000175").await, ("02000".into(), 502));
    // A birth date that is no date: no guess.
    assert_eq!(code(&provider, "900000183").await, ("02999".into(), 502));
    let e = error(&provider, MANDATAIRES, "900000183").await;
    assert_eq!(e.code, "02999");
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let (_, provider) = start_with(|base| Settings {
        read_timeout_ms: 300,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(quickly(code(&provider, "900000159")).await, ("02002".into(), 504));
}

#[tokio::test]
async fn a_wrong_account_is_refused_in_band() {
    let (_, provider) = start_with(|base| Settings {
        mot_passe: "not-the-password".into(),
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "418166096").await, ("02501".into(), 502));
}

#[tokio::test]
async fn a_body_over_the_cap_is_dropped() {
    let (_, provider) = start_with(|base| Settings {
        max_body_bytes: 2000,
        ..Settings::simulated(base)
    })
    .await;
    assert_eq!(code(&provider, "418166096").await, ("02999".into(), 502));
    // A small answer still passes.
    assert_eq!(code(&provider, "432268993").await, ("02003".into(), 404));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable_and_the_ping_says_so() {
    let base = unreachable_base();
    let provider = InfogreffeProvider::new(Settings::simulated(&base)).unwrap();
    assert_eq!(code(&provider, "418166096").await, ("02001".into(), 502));
    assert_eq!(provider.ping().await, Health::Down("02001".into()));
    let (_, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
}

/// The simulator answers a request it cannot read with a SOAP fault, as a SOAP
/// server does: it checks what the provider sends.
#[tokio::test]
async fn the_simulator_refuses_requests_that_are_not_infogreffe_orders() {
    let simulator = Simulator::with_default_data();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}{}", listener.local_addr().unwrap(), simulator::PATH);
    tokio::spawn(async move { axum::serve(listener, simulator::router(simulator)).await.unwrap() });
    let account = soap::Account {
        code_abonne: simulator::CODE_ABONNE,
        mot_passe: simulator::MOT_PASSE,
    };
    let client = reqwest::Client::new();
    let send = |action: &'static str, body: String| {
        client
            .post(&url)
            .header("Content-Type", "text/xml")
            .header("SOAPAction", action)
            .body(body)
            .send()
    };
    let wrong_action = send("getProduitsWebServices", soap::envelope(&account, "418166096"))
        .await
        .unwrap();
    assert_eq!(wrong_action.status(), 500);
    assert!(wrong_action.text().await.unwrap().contains("Fault"));
    let garbage = send(soap::ACTION, "<demande>".into()).await.unwrap();
    assert_eq!(garbage.status(), 500);
    let good = send(soap::ACTION, soap::envelope(&account, "418166096")).await.unwrap();
    assert_eq!(good.status(), 200);
    assert!(good.text().await.unwrap().contains("<num_ident siren=\"418166096\">"));
}

/// An answer as the simulator would send it around `content`.
fn envelope_around(content: &str) -> String {
    format!(
        "<?xml version='1.0' encoding='UTF-8'?><SOAP-ENV:Envelope xmlns:SOAP-ENV='http://schemas.xmlsoap.org/soap/envelope/'>\
<SOAP-ENV:Body><ns0:getProduitsWebServicesXMLResponse xmlns:ns0='urn:local'><return>{content}</return>\
</ns0:getProduitsWebServicesXMLResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"
    )
}

/// Both mappings of one answer body, as the provider runs them.
fn both(body: &[u8]) -> Result<(Value, Value), Failure> {
    let extrait = soap::extrait(200, body)?;
    let rcs = mapping::extrait_rcs(&extrait, "900000019")?;
    let (items, _) = mapping::mandataires_sociaux(&extrait)?;
    Ok((rcs, Value::Array(items)))
}

fn registered(siren: &str) -> String {
    let registre: Value = serde_json::from_str(include_str!("registre.json")).unwrap();
    let found = registre["extraits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["siren"] == siren)
        .unwrap();
    found["xml"].as_str().unwrap().to_string()
}

proptest::proptest! {
    /// A body cut anywhere, or missing what the success needs (the SIREN), or holding
    /// an unreadable amount or birth date: `02999`, never a panic nor a half answer.
    #[test]
    fn incomplete_bodies_are_02999(cut in 0usize..100_000, pick in 0usize..4) {
        let valid = envelope_around(&registered("900000019"));
        proptest::prop_assert!(both(valid.as_bytes()).is_ok());
        let broken = match pick {
            0 => valid.as_bytes()[..cut % valid.len()].to_vec(),
            1 => valid.replace(" siren=\"900000019\"", "").into_bytes(),
            2 => valid.replace(">1 000,00<", ">MILLE<").into_bytes(),
            _ => valid.replace("dateISO=\"1990-01-10\"", "dateISO=\"1990-13-10\"").into_bytes(),
        };
        let failure = both(&broken).unwrap_err();
        proptest::prop_assert_eq!(failure.into_error().code, "02999");
    }
}
