//! The provider against its simulator over loopback HTTP: the official sandbox cases
//! replayed, then each upstream behaviour the contract names.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use passerelle_bouquet::{Endpoint, Extras, Fetched, Health, Provider};
use passerelle_core::{ApiError, Query};
use serde_json::{json, Value};

use super::simulator::{self, Simulator};
use super::{InseeProvider, Settings};
use crate::testing::{self, cases, serve, today, Case};

async fn start() -> (Arc<Simulator>, InseeProvider) {
    let simulator = Simulator::with_default_data();
    let base = serve(simulator::router(simulator.clone())).await;
    (simulator, InseeProvider::new(Settings::simulated(&base)).unwrap())
}

fn endpoint(resource: &str) -> &'static Endpoint {
    testing::endpoint(super::ID, resource)
}

fn extras(provider: &InseeProvider, endpoint: &Endpoint, id: &str) -> Result<Extras, Vec<ApiError>> {
    let key = if id.len() == 9 { "siren" } else { "siret" };
    provider.parse_extras(endpoint, &Query::from_pairs(&[(key, id)]), today())
}

async fn fetch(provider: &InseeProvider, resource: &str, version: u8, id: &str) -> Result<Fetched, ApiError> {
    let endpoint = endpoint(resource);
    let extras = extras(provider, endpoint, id).expect("a valid identifier");
    testing::call(provider, endpoint, version, &extras).await
}

/// The official cases our answer differs from, and why: each is checked to still
/// differ, so the list cannot go stale.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    // A hand-written example: its SIRET's SIREN is not its unité légale's, its postal
    // lines contradict its address, its dates are not midnights and it says it was
    // redirected from another SIRET while no record could say so.
    ("api_entreprise_v3_insee_etablissements", "200.yaml"),
    ("api_entreprise_v4_insee_etablissements", "200.yaml"),
    // Its embedded unité légale is "diffusible" yet not "diffusable_commercialement":
    // one INSEE field cannot give both.
    (
        "api_entreprise_v3_insee_etablissements",
        "personne_physique_diffusible.yaml",
    ),
    (
        "api_entreprise_v4_insee_etablissements",
        "personne_physique_diffusible.yaml",
    ),
    // Same `data`; only `meta.date_derniere_mise_a_jour` differs: these two were
    // recorded on another day than the établissement cases of the same SIRET.
    (
        "api_entreprise_v3_insee_adresses_etablissements",
        "personne_morale_etat_cesse.yaml",
    ),
    (
        "api_entreprise_v3_insee_adresses_etablissements_diffusables",
        "personne_morale_etat_cesse.yaml",
    ),
];

fn known_difference(case: &Case) -> bool {
    KNOWN_DIFFERENCES.contains(&(case.operation.as_str(), case.case.as_str()))
}

/// Every official case, through the simulator: `data`, `links` and `meta` equal the
/// recorded payload's; error cases give the recorded status (the code of the sandbox's
/// 404 examples, `04003`, is a slip of the documentation: INSEE's prefix is `01`).
#[tokio::test]
async fn the_official_cases_are_reproduced_through_the_simulator() {
    let (_, provider) = start().await;
    let cases = cases(include_str!("cases.json"));
    let mut per_operation: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut unexpected = Vec::new();
    for case in &cases {
        let resource = case.operation.split("_insee_").nth(1).unwrap();
        let answer = fetch(&provider, resource, case.version, &case.identifier).await;
        let same = match &answer {
            Ok(fetched) => {
                let p = &case.payload;
                case.status == 200
                    && p["data"] == fetched.data
                    && p["links"] == Value::Object(fetched.links.clone())
                    && p["meta"] == Value::Object(fetched.meta.clone())
            }
            Err(error) => error.status() == case.status && error.code.starts_with("01"),
        };
        let counts = per_operation.entry(&case.operation).or_default();
        if same {
            counts.0 += 1;
        } else {
            counts.1 += 1;
        }
        if same == known_difference(case) {
            unexpected.push(format!("{} {} (same: {same}): {answer:?}", case.operation, case.case));
        }
    }
    for (operation, (same, different)) in &per_operation {
        println!("{operation}: {same} reproduced, {different} not");
    }
    assert_eq!(cases.len(), 35);
    assert!(unexpected.is_empty(), "{unexpected:#?}");
}

#[tokio::test]
async fn identifiers_are_checked_before_any_call() {
    let (_, provider) = start().await;
    let siren = extras(&provider, endpoint("unites_legales"), "775672273").unwrap_err();
    assert_eq!((siren[0].code.as_str(), siren[0].status()), ("00301", 422));
    let siret = extras(&provider, endpoint("etablissements"), "77567227221139").unwrap_err();
    assert_eq!((siret[0].code.as_str(), siret[0].status()), ("00302", 422));
    // La Poste's establishments have no valid Luhn and are accepted.
    let la_poste = extras(&provider, endpoint("etablissements"), "35600000000048").unwrap();
    assert_eq!(la_poste["siret"], "35600000000048");
}

