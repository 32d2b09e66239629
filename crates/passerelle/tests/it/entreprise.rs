//! API Entreprise live: the real gateway answering through its providers and their
//! simulators. Rate limits by throttle group and habilitation, and the official cases
//! replayed through the whole pipeline.

use std::path::PathBuf;

use chrono::Utc;
use passerelle_tokens::TokenRequest;
use reqwest::Response;

use crate::binary::cli;
use crate::helpers::{codes, entreprise_token_request, json, TestApp, RECIPIENT};

const PURPOSE: &[(&str, &str)] = &[
    ("context", "Marché public 2026-042"),
    ("recipient", RECIPIENT),
    ("object", "Vérification d'une candidature"),
];
const UNITE_LEGALE_V3: &str = "/v3/insee/sirene/unites_legales/775672272";
const UNITE_LEGALE_V4: &str = "/v4/insee/sirene/unites_legales/775672272";
const ATTESTATION_V3: &str = "/v3/dgfip/unites_legales/418166096/attestation_fiscale";
const ATTESTATION_V4: &str = "/v4/dgfip/unites_legales/418166096/attestation_fiscale";

async fn entreprise_token(app: &TestApp, per_minute: Option<u32>) -> String {
    let request = TokenRequest {
        name: "Acheteur public de test".into(),
        rate_limit_per_minute: per_minute,
        ..entreprise_token_request()
    };
    let keys = app.state.tokens.keys();
    passerelle_tokens::issue(app.store.as_ref(), keys, request, Utc::now())
        .await
        .unwrap()
        .1
}

