//! `passerelle demo`: the simulators and the gateway in one process, on the embedded
//! store, with a fresh all-scopes token and a call that works.

use std::path::PathBuf;

use chrono::Utc;
use passerelle_entreprise_providers::EntrepriseProvidersConfig;
use passerelle_gateway::config::{HabilitationConfig, PublicSiteConfig};
use passerelle_gateway::ip_guard::IpLimits;
use passerelle_gateway::{AppState, GatewayConfig};
use passerelle_providers::ProvidersConfig;
use passerelle_tokens::{TokenRequest, DEFAULT_DAYS};
use tokio::net::TcpListener;

use crate::run::{entreprise_bouquet, prepare_data_dir, shutdown_signal, start_simulators};
use crate::token::parse_scopes;

pub const DEMO_SIRET: &str = "13002526500013";
/// The demo habilitations' data protection officer (a reserved, undeliverable domain).
const DEMO_DPO: &str = "dpd@passerelle-demo.invalid";

/// A v2 call: MARTIN Samuel's prime d'activité under v2's names, `recipient` left out.
const V2_EXAMPLE_QUERY: &str = "nomNaissance=MARTIN&prenoms[]=SAMUEL&anneeDateDeNaissance=1980&moisDateDeNaissance=9&jourDateDeNaissance=20&sexe=M&codePaysLieuDeNaissance=99100&codeInseeLieuDeNaissance=08480";
const EXAMPLE_QUERY: &str = "recipient=13002526500013&nomNaissance=MARTIN&prenoms[]=AXELLE&anneeDateNaissance=1989&moisDateNaissance=12&jourDateNaissance=3&sexeEtatCivil=F&codeCogInseePaysNaissance=99100&codeCogInseeCommuneNaissance=35238";

/// API Entreprise's three traceability parameters, for the printed example.
const ENTREPRISE_PURPOSE: &str = "context=D%C3%A9mo&recipient=13002526500013&object=Essai%20de%20Passerelle";

/// A FranceConnect access token of the simulator (from the official sandbox) whose
/// citizen the DSS simulator knows.
const FRANCE_CONNECT_TOKEN: &str = "cnaf_qfv2";
/// A citizen both the FranceConnect simulator (as a login) and the DSS simulator know.
const ANGELA: &str = "dubois_angela_19620824_75107";

/// Where the demo listens.
pub struct Listens<'a> {
    pub particulier: &'a str,
    pub entreprise: &'a str,
    pub simulators: &'a str,
}

