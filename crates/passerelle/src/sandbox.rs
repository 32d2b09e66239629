//! `passerelle sandbox`: the gateway with every check of production (token, scopes,
//! recipient, parameters, limits, journal), answering from a folder of recorded cases
//! in the official sandbox format instead of calling the providers. Both bouquets are
//! served, each on its listener, from the one folder: API Entreprise's calls that match
//! no case get a 200 generated from the OpenAPI schemas (`--openapi`).

use std::path::{Path, PathBuf};

use clap::Args;
use passerelle_bouquet::Bouquet;
use passerelle_catalogue::Mode;
use passerelle_gateway::{Answers, AppState, GatewayConfig};
use passerelle_providers::france_connect::simulator::{self, citizens, Simulator};
use passerelle_providers::france_connect::FranceConnectConfig;
use passerelle_sandbox::{entreprise, reach, CaseBook, Lookup, Report, Sandbox, Schemas, Trigger};
use tokio::net::TcpListener;

use crate::demo::{all_scopes_token, DEMO_SIRET};
use crate::run::{database_url, prepare_data_dir, shutdown_signal};
use crate::StoreArgs;

#[derive(Args, Debug)]
pub struct Options {
    /// Folder of cases: one sub-folder per operation id, FranceConnect mocks in
    /// `france_connect/` (configuration `sandbox_cases`, PASSERELLE_SANDBOX_CASES).
    #[arg(long)]
    cases: Option<PathBuf>,
    #[arg(long, env = "PASSERELLE_CONFIG")]
    config: Option<PathBuf>,
    /// Listen address (overrides the configuration).
    #[arg(long)]
    listen: Option<String>,
    /// API Entreprise's listen address (overrides the configuration).
    #[arg(long)]
    entreprise_listen: Option<String>,
    /// OpenAPI document whose 200 schemas build API Entreprise's answers when no case
    /// matches: the official file or the trimmed copy (the default, built in).
    #[arg(long)]
    openapi: Option<PathBuf>,
    /// Reload on SIGHUP only, not on file changes (e.g. where the file system sends
    /// no change events).
    #[arg(long)]
    no_watch: bool,
    /// Ask FranceConnect (`providers.france_connect`) about access tokens that no mock
    /// of `france_connect/` holds (configuration `sandbox_france_connect`).
    #[arg(long)]
    france_connect: bool,
    /// Start the FranceConnect simulator beside the sandbox and ask it about the tokens
    /// no mock holds: its citizens have a token for each identity of the official
    /// FranceConnect cases.
    #[arg(long)]
    france_connect_simulator: bool,
    /// Print which FranceConnect token reaches each FranceConnect case of the folder
    /// (Markdown), then exit.
    #[arg(long)]
    france_connect_table: bool,
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let mut config = GatewayConfig::load(options.config.as_deref())?;
    if let Some(listen) = options.listen {
        config.listen = listen;
    }
    if let Some(listen) = options.entreprise_listen {
        config.entreprise_listen = listen;
    }
    if let Some(dir) = &options.store.data_dir {
        config.data_dir = dir.clone();
    }
    let cases = options
        .cases
        .or_else(|| config.sandbox_cases.clone())
        .ok_or_else(|| anyhow::anyhow!("no case folder: give --cases DIR (or PASSERELLE_SANDBOX_CASES)"))?;
    let schemas = match &options.openapi {
        Some(path) => Schemas::read(path).map_err(|e| anyhow::anyhow!("--openapi: {e}"))?,
        None => Schemas::bundled(),
    };
    let operations = schemas.len();
    let (sandbox, report) = Sandbox::open_with(&cases, schemas)
        .map_err(|e| anyhow::anyhow!("case folder {} cannot be read: {e}", cases.display()))?;
    if options.france_connect_table {
        print!(
            "{}",
            reach::table(&reach::france_connect_reach(&sandbox.book(), &citizens()))
        );
        return Ok(());
    }
    println!("API Entreprise 200 schemas: {operations} operations");
    print_report("cases", &cases, &report);

