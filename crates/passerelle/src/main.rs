//! `passerelle`: run the gateway, the provider simulators or both (demo), the sandbox,
//! manage tokens and signing keys, and replay official sandbox cases against a running gateway.

mod batch;
mod conformance;
mod demo;
mod ip_bans;
mod journal;
mod keys;
mod logs;
mod run;
mod sandbox;
mod status;
mod token;
mod verify_answer;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

// The system allocator took about a tenth of a call's CPU (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "passerelle", version, about = "API Particulier gateway")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the store is: a data folder (embedded SQLite) or a database URL.
#[derive(Args, Clone, Debug)]
pub struct StoreArgs {
    /// Data folder (holds the embedded SQLite store).
    #[arg(long, global = true, env = "PASSERELLE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://…` or `postgres://…`); wins over --data-dir.
    #[arg(long, global = true, env = "PASSERELLE_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// The gateway alone, configured by a TOML file and PASSERELLE_* variables.
    Serve {
        #[arg(long, env = "PASSERELLE_CONFIG")]
        config: Option<PathBuf>,
        /// API Particulier's listen address (overrides the configuration).
        #[arg(long)]
        listen: Option<String>,
        /// API Entreprise's listen address (overrides the configuration; default 127.0.0.1:8081).
        #[arg(long)]
        entreprise_listen: Option<String>,
        /// Redis shared by the replicas (`redis://host:port`; overrides the configuration).
        #[arg(long, env = "PASSERELLE_REDIS_URL")]
        redis_url: Option<String>,
        /// Where Prometheus scrapes `/metrics` (overrides the configuration).
        #[arg(long)]
        metrics_listen: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
        /// Benchmarks only: answers calls without journaling them (hidden; logs a
        /// warning). Never set it in production: calls would leave no legal trace.
        #[arg(long, hide = true)]
        bench_without_journal: bool,
    },
    /// The provider simulators alone.
    Simulate {
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: String,
        /// The gateway's JWKS, whose key the FranceConnect simulator encrypts to.
        #[arg(long, default_value = passerelle_providers::france_connect::simulator::DEFAULT_GATEWAY_JWKS_URL)]
        gateway_jwks_url: String,
    },
    /// Simulators and gateway in one process, with a demo token and a working example.
    Demo {
        /// API Particulier's listen address.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: String,
        /// API Entreprise's listen address.
        #[arg(long, default_value = "127.0.0.1:8081")]
        entreprise_listen: String,
        #[arg(long, default_value = "./passerelle-data")]
        data_dir: PathBuf,
        /// Where the simulators listen (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:0")]
        simulators_listen: String,
        /// Calls a minute from one client IP, per bouquet (the contract's 1000; the
        /// contract-fuzzing run raises it).
        #[arg(long, default_value_t = 1000)]
        ip_limit_per_minute: u32,
    },
    /// Runs the store's migrations.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Issue, list, revoke and prolong tokens.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Rotate and list the keys that sign tokens and answers.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List and lift the bans of client IPs that kept calling while refused.
    IpBans {
        #[command(subcommand)]
        command: ip_bans::IpBansCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Open, annotate, close and list the incident and maintenance notices of `/statut`.
    Status {
        #[command(subcommand)]
        command: status::StatusCommand,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Verify, export and purge the journal; count calls.
    Journal {
        #[command(subcommand)]
        command: journal::JournalCommand,
        /// Configuration file (for `journal.retention_months` and the database).
        #[arg(long, global = true, env = "PASSERELLE_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Replays a folder of official sandbox cases against a running gateway.
    Conformance(conformance::Options),
    /// The gateway answering from a folder of recorded cases (official sandbox format).
    Sandbox(sandbox::Options),
    /// Calls an endpoint once per row of a CSV file, paced and resumable (docs/batch.md).
    Batch(batch::Options),
    /// Checks a signed answer against the gateway's published keys (a URL or a saved file).
    VerifyAnswer(verify_answer::Options),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let _flush_logs = logs::init()?;
    match cli.command {
        Command::Serve {
            config,
            listen,
            entreprise_listen,
            redis_url,
            metrics_listen,
            store,
            bench_without_journal,
        } => {
            let overrides = run::Overrides {
                listen,
                entreprise_listen,
                redis_url,
                metrics_listen,
                bench_without_journal,
            };
            run::serve(config.as_deref(), overrides, store).await
        }
        Command::Simulate {
            listen,
            gateway_jwks_url,
        } => run::simulate(&listen, &gateway_jwks_url).await,
        Command::Demo {
            listen,
            entreprise_listen,
            data_dir,
            simulators_listen,
            ip_limit_per_minute,
        } => {
            let listens = demo::Listens {
                particulier: &listen,
                entreprise: &entreprise_listen,
                simulators: &simulators_listen,
            };
            demo::run(listens, data_dir, ip_limit_per_minute).await
        }
        Command::Migrate { store } => {
            run::open_store(&store).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Token { command, store } => token::run(command, &store).await,
        Command::Keys { command, store } => keys::run(command, &store).await,
        Command::IpBans { command, store } => ip_bans::run(command, &store).await,
        Command::Status { command, store } => status::run(command, &store).await,
        Command::Journal { command, config, store } => journal::run(command, config, &store).await,
        Command::Conformance(options) => conformance::run(options).await,
        Command::Sandbox(options) => sandbox::run(options).await,
        Command::Batch(options) => batch::run(options).await,
        Command::VerifyAnswer(options) => verify_answer::run(options).await,
    }
}
