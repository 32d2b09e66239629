//! `passerelle sandbox`: the gateway with every check of production (token, scopes,
//! recipient, parameters, limits, journal), answering from a folder of recorded cases
//! in the official sandbox format instead of calling the providers.

use std::path::{Path, PathBuf};

use clap::Args;
use passerelle_catalogue::Mode;
use passerelle_gateway::{Answers, AppState, GatewayConfig};
use passerelle_sandbox::{CaseBook, Lookup, Report, Sandbox, Trigger};
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
    /// Reload on SIGHUP only, not on file changes (e.g. where the file system sends
    /// no change events).
    #[arg(long)]
    no_watch: bool,
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let mut config = GatewayConfig::load(options.config.as_deref())?;
    if let Some(listen) = options.listen {
        config.listen = listen;
    }
    if let Some(dir) = &options.store.data_dir {
        config.data_dir = dir.clone();
    }
    let cases = options
        .cases
        .or_else(|| config.sandbox_cases.clone())
        .ok_or_else(|| anyhow::anyhow!("no case folder: give --cases DIR (or PASSERELLE_SANDBOX_CASES)"))?;
    let (sandbox, report) =
        Sandbox::open(&cases).map_err(|e| anyhow::anyhow!("case folder {} cannot be read: {e}", cases.display()))?;
    print_report("cases", &cases, &report);

    let url = database_url(&options.store, &config);
    prepare_data_dir(&url)?;
    let store = passerelle_journal::open(&url).await?;
    let listener = TcpListener::bind(&config.listen).await?;
    let gateway = format!("http://{}", listener.local_addr()?);
    let data_dir = config.data_dir.clone();
    let bouquet = passerelle_particulier::bouquet(&config.providers)?;
    let state = AppState::answered_by(config, store.clone(), Answers::Recorded(sandbox.clone())).await?;
    let jwt = all_scopes_token(&state, passerelle_particulier::NAME, "Bac à sable Passerelle").await?;
    println!("Passerelle sandbox");
    println!("gateway: {gateway}");
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
    passerelle_gateway::serve(vec![(listener, bouquet)], state, shutdown_signal()).await?;
    Ok(())
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