#[tokio::test]
async fn a_refused_token_is_renewed_once_and_the_call_replayed() {
    let (simulator, provider) = start().await;
    fetch(&provider, "unites_legales", 3, "775672272").await.unwrap();
    fetch(&provider, "unites_legales", 3, "350051447").await.unwrap();
    assert_eq!(simulator.tokens_issued(), 1, "the token is kept between calls");
    simulator.revoke_tokens();
    let fetched = fetch(&provider, "unites_legales", 3, "775672272").await.unwrap();
    assert_eq!(fetched.data["siren"], "775672272");
    assert_eq!(simulator.tokens_issued(), 2);
}

#[tokio::test]
async fn a_duplicate_unit_is_followed_and_reported_in_meta() {
    let (_, provider) = start().await;
    let unit = fetch(&provider, "unites_legales", 3, "532221694").await.unwrap();
    assert_eq!(unit.data["siren"], "778870675");
    assert_eq!(unit.meta["redirect_from_siren"], "532221694");
    let etab = fetch(&provider, "etablissements", 4, "53222169400013").await.unwrap();
    assert_eq!(etab.data["siret"], "77887067500015");
    assert_eq!(etab.meta["redirect_from_siret"], "53222169400013");
    assert_eq!(
        etab.links["unite_legale"],
        "https://entreprise.api.gouv.fr/v4/insee/sirene/unites_legales/778870675"
    );
}

async fn error(provider: &InseeProvider, resource: &str, id: &str) -> (String, u16) {
    let e = fetch(provider, resource, 3, id).await.unwrap_err();
    (e.code.clone(), e.status())
}

#[tokio::test]
async fn a_protected_unit_is_451_on_direct_routes_and_502_or_404_on_searches() {
    let (_, provider) = start().await;
    let legal = ("01005".to_string(), 451);
    assert_eq!(error(&provider, "unites_legales", "157000332").await, legal);
    assert_eq!(error(&provider, "unites_legales_diffusables", "157000332").await, legal);
    assert_eq!(error(&provider, "etablissements", "15700033200013").await, legal);
    assert_eq!(
        error(&provider, "adresses_etablissements_diffusables", "15700033200013").await,
        legal
    );
    // The siège search does not see protected units; successions cannot read a 403.
    assert_eq!(
        error(&provider, "sieges_unites_legales", "157000332").await,
        ("01003".into(), 404)
    );
    assert_eq!(
        error(&provider, "successions", "61229628734734").await,
        ("01999".into(), 502)
    );
}

#[tokio::test]
async fn unknown_units_are_404() {
    let (_, provider) = start().await;
    assert_eq!(
        error(&provider, "unites_legales", "000000000").await,
        ("01003".into(), 404)
    );
    assert_eq!(
        error(&provider, "adresses_etablissements", "00000000000000").await,
        ("01003".into(), 404)
    );
    assert_eq!(
        error(&provider, "successions", "37449707591810").await,
        ("01003".into(), 404)
    );
}

#[tokio::test]
async fn upstream_failures_have_their_codes() {
    let (_, provider) = start().await;
    assert_eq!(
        error(&provider, "unites_legales", "990000036").await,
        ("01999".into(), 502),
        "garbage"
    );
    assert_eq!(
        error(&provider, "unites_legales", "990000051").await,
        ("01000".into(), 502),
        "500"
    );
    assert_eq!(
        error(&provider, "unites_legales", "990000069").await,
        ("01001".into(), 502),
        "503"
    );
    assert_eq!(
        error(&provider, "unites_legales", "990000077").await,
        ("01999".into(), 502),
        "429"
    );
    assert_eq!(
        error(&provider, "sieges_unites_legales", "990000010").await,
        ("01501".into(), 502)
    );
}

#[tokio::test]
async fn a_slow_upstream_is_a_504_after_the_two_second_read_budget() {
    let (_, provider) = start().await;
    fetch(&provider, "unites_legales", 3, "775672272").await.unwrap();
    let started = Instant::now();
    assert_eq!(
        error(&provider, "unites_legales", "990000044").await,
        ("01002".into(), 504)
    );
    let waited = started.elapsed().as_millis();
    assert!((1900..2900).contains(&waited), "waited {waited} ms");
}