    let url = database_url(&options.store, &config);
    prepare_data_dir(&url)?;
    let store = passerelle_journal::open(&url).await?;
    let listener = TcpListener::bind(&config.listen).await?;
    let entreprise_listener = TcpListener::bind(&config.entreprise_listen).await?;
    let gateway = format!("http://{}", listener.local_addr()?);
    let entreprise_base = format!("http://{}", entreprise_listener.local_addr()?);
    config.sandbox_france_connect |= options.france_connect || options.france_connect_simulator;
    if options.france_connect_simulator {
        let base = start_france_connect(&gateway).await?;
        config.providers.france_connect = FranceConnectConfig::simulated(&base);
        println!(
            "FranceConnect simulator: {base} ({} citizens; `passerelle sandbox --cases DIR --france-connect-table` lists the token of each case)",
            citizens().len()
        );
    }
    let data_dir = config.data_dir.clone();
    let particulier = passerelle_particulier::bouquet(&config.providers)?;
    // Every operation of the catalogue, answered by the book: no provider is called.
    let entreprise_bouquet = passerelle_entreprise::bouquet(entreprise::registry());
    // The sandbox's public site hands a token to whoever asks: its tokens open only it.
    config.public_site.enabled = true;
    config.public_site.self_service_tokens = true;
    // Recorded answers, no provider: nothing to probe.
    config.public_site.probe_every_secs = 0;
    config.public_site.example_calls = example_calls(&sandbox.book(), &entreprise_bouquet);
    let state = AppState::answered_by(config, store.clone(), Answers::Recorded(sandbox.clone())).await?;
    let jwt = all_scopes_token(&state, passerelle_particulier::NAME, "Bac à sable Passerelle").await?;
    let entreprise_jwt = all_scopes_token(&state, passerelle_entreprise::NAME, "Bac à sable Passerelle").await?;
    println!("Passerelle sandbox");
    println!("gateway: {gateway}");
    println!("API Entreprise: {entreprise_base}");
    println!("data folder: {}", data_dir.display());
    println!("token (every scope): {jwt}");
    let book = sandbox.book();
    if let Some(url) = example(&book, &gateway) {
        println!("try:");
        println!("  curl -sg -H 'Authorization: Bearer {jwt}' '{url}'");
    }
    if let Some((token, url)) = france_connect_example(&book, &gateway) {
        println!(
            "FranceConnect (the bearer is a token of {}/):",
            passerelle_sandbox::FRANCE_CONNECT
        );
        println!("  curl -sg -H 'Authorization: Bearer {token}' '{url}'");
    }
    println!("API Entreprise token (every scope): {entreprise_jwt}");
    if let Some(url) = entreprise_example(&book, &entreprise_bouquet, &entreprise_base) {
        println!("  curl -s -H 'Authorization: Bearer {entreprise_jwt}' '{url}'");
    }

    let shown = cases.clone();
    let _watch = passerelle_sandbox::watch(sandbox, !options.no_watch, move |trigger, report| {
        let why = match trigger {
            Trigger::FileChange => "reloaded (file change)",
            Trigger::Signal => "reloaded (SIGHUP)",
        };
        match report {
            Ok(report) => print_report(why, &shown, &report),
            Err(e) => {
                println!("reload failed, the previous cases still serve: {e}");
                tracing::error!(error = %e, "sandbox reload failed");
            }
        }
    })?;
    let listeners = vec![(listener, particulier), (entreprise_listener, entreprise_bouquet)];
    let pages = passerelle_public_site::pages(&state).into_iter().collect();
    passerelle_gateway::serve_with_pages(listeners, Default::default(), pages, state, shutdown_signal()).await?;
    Ok(())
}

/// The FranceConnect simulator on a port of its own, encrypting to the sandbox's key;
/// its base URL.
async fn start_france_connect(gateway: &str) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/france_connect", listener.local_addr()?);
    let simulator = Simulator::with_default_people(&format!("{gateway}/api/france_connect_jwks"));
    let router = axum::Router::new().nest("/france_connect", simulator::router(simulator));
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "FranceConnect simulator stopped");
        }
    });
    Ok(base)
}

