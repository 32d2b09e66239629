use std::collections::{BTreeSet, HashSet};

use super::*;

/// The data routes of the official OpenAPI file (`api-entreprise.yaml`), one per line.
const OFFICIAL_PATHS: &str = include_str!("official_paths.txt");

fn routes() -> Vec<(String, String)> {
    OPERATIONS
        .iter()
        .flat_map(|o| {
            o.endpoint.versions.iter().map(|v| {
                let id = format!("{OPERATION_PREFIX}_v{v}_{}", o.endpoint.operation_stem());
                (o.endpoint.public_path(*v), id)
            })
        })
        .collect()
}

#[test]
fn the_catalogue_has_every_route_of_the_official_document() {
    let ours: BTreeSet<String> = routes().into_iter().map(|(path, _)| path).collect();
    let official: BTreeSet<String> = OFFICIAL_PATHS.lines().map(str::to_string).collect();
    assert_eq!(ours, official);
    assert_eq!(ours.len(), 51);
    assert_eq!(OPERATIONS.len(), 42, "v3 and v4 twins are one operation");
}

#[test]
fn operation_ids_are_the_sandbox_folder_names_and_unique() {
    let ids: Vec<String> = routes().into_iter().map(|(_, id)| id).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    assert!(ids.contains(&"api_entreprise_v4_insee_unites_legales_diffusables".to_string()));
    assert!(ids.contains(&"api_entreprise_v4_mi_unites_legales_open_data".to_string()));
}

#[test]
fn path_parameters_are_identifiers_the_contract_names() {
    let known = [
        "siren",
        "siret",
        "siret_or_rna",
        "siren_or_rna",
        "siren_or_siret_or_rna",
        "siret_or_eori",
        "year",
        "month",
    ];
    for o in OPERATIONS {
        let params: Vec<_> = o.endpoint.path_params().collect();
        assert!(!params.is_empty(), "{}", o.endpoint.operation);
        assert!(params.iter().all(|p| known.contains(p)), "{params:?}");
    }
}

/// Scopes are names a token carries: lower-case words joined by underscores (a prose
/// cell of the notes once became a scope "same three as CIBTP").
#[test]
fn scopes_are_names_and_cnetp_shares_cibtps() {
    for scope in all_scopes() {
        assert!(
            !scope.is_empty() && scope.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{scope:?}"
        );
    }
    let cibtp = find("cibtp_attestation_cotisations_conges_payes_chomage_intemperies");
    let cnetp = find("cnetp_attestation_cotisations_conges_payes_chomage_intemperies");
    assert_eq!(cnetp.endpoint.access_scopes, cibtp.endpoint.access_scopes);
}

fn find(stem: &str) -> &'static Operation {
    OPERATIONS.iter().find(|o| o.endpoint.operation == stem).unwrap()
}

#[test]
fn limits_caches_and_documents_follow_the_contract() {
    let urssaf = find("acoss_attestations_sociales");
    assert_eq!(urssaf.endpoint.versions, [3, 4]);
    assert_eq!(urssaf.deprecated, [3]);
    assert_eq!(urssaf.endpoint.cache, Cache::UntilTomorrowAt { hour: 8 });
    assert_eq!(throttle(&urssaf.endpoint).unwrap().per_minute, 100);
    let dgfip = throttle(&find("dgfip_attestations_fiscales").endpoint).unwrap();
    let cibtp = throttle(&find("cibtp_attestation_cotisations_conges_payes_chomage_intemperies").endpoint).unwrap();
    assert_eq!((dgfip.per_minute, cibtp.per_minute), (5, 5));
    assert_ne!(dgfip.name, cibtp.name, "one counter per endpoint");
    let cnetp = throttle(&find("cnetp_attestation_cotisations_conges_payes_chomage_intemperies").endpoint).unwrap();
    let fntp = throttle(&find("fntp_carte_professionnelle_travaux_publics").endpoint).unwrap();
    assert_eq!(cnetp, fntp, "low-latency documents share one counter");
    assert_eq!(cnetp.per_minute, 50);
    let insee = throttle(&find("insee_unites_legales").endpoint).unwrap();
    assert_eq!(
        insee,
        ThrottleGroup {
            name: "json_resources_entreprise",
            per_minute: 250
        }
    );
    assert_eq!(
        find("cibtp_attestation_cotisations_conges_payes_chomage_intemperies").document,
        Document::Stored { secs: 600 }
    );
    assert!(
        find("european_commission_vies").endpoint.access_scopes.is_empty(),
        "VIES needs no scope"
    );
    let gip: Vec<_> = [
        "gip_mds_effectifs_annuels_entreprise",
        "gip_mds_effectifs_mensuels_etablissement",
    ]
    .map(|s| throttle(&find(s).endpoint).unwrap())
    .to_vec();
    assert_eq!(gip[0], gip[1]);
}

#[test]
fn the_bouquet_serves_only_what_its_providers_answer() {
    let bouquet = bouquet(Registry::new());
    assert!(bouquet.endpoints.is_empty());
    let doc: serde_json::Value = serde_yaml::from_str(&bouquet.openapi).unwrap();
    let paths: Vec<_> = doc["paths"].as_object().unwrap().keys().collect();
    assert_eq!(paths, ["/privileges"], "the gateway's own route only");
}