#[tokio::test]
async fn diffusibles_routes_hide_protected_fields_and_refuse_closed_units() {
    let (_, provider) = start().await;
    let full = fetch(&provider, "unites_legales", 3, "808861199").await.unwrap();
    assert_eq!(full.data["personne_physique_attributs"]["nom_naissance"], "COMES");
    let open = fetch(&provider, "unites_legales_diffusables", 3, "808861199")
        .await
        .unwrap();
    let person = &open.data["personne_physique_attributs"];
    for field in ["nom_naissance", "prenom_1", "prenom_usuel", "sexe", "pseudonyme"] {
        assert_eq!(person[field], "[ND]", "{field}");
    }
    assert_eq!(open.data["status_diffusion"], "partiellement_diffusible");
    assert_eq!(open.data["diffusable_commercialement"], false);

    let etab = fetch(&provider, "etablissements_diffusables", 4, "80886119900020")
        .await
        .unwrap();
    assert_eq!(etab.data["enseigne"], "[ND]");
    assert_eq!(etab.data["adresse"]["libelle_voie"], "[ND]");
    assert_eq!(etab.data["adresse"]["acheminement_postal"]["l6"], "[ND]");
    assert_eq!(etab.data["adresse"]["acheminement_postal"]["l7"], "FRANCE");
    assert_eq!(etab.data["adresse"]["libelle_commune"], "BORD D'EAU");
    assert_eq!(
        etab.data["unite_legale"]["personne_physique_attributs"]["prenom_1"],
        "[ND]"
    );

    let company = fetch(&provider, "adresses_etablissements_diffusables", 3, "24340081900120")
        .await
        .unwrap();
    assert_eq!(company.data["numero_voie"], "[ND]");
    let company_unit = fetch(&provider, "unites_legales_diffusables", 3, "243400819")
        .await
        .unwrap();
    assert_eq!(company_unit.data["personne_morale_attributs"]["sigle"], "[ND]");
    assert_ne!(company_unit.data["personne_morale_attributs"]["raison_sociale"], "[ND]");

    assert_eq!(
        error(&provider, "unites_legales_diffusables", "990000002").await,
        ("01003".into(), 404)
    );
    assert_eq!(
        error(&provider, "etablissements_diffusables", "99000000200016").await,
        ("01003".into(), 404)
    );
    // The full routes serve the same closed unit.
    fetch(&provider, "unites_legales", 3, "990000002").await.unwrap();
}

#[tokio::test]
async fn v4_follows_naf_2025_and_keeps_the_rev2_code_apart() {
    let (_, provider) = start().await;
    let v3 = fetch(&provider, "unites_legales", 3, "990000028").await.unwrap();
    assert_eq!(v3.data["activite_principale"]["code"], "88.99B");
    assert_eq!(v3.data["activite_principale"]["nomenclature"], "NAFRev2");
    assert!(v3.data.get("activite_principale_naf_rev2").is_none());
    let v4 = fetch(&provider, "unites_legales", 4, "990000028").await.unwrap();
    assert_eq!(v4.data["activite_principale"]["code"], "88.91Y");
    assert_eq!(v4.data["activite_principale"]["nomenclature"], "NAF2025");
    assert_eq!(
        v4.data["activite_principale_naf_rev2"],
        json!({"code": "88.99B", "nomenclature": "NAFRev2", "libelle": "Action sociale sans hébergement n.c.a."})
    );
    assert!(v4.links["siege_social"].as_str().unwrap().contains("/v4/"));
    let etab = fetch(&provider, "etablissements", 4, "99000002800011").await.unwrap();
    assert_eq!(etab.data["activite_principale"]["code"], "88.91Y");
}

#[tokio::test]
async fn links_point_at_the_configured_public_address() {
    let simulator = Simulator::with_default_data();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, simulator::router(simulator)).await.unwrap() });
    let settings = Settings {
        public_base_url: "http://127.0.0.1:3000/".into(),
        ..Settings::simulated(&base)
    };
    let provider = InseeProvider::new(settings).unwrap();
    let fetched = fetch(&provider, "adresses_etablissements", 3, "77567227221138")
        .await
        .unwrap();
    assert_eq!(
        fetched.links["etablissement"],
        "http://127.0.0.1:3000/v3/insee/sirene/etablissements/77567227221138"
    );
}

#[tokio::test]
async fn the_ping_asks_for_the_reference_etablissement() {
    let (_, provider) = start().await;
    assert_eq!(provider.ping().await, Health::Ok);
    let down = InseeProvider::new(Settings::simulated("http://127.0.0.1:9")).unwrap();
    assert!(matches!(down.ping().await, Health::Down(code) if code == "01001"));
}

#[test]
fn a_postal_address_reads_on_one_line() {
    let address = serde_json::json!({
        "numeroVoieEtablissement": "22",
        "typeVoieEtablissement": "RUE",
        "libelleVoieEtablissement": "DE LA PAIX",
        "codePostalEtablissement": "75016",
        "libelleCommuneEtablissement": "PARIS 16",
        "complementAdresseEtablissement": null
    });
    assert_eq!(super::postal_address(&address), "22 RUE DE LA PAIX, 75016 PARIS 16");
    assert_eq!(
        super::postal_address(&serde_json::json!({"codePostalEtablissement": "34500"})),
        "34500"
    );
}
