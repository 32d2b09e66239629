//! `passerelle batch`: one call per row of a CSV file, with the results in another CSV
//! (see docs/batch.md). The work is `passerelle_batch`'s; this only reads the options.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use passerelle_batch::{Backoff, Config, Mapping};

#[derive(Args, Debug)]
pub struct Options {
    /// The bouquet's base URL (`https://particulier.example.fr`), without the endpoint.
    #[arg(long)]
    base_url: String,
    /// A file holding the token (never given on the command line, where `ps` shows it).
    #[arg(long)]
    token_file: PathBuf,
    /// The endpoint's path, `{name}` for a path parameter (`/v3/insee/unites_legales/{siren}`).
    #[arg(long)]
    endpoint: String,
    /// The CSV of the rows to call: one column per parameter.
    #[arg(long)]
    input: PathBuf,
    /// The CSV of the results, appended row by row; an existing one is resumed.
    #[arg(long)]
    output: PathBuf,
    /// The SIRET of the organisation calling, added to every call.
    #[arg(long)]
    recipient: Option<String>,
    /// API Entreprise's `context`, added to every call.
    #[arg(long)]
    context: Option<String>,
    /// API Entreprise's `object`, added to every call.
    #[arg(long)]
    object: Option<String>,
    /// A CSV `column,parameter` renaming the input's columns (empty parameter: ignored).
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Attempts per row on 502/503/504 or a connection error, the first one included.
    #[arg(long, default_value_t = 5)]
    max_attempts: u32,
    /// Stop after this many rows answered in this run.
    #[arg(long)]
    max_rows: Option<u64>,
    /// Seconds to wait for one answer.
    #[arg(long, default_value_t = 60)]
    timeout_secs: u64,
}

pub async fn run(options: Options) -> anyhow::Result<()> {
    let config = config(options)?;
    let summary = passerelle_batch::run(&config).await?;
    eprintln!("{summary}");
    Ok(())
}

fn config(options: Options) -> anyhow::Result<Config> {
    // The token's content never appears in an error: only the file's name.
    let token = std::fs::read_to_string(&options.token_file)
        .with_context(|| format!("reading the token file {}", options.token_file.display()))?;
    let mut config = Config::new(
        &options.base_url,
        &token,
        &options.endpoint,
        &options.input,
        &options.output,
    );
    config.fixed.recipient = options.recipient;
    config.fixed.context = options.context;
    config.fixed.object = options.object;
    if let Some(path) = &options.mapping {
        config.mapping = Mapping::read(path)?;
    }
    config.backoff = Backoff {
        max_attempts: options.max_attempts.max(1),
        ..Backoff::default()
    };
    config.max_rows = options.max_rows;
    config.timeout = Duration::from_secs(options.timeout_secs);
    config.progress = true;
    Ok(config)
}