/// Rejected files first, one a line with the reason, then the summary.
fn print_report(what: &str, dir: &Path, report: &Report) {
    for rejected in &report.rejected {
        println!("rejected {rejected}");
        tracing::warn!(file = %rejected.file, reason = %rejected.reason, "case file left out");
    }
    println!("{what}: {} ({report})", dir.display());
}

/// A call that the book answers with 200: the first such case of the catalogue's
/// first endpoint that has one.
fn example(book: &CaseBook, gateway: &str) -> Option<String> {
    passerelle_catalogue::all()
        .into_iter()
        .filter(|e| e.mode != Mode::FranceConnect)
        .flat_map(|e| e.versions.iter().map(move |v| (e, *v)))
        .find_map(|(endpoint, version)| {
            let folder = book
                .folders
                .get(&passerelle_catalogue::operation_id(endpoint, version))?;
            let case = folder
                .cases
                .iter()
                .find(|c| c.status == 200 && c.params.as_ref().is_some_and(|p| !p.is_empty()))?;
            let mut pairs = vec![("recipient".to_string(), DEMO_SIRET.to_string())];
            pairs.extend(case.query.iter().cloned());
            let path = format!("{gateway}{}", endpoint.public_path(version));
            reqwest::Url::parse_with_params(&path, &pairs).ok().map(String::from)
        })
}

/// A FranceConnect call answered 200: the first FranceConnect endpoint and mock token
/// (in name order) whose scopes open the endpoint and whose identity selects a 200 case.
fn france_connect_example(book: &CaseBook, gateway: &str) -> Option<(String, String)> {
    let mut mocks: Vec<_> = book.france_connect.iter().filter(|(_, mock)| mock.active).collect();
    mocks.sort_by_key(|(token, _)| token.as_str());
    passerelle_catalogue::all()
        .into_iter()
        .filter(|e| e.mode == Mode::FranceConnect)
        .flat_map(|e| e.versions.iter().map(move |v| (e, *v)))
        .find_map(|(endpoint, version)| {
            let operation = passerelle_catalogue::operation_id(endpoint, version);
            let (token, _) = mocks.iter().find(|(_, mock)| {
                let opens = endpoint
                    .access_scopes
                    .iter()
                    .any(|s| mock.scopes.iter().any(|m| m == s));
                let answer = book.find(&operation, &mock.identity, true);
                opens && matches!(answer, Lookup::Case(case) if case.status == 200)
            })?;
            let url = format!("{gateway}{}?recipient={DEMO_SIRET}", endpoint.public_path(version));
            Some((token.to_string(), url))
        })
}

/// An API Entreprise call that the book answers with a recorded 200: the first such
/// case of the catalogue's order, with the three traceability parameters.
/// A call per bouquet that a case of the book answers, as a path and query, for the
/// sandbox page's curl.
fn example_calls(book: &CaseBook, entreprise_bouquet: &Bouquet) -> std::collections::BTreeMap<String, String> {
    // Any base will do: only the path and query are kept.
    const BASE: &str = "http://sandbox.invalid";
    let calls = [
        (passerelle_particulier::NAME, example(book, BASE)),
        (
            passerelle_entreprise::NAME,
            entreprise_example(book, entreprise_bouquet, BASE),
        ),
    ];
    calls
        .into_iter()
        .filter_map(|(name, url)| Some((name.to_string(), url?.strip_prefix(BASE)?.to_string())))
        .collect()
}

fn entreprise_example(book: &CaseBook, bouquet: &Bouquet, base: &str) -> Option<String> {
    bouquet
        .endpoints
        .iter()
        .flat_map(|e| e.versions.iter().map(move |v| (*e, *v)))
        .find_map(|(endpoint, version)| {
            let folder = book.folders.get(&bouquet.operation_id(endpoint, version))?;
            let case = folder.cases.iter().find(|c| c.status == 200 && c.params.is_some())?;
            let (path, mut pairs) = entreprise::request(endpoint, version, &case.query)?;
            pairs.extend(
                [
                    ("context", "Bac à sable"),
                    ("recipient", DEMO_SIRET),
                    ("object", "Essai"),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string())),
            );
            reqwest::Url::parse_with_params(&format!("{base}{path}"), &pairs)
                .ok()
                .map(String::from)
        })
}