pub async fn run(listens: Listens<'_>, data_dir: PathBuf, ip_limit_per_minute: u32) -> anyhow::Result<()> {
    let Listens {
        particulier: listen,
        entreprise: entreprise_listen,
        simulators: simulators_listen,
    } = listens;
    let listener = TcpListener::bind(listen).await?;
    let gateway = listener.local_addr()?;
    let entreprise_listener = TcpListener::bind(entreprise_listen).await?;
    let entreprise = entreprise_listener.local_addr()?;
    let jwks_url = format!("http://{gateway}/api/france_connect_jwks");
    let (simulators, _task) = start_simulators(simulators_listen, &jwks_url).await?;
    let config = GatewayConfig {
        listen: listen.to_string(),
        data_dir: data_dir.clone(),
        providers: ProvidersConfig::simulated(&format!("http://{simulators}")),
        entreprise: EntrepriseProvidersConfig::simulated(
            &format!("http://{simulators}"),
            &format!("http://{entreprise}"),
        ),
        ip_limits: IpLimits {
            per_minute: ip_limit_per_minute,
            ..IpLimits::default()
        },
        citizen_record: passerelle_citizen_record::simulated(
            &format!("http://{simulators}"),
            &format!("http://{gateway}"),
        ),
        habilitation: HabilitationConfig {
            entreprise_url: format!("http://{entreprise}"),
            ..passerelle_habilitation_web::simulated(&format!("http://{simulators}"), &format!("http://{gateway}"))
        },
        public_site: PublicSiteConfig {
            enabled: true,
            ..PublicSiteConfig::default()
        },
        ..GatewayConfig::default()
    };
    let url = config.database_url();
    prepare_data_dir(&url)?;
    let store = passerelle_journal::open(&url).await?;
    let state = AppState::new(config, store.clone()).await?;
    let jwt = all_scopes_token(&state, passerelle_particulier::NAME, "Démo Passerelle").await?;
    let entreprise_jwt = all_scopes_token(&state, passerelle_entreprise::NAME, "Démo Passerelle").await?;
    println!("Passerelle demo");
    println!("gateway: http://{gateway}");
    println!("API Entreprise: http://{entreprise}");
    println!("simulators: http://{simulators}");
    println!("data folder: {}", data_dir.display());
    println!("token (every scope): {jwt}");
    println!("try:");
    println!("  curl -sg -H 'Authorization: Bearer {jwt}' 'http://{gateway}/v3/dss/quotient_familial/identite?{EXAMPLE_QUERY}'");
    println!("FranceConnect (the bearer is the citizen's FranceConnect access token):");
    println!("  curl -s -H 'Authorization: Bearer {FRANCE_CONNECT_TOKEN}' 'http://{gateway}/v3/dss/quotient_familial/france_connect?recipient={DEMO_SIRET}'");
    println!("API Particulier v2 (the same token as a v2 key):");
    println!("  curl -sg -H 'X-Api-Key: {jwt}' 'http://{gateway}/api/v2/prime-activite?{V2_EXAMPLE_QUERY}'");
    println!("API Entreprise token (every scope): {entreprise_jwt}");
    println!("  curl -s -H 'Authorization: Bearer {entreprise_jwt}' 'http://{entreprise}/v4/insee/sirene/unites_legales/775672272?{ENTREPRISE_PURPOSE}'");
    println!("  curl -s -H 'Authorization: Bearer {entreprise_jwt}' 'http://{entreprise}/v4/dgfip/unites_legales/418166096/attestation_fiscale?{ENTREPRISE_PURPOSE}'");
    println!("  curl -s -H 'Authorization: Bearer {entreprise_jwt}' 'http://{entreprise}/privileges'");
    println!("INPI's actes et bilans (each `url` makes its PDF when followed, for an hour, no bearer):");
    println!("  curl -s -H 'Authorization: Bearer {entreprise_jwt}' 'http://{entreprise}/v3/inpi/rne/unites_legales/open_data/130025265/actes_bilans?{ENTREPRISE_PURPOSE}'");
    println!("Qui a consulté mes données ? Call about Angela DUBOIS, then log in as her (FranceConnect simulator):");
    println!("  curl -s -H 'Authorization: Bearer {ANGELA}' 'http://{gateway}/v3/dss/allocation_adulte_handicape/france_connect?recipient={DEMO_SIRET}'");
    println!("  http://{gateway}{}", passerelle_citizen_record::BASE);
    print_habilitation(&gateway.to_string(), &state.config.habilitation.editors);
    println!("Public sites (catalogue, status, stats; the sandbox token is on `passerelle sandbox`):");
    println!("  http://{gateway}/catalogue  http://{gateway}/statut  http://{gateway}/stats");
    println!("  http://{entreprise}/catalogue  http://{entreprise}/statut  http://{entreprise}/stats");
    let mut sites = passerelle_citizen_record::sites(&state, &gateway.to_string())?;
    passerelle_habilitation_web::add_site(&mut sites, &state, &gateway.to_string())?;
    let listeners = vec![
        (listener, passerelle_particulier::bouquet(&state.config.providers)?),
        (entreprise_listener, entreprise_bouquet(&state.config)?),
    ];
    let pages = passerelle_public_site::pages(&state).into_iter().collect();
    passerelle_gateway::serve_with_pages(listeners, sites, pages, state, shutdown_signal()).await?;
    Ok(())
}
/// A fresh token holding every scope, for the examples printed at start.
pub async fn all_scopes_token(state: &AppState, bouquet: &str, name: &str) -> anyhow::Result<String> {
    let request = TokenRequest {
        name: name.into(),
        siret: DEMO_SIRET.into(),
        bouquet: bouquet.into(),
        scopes: parse_scopes(bouquet, "all")?,
        expires_in_days: DEFAULT_DAYS,
        rate_limit_per_minute: None,
        allowed_ips: Vec::new(),
        dpo_email: Some(DEMO_DPO.into()),
    };
    let (_, jwt) = passerelle_tokens::issue(state.store.as_ref(), state.tokens.keys(), request, Utc::now()).await?;
    Ok(jwt)
}

/// The habilitation site's address and the ProConnect simulator's agents.
fn print_habilitation(gateway: &str, editors: &[passerelle_gateway::config::EditorConfig]) {
    println!("Habilitations (apply, instruct, get a token; then rotate it and read its usage under \"Mes habilitations\"; log in through the ProConnect simulator):");
    println!("  http://{gateway}{}", passerelle_habilitation_web::BASE);
    for agent in passerelle_providers::pro_connect::agents() {
        let second_factor = if agent.mfa { "" } else { ", second factor code 123456" };
        println!(
            "  - {} ({}, {}{second_factor})",
            agent.email, agent.role_hint, agent.organisation
        );
    }
    // Their agents find what clients delegate to them in the editor's space.
    for editor in editors {
        println!(
            "  editor {} (SIRET {}): its agents' space at http://{gateway}{}/editeur",
            editor.name,
            editor.sirets.join(", "),
            passerelle_habilitation_web::BASE
        );
    }
}
