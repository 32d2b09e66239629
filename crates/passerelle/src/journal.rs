//! `passerelle journal …`: the auditor's and the operator's journal commands (the work
//! is `passerelle_journal`'s): verify the hash chains and signed seals, export rows as
//! JSON lines, purge rows past retention, count calls.

use std::io::IsTerminal;
use std::path::PathBuf;

use chrono::{DateTime, Months, NaiveDate, Utc};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use passerelle_gateway::GatewayConfig;
use passerelle_journal::Progress;
use passerelle_store::TimeRange;

use crate::run::{database_url, prepare_data_dir};
use crate::StoreArgs;

#[derive(Subcommand)]
pub enum JournalCommand {
    /// Checks every writer's hash chain and every seal's signature; exits non-zero
    /// and names the first broken row when something does not hold.
    Verify {
        /// A heads file (`journal.heads_file`, kept out of the database's reach): also
        /// proves that every writer it names still reaches its newest signed head.
        #[arg(long, value_name = "HEADS_FILE")]
        against: Option<PathBuf>,
    },
    /// Writes rows as JSON lines, oldest first.
    Export {
        /// From this time (RFC 3339 or YYYY-MM-DD, UTC), included.
        #[arg(long, value_parser = parse_time)]
        since: Option<DateTime<Utc>>,
        /// Until this time (RFC 3339 or YYYY-MM-DD, UTC), excluded.
        #[arg(long, value_parser = parse_time)]
        until: Option<DateTime<Utc>>,
        /// File to write (standard output by default).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Removes rows older than the retention (`journal.retention_months`, 36 by
    /// default), leaving a signed anchor so the chains still verify.
    Purge {
        /// `36m` (months), `90d` (days) or a date (RFC 3339 or YYYY-MM-DD).
        #[arg(long)]
        older_than: Option<String>,
    },
    /// Calls per bouquet, caller, endpoint and status over a period.
    Stats {
        #[arg(long, value_parser = parse_time)]
        since: Option<DateTime<Utc>>,
        #[arg(long, value_parser = parse_time)]
        until: Option<DateTime<Utc>>,
    },
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        .map_err(|_| format!("`{text}` is neither RFC 3339 nor YYYY-MM-DD"))
}

/// The purge's cut-off: `older_than` (`36m`, `90d`, a date) or the configured retention.
fn cutoff(older_than: Option<&str>, retention_months: u32, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let text = match older_than {
        Some(t) => t.trim().to_string(),
        None => format!("{retention_months}m"),
    };
    let number = |suffix: char| text.strip_suffix(suffix).and_then(|n| n.parse::<u32>().ok());
    let cut = if let Some(months) = number('m') {
        now.checked_sub_months(Months::new(months))
    } else if let Some(days) = number('d') {
        now.checked_sub_signed(chrono::Duration::days(i64::from(days)))
    } else {
        Some(parse_time(&text).map_err(anyhow::Error::msg)?)
    };
    cut.ok_or_else(|| anyhow::anyhow!("--older-than {text} is out of range"))
}

/// A progress bar on standard error when it is a terminal.
struct Bar(ProgressBar);

impl Bar {
    fn new(what: &str) -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(ProgressBar::hidden());
        }
        let bar = ProgressBar::new(0);
        if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows ({eta})") {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_string());
        Bar(bar)
    }
}

impl Progress for Bar {
    fn total(&self, rows: u64) {
        self.0.set_length(rows);
    }

    fn advance(&self, rows: u64) {
        self.0.inc(rows);
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

pub async fn run(command: JournalCommand, config: Option<PathBuf>, store_args: &StoreArgs) -> anyhow::Result<()> {
    let config = GatewayConfig::load(config.as_deref())?;
    let url = database_url(store_args, &config);
    prepare_data_dir(&url)?;
    let store = passerelle_journal::open(&url).await?;
    let store = store.as_ref();
    match command {
        JournalCommand::Verify { against } => {
            let report = passerelle_journal::verify(store, &Bar::new("verifying")).await?;
            println!("{}", report.summary());
            if let Some(broken) = report.broken {
                anyhow::bail!("journal broken: {broken}");
            }
            if let Some(path) = against {
                verify_heads(store, &path).await?;
            }
        }
        JournalCommand::Export { since, until, output } => {
            let range = TimeRange { since, until };
            let bar = Bar::new("exporting");
            let rows = match output {
                Some(path) => {
                    let file = std::io::BufWriter::new(std::fs::File::create(&path)?);
                    let n = passerelle_journal::export(store, range, file, &bar).await?;
                    eprintln!("{n} rows written to {}", path.display());
                    n
                }
                None => passerelle_journal::export(store, range, std::io::stdout().lock(), &bar).await?,
            };
            tracing::debug!(rows, "journal exported");
        }
        JournalCommand::Purge { older_than } => {
            let before = cutoff(older_than.as_deref(), config.journal.retention_months, Utc::now())?;
            let deleted = passerelle_journal::purge(store, before).await?;
            println!("purged {deleted} rows older than {}", before.to_rfc3339());
        }
        JournalCommand::Stats { since, until } => {
            println!(
                "{:<12}  {:<45}  {:<48}  {:>6}  {:>8}",
                "bouquet", "caller", "endpoint", "status", "calls"
            );
            for c in store.call_counts(TimeRange { since, until }).await? {
                let caller = c.caller.map_or_else(|| "-".into(), |c| c.to_string());
                println!(
                    "{:<12}  {caller:<45}  {:<48}  {:>6}  {:>8}",
                    c.bouquet, c.endpoint, c.status, c.calls
                );
            }
        }
    }
    Ok(())
}

/// Checks the store against the signed heads in `path`; an error names every writer cut.
async fn verify_heads(store: &dyn passerelle_store::Store, path: &std::path::Path) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let heads = passerelle_journal::heads::parse(&text).map_err(anyhow::Error::msg)?;
    let report = passerelle_journal::heads::check(store, &heads).await?;
    println!("{}", report.summary());
    if !report.problems.is_empty() {
        anyhow::bail!("journal tail cut or heads forged:\n{}", report.problems.join("\n"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_read_months_days_and_dates() {
        let now = parse_time("2026-11-22T10:00:00Z").unwrap();
        assert_eq!(
            cutoff(None, 36, now).unwrap(),
            parse_time("2023-11-22T10:00:00Z").unwrap()
        );
        assert_eq!(
            cutoff(Some("90d"), 36, now).unwrap(),
            parse_time("2026-08-24T10:00:00Z").unwrap()
        );
        assert_eq!(
            cutoff(Some("2025-01-01"), 36, now).unwrap(),
            parse_time("2025-01-01T00:00:00Z").unwrap()
        );
        assert!(cutoff(Some("soon"), 36, now).is_err());
    }
}