async fn call(app: &TestApp, path: &str, token: &str) -> Response {
    app.client
        .get(format!("{}{path}", app.entreprise_base))
        .query(PURPOSE)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn header(response: &Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.parse().ok()
}

/// The attestation fiscale's own limit is 5 a minute for v3 and v4 together; the JSON
/// group (250) and another token are untouched by it.
#[tokio::test]
async fn v3_and_v4_share_their_endpoint_counter_and_groups_are_apart() {
    let app = TestApp::start().await;
    let token = entreprise_token(&app, None).await;
    for (i, path) in [
        ATTESTATION_V3,
        ATTESTATION_V4,
        ATTESTATION_V3,
        ATTESTATION_V4,
        ATTESTATION_V3,
    ]
    .iter()
    .enumerate()
    {
        let response = call(&app, path, &token).await;
        assert_eq!(response.status(), 200, "call {i} to {path}");
        assert_eq!(header(&response, "ratelimit-limit"), Some(5));
        assert_eq!(header(&response, "ratelimit-remaining"), Some(4 - i as u64));
    }
    let refused = call(&app, ATTESTATION_V4, &token).await;
    assert_eq!(refused.status(), 429);
    assert!(header(&refused, "retry-after").is_some_and(|s| (1..=60).contains(&s)));
    let (_, body) = json(refused).await;
    assert_eq!(codes(&body), vec!["00429".to_string()]);

    let json_group = call(&app, UNITE_LEGALE_V3, &token).await;
    assert_eq!(json_group.status(), 200);
    assert_eq!(header(&json_group, "ratelimit-limit"), Some(250));
    assert_eq!(header(&json_group, "ratelimit-remaining"), Some(249));
    let other = entreprise_token(&app, None).await;
    assert_eq!(call(&app, ATTESTATION_V3, &other).await.status(), 200);
}

/// A habilitation's own per-minute limit counts every call of its token, whatever the
/// group, and its headers are the ones shown.
#[tokio::test]
async fn a_habilitation_limit_applies_on_top_of_the_groups() {
    let app = TestApp::start().await;
    let token = entreprise_token(&app, Some(3)).await;
    for (i, path) in [UNITE_LEGALE_V3, UNITE_LEGALE_V4, ATTESTATION_V3].iter().enumerate() {
        let response = call(&app, path, &token).await;
        assert_eq!(response.status(), 200, "call {i} to {path}");
        assert_eq!(header(&response, "ratelimit-limit"), Some(3));
        assert_eq!(header(&response, "ratelimit-remaining"), Some(2 - i as u64));
    }
    for path in [UNITE_LEGALE_V3, ATTESTATION_V4] {
        let refused = call(&app, path, &token).await;
        assert_eq!(refused.status(), 429, "{path}");
        assert_eq!(header(&refused, "ratelimit-limit"), Some(3));
    }
    // The group counters were counted too: a token without its own limit is not.
    let free = entreprise_token(&app, None).await;
    let response = call(&app, UNITE_LEGALE_V3, &free).await;
    assert_eq!(header(&response, "ratelimit-limit"), Some(250));
}

/// The documented cases whose live answer differs from the record (each provider's
/// page says why; its own replay test checks the same list): a replay must fail exactly
/// these, so the list cannot go stale.
const LIVE_DIFFERENCES: &[&str] = &[
    // Recorded with identifiers that fail the SIREN/SIRET checks: 422 before any call,
    // as the real gateway does.
    "api_entreprise_v3_dgfip_attestations_fiscales/entite_hors_perimetre.yaml#0",
    "api_entreprise_v4_dgfip_attestations_fiscales/entite_hors_perimetre.yaml#0",
    "api_entreprise_v3_dgfip_chiffres_affaires/200-2022.yaml#0",
    "api_entreprise_v3_cnetp_attestation_cotisations_conges_payes_chomage_intemperies/404.yaml#0",
    "api_entreprise_v4_acoss_attestations_sociales/attestation_delivree.yaml#0",
    "api_entreprise_v3_fntp_carte_professionnelle_travaux_publics/404.yml#0",
    "api_entreprise_v3_opqibi_certifications_ingenierie/404.yml#0",
    "api_entreprise_v4_qualibat_certifications_batiment/404.yml#0",
    "api_entreprise_v3_probtp_attestations_cotisation_retraite/404.yml#0",
    // Regime `RN` is "Réel normal" in the OpenAPI's own table, the case says otherwise.
    "api_entreprise_v3_dgfip_liasses_fiscales/200.yml#0",
    // Its VAT number has a wrong key: the French rule gives FR35552049447
    // (docs/providers/vies.md).
    "api_entreprise_v3_european_commission_vies/200.yaml#0",
    // The RCD always answers both regimes, and the nature asked
    // (docs/providers/gip_mds_effectifs.md).
    "api_entreprise_v3_gip_mds_effectifs_annuels_entreprise/200-2022.yaml#0",
    "api_entreprise_v3_gip_mds_effectifs_annuels_entreprise/200-boeth.yaml#0",
    "api_entreprise_v3_gip_mds_effectifs_mensuels_etablissement/200-boeth.yaml#0",
    // Its dirigeants contradict the extract of the same SIREN, which the simulator follows
    // (docs/providers/infogreffe.md).
    "api_entreprise_v3_infogreffe_mandataires_sociaux/200.yaml#0",
    // Hand-written example: its closing month is not `YYYY-MM` and its form line is no
    // Banque de France figure (docs/providers/banque_de_france.md).
    "api_entreprise_v3_banque_de_france_bilans_entreprise/200.yaml#0",
    // Hand-written examples no INSEE record can produce (docs/providers/insee-sirene.md).
    "api_entreprise_v3_insee_etablissements/200.yaml#0",
    "api_entreprise_v4_insee_etablissements/200.yaml#0",
    "api_entreprise_v3_insee_etablissements/personne_physique_diffusible.yaml#0",
    "api_entreprise_v4_insee_etablissements/personne_physique_diffusible.yaml#0",
];

/// Replays the official API Entreprise folder (PASSERELLE_SANDBOX_CASES_ENTREPRISE, set
/// by .ci/run) through the live gateway with `passerelle conformance --live`: every
/// case of a served operation gives its recorded status and `data`, and the counts per
/// provider are printed.
#[tokio::test]
async fn official_cases_replay_live_through_the_simulators() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let Ok(folder) = std::env::var("PASSERELLE_SANDBOX_CASES_ENTREPRISE") else {
        assert!(!ci, "CI must set PASSERELLE_SANDBOX_CASES_ENTREPRISE");
        eprintln!("PASSERELLE_SANDBOX_CASES_ENTREPRISE not set: live API Entreprise replay not run");
        return;
    };
    let folder = PathBuf::from(folder);
    assert!(folder.is_dir() || !ci, "{} is not a folder", folder.display());
    if !folder.is_dir() {
        return;
    }
    let app = TestApp::start().await;
    let token = entreprise_token(&app, None).await;
    let (_, out) = cli(&[
        "conformance",
        "--live",
        "--only",
        "api_entreprise",
        "--cases",
        folder.to_str().unwrap(),
        "--token",
        "unused",
        "--entreprise-base-url",
        &app.entreprise_base,
        "--entreprise-token",
        &token,
    ])
    .await;
    println!("{out}");
    let mut failed: Vec<&str> = out
        .lines()
        .filter_map(|l| l.strip_prefix("FAIL  "))
        .filter_map(|l| l.split(':').next())
        .collect();
    failed.sort();
    let mut known = LIVE_DIFFERENCES.to_vec();
    known.sort();
    assert_eq!(failed, known, "{out}");
    let passed = out.lines().filter(|l| l.starts_with("ok    ")).count();
    assert!(passed >= 88, "{out}");
}
