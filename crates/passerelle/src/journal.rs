//! `passerelle journal …`: the auditor's and the operator's journal commands, straight
//! on the store: verify the hash chains and signed seals, export rows as JSON lines,
//! purge rows past retention, count calls.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use chrono::{DateTime, Months, NaiveDate, Utc};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use passerelle_gateway::GatewayConfig;
use passerelle_store::chain::{self, GENESIS};
use passerelle_store::{ChainedRow, Seal, SealKind, SigningKey, Store, TimeRange, WriterSpan, LEGACY_WRITER};
use serde_json::json;
use uuid::Uuid;

use crate::run::{database_url, prepare_data_dir};
use crate::StoreArgs;

const PAGE: u32 = 5000;

#[derive(Subcommand)]
pub enum JournalCommand {
    /// Checks every writer's hash chain and every seal's signature; exits non-zero
    /// and names the first broken row when something does not hold.
    Verify,
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
    /// Calls per token, endpoint and status over a period.
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

fn progress(len: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} rows ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

pub async fn run(command: JournalCommand, config: Option<PathBuf>, store_args: &StoreArgs) -> anyhow::Result<()> {
    let config = GatewayConfig::load(config.as_deref())?;
    let url = database_url(store_args, &config);
    prepare_data_dir(&url)?;
    let store = passerelle_store::open(&url).await?;
    match command {
        JournalCommand::Verify => {
            let report = verify(store.as_ref()).await?;
            println!("{}", report.summary());
            if let Some(broken) = report.broken {
                anyhow::bail!("journal broken: {broken}");
            }
        }
        JournalCommand::Export { since, until, output } => {
            let range = TimeRange { since, until };
            let rows = match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)?;
                    let n = export(store.as_ref(), range, std::io::BufWriter::new(file)).await?;
                    eprintln!("{n} rows written to {}", path.display());
                    n
                }
                None => export(store.as_ref(), range, std::io::stdout().lock()).await?,
            };
            tracing::debug!(rows, "journal exported");
        }
        JournalCommand::Purge { older_than } => {
            let before = cutoff(older_than.as_deref(), config.journal.retention_months, Utc::now())?;
            let deleted = purge(store.as_ref(), before).await?;
            println!("purged {deleted} rows older than {}", before.to_rfc3339());
        }
        JournalCommand::Stats { since, until } => {
            println!("{:<36}  {:<48}  {:>6}  {:>8}", "jti", "endpoint", "status", "calls");
            for c in store.call_counts(TimeRange { since, until }).await? {
                let jti = c.jti.map(|j| j.to_string()).unwrap_or_else(|| "-".into());
                println!("{jti:<36}  {:<48}  {:>6}  {:>8}", c.endpoint, c.status, c.calls);
            }
        }
    }
    Ok(())
}

fn export_line(row: &ChainedRow) -> serde_json::Value {
    let r = &row.row;
    json!({
        "request_id": r.request_id,
        "at": chain::time_text(r.at),
        "jti": r.jti,
        "recipient": r.recipient,
        "endpoint": r.endpoint,
        "status": r.status,
        "duration_ms": r.duration_ms,
        "params_hash": r.params_hash,
        "cached": r.cached,
        "writer": row.writer,
        "seq": row.seq,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    })
}

/// Writes the rows of `range` as JSON lines; returns how many.
pub async fn export(store: &dyn Store, range: TimeRange, mut out: impl Write) -> anyhow::Result<u64> {
    let bar = progress(store.journal_count(range).await?.max(0) as u64, "exporting");
    let (mut after, mut written) = (0, 0u64);
    loop {
        let page = store.journal_page(range, after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, row) in &page {
            serde_json::to_writer(&mut out, &export_line(row))?;
            out.write_all(b"\n")?;
        }
        written += page.len() as u64;
        bar.set_position(written);
    }
    out.flush()?;
    bar.finish_and_clear();
    Ok(written)
}

/// Removes every writer's rows older than `before`, each replaced by a signed anchor.
pub async fn purge(store: &dyn Store, before: DateTime<Utc>) -> anyhow::Result<u64> {
    let points = store.purge_points(before).await?;
    if points.is_empty() {
        return Ok(0);
    }
    let key = newest_key(store).await?;
    let mut deleted = 0;
    for p in points {
        let anchor = chain::seal(SealKind::Anchor, p.writer, p.seq, &p.hash, &key)?;
        deleted += store.purge_writer(&anchor).await?;
    }
    Ok(deleted)
}

async fn newest_key(store: &dyn Store) -> anyhow::Result<SigningKey> {
    store
        .signing_keys()
        .await?
        .into_iter()
        .rfind(|k| k.algorithm == "EdDSA")
        .ok_or_else(|| anyhow::anyhow!("the store holds no Ed25519 key"))
}

/// What `verify` found.
#[derive(Debug, Default)]
pub struct Report {
    pub writers: usize,
    pub rows: u64,
    pub seals: usize,
    /// Rows after their writer's last checkpoint (not signed yet).
    pub unsealed: u64,
    pub legacy: i64,
    /// The first thing that does not hold, with the row it concerns.
    pub broken: Option<String>,
}

impl Report {
    fn summary(&self) -> String {
        let mut text = format!(
            "{} writers, {} rows chained, {} seals verified, {} rows after their writer's last checkpoint",
            self.writers, self.rows, self.seals, self.unsealed
        );
        if self.legacy > 0 {
            text.push_str(&format!(
                "; {} rows from before the chain cannot be verified",
                self.legacy
            ));
        }
        text.push_str(if self.broken.is_some() { ": BROKEN" } else { ": OK" });
        text
    }
}

fn describe(row: &ChainedRow) -> String {
    format!(
        "writer {} seq {} (request {}, {})",
        row.writer,
        row.seq,
        row.row.request_id,
        chain::time_text(row.row.at)
    )
}

/// Checks every chain, row by row, and every seal.
pub async fn verify(store: &dyn Store) -> anyhow::Result<Report> {
    let keys = store.signing_keys().await?;
    let spans = store.journal_writers().await?;
    let mut seals: HashMap<Uuid, Vec<Seal>> = HashMap::new();
    for seal in store.journal_seals().await? {
        seals.entry(seal.writer).or_default().push(seal);
    }
    let mut report = Report::default();
    let total = spans.iter().map(|s| s.rows.max(0) as u64).sum();
    let bar = progress(total, "verifying");
    for span in &spans {
        if span.writer == LEGACY_WRITER {
            report.legacy = span.rows;
            continue;
        }
        report.writers += 1;
        let writer_seals = seals.remove(&span.writer).unwrap_or_default();
        if let Err(why) = verify_writer(store, span, &writer_seals, &keys, &mut report, &bar).await? {
            report.broken = Some(why);
            break;
        }
    }
    // Seals of writers that have no row left: only anchors may stand alone.
    if report.broken.is_none() {
        for (writer, rest) in seals {
            for seal in rest {
                if !chain::seal_is_signed(&seal, &keys) {
                    report.broken = Some(format!(
                        "writer {writer}: {} at seq {} has a bad signature",
                        seal.kind.as_str(),
                        seal.seq
                    ));
                } else if seal.kind == SealKind::Checkpoint && writer != LEGACY_WRITER {
                    report.broken = Some(format!(
                        "writer {writer} seq {}: signed by a checkpoint, but the writer's rows are gone",
                        seal.seq
                    ));
                }
                if report.broken.is_some() {
                    break;
                }
                report.seals += 1;
            }
        }
    }
    bar.finish_and_clear();
    Ok(report)
}

/// `Ok(Err(why))` when the chain is broken.
async fn verify_writer(
    store: &dyn Store,
    span: &WriterSpan,
    seals: &[Seal],
    keys: &[SigningKey],
    report: &mut Report,
    bar: &ProgressBar,
) -> anyhow::Result<Result<(), String>> {
    let writer = span.writer;
    for seal in seals {
        if !chain::seal_is_signed(seal, keys) {
            return Ok(Err(format!(
                "writer {writer}: {} at seq {} has a bad signature",
                seal.kind.as_str(),
                seal.seq
            )));
        }
        if seal.seq > span.last_seq {
            return Ok(Err(format!(
                "writer {writer}: rows after seq {} are missing (a checkpoint signed seq {})",
                span.last_seq, seal.seq
            )));
        }
    }
    // Where the kept chain starts: at its genesis, or after the purge's anchor.
    let anchor = seals
        .iter()
        .find(|s| s.kind == SealKind::Anchor && s.seq == span.first_seq - 1);
    let (mut expected_seq, mut prev) = match anchor {
        Some(a) => (a.seq + 1, a.hash.clone()),
        None => (1, GENESIS.to_string()),
    };
    let signed: HashMap<i64, &str> = seals
        .iter()
        .filter(|s| s.kind == SealKind::Checkpoint && s.seq >= span.first_seq)
        .map(|s| (s.seq, s.hash.as_str()))
        .collect();
    let mut last_signed = anchor.map_or(0, |a| a.seq);
    let mut after = span.first_seq - 1;
    loop {
        let rows = store.writer_rows(writer, after, PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for row in &rows {
            if row.seq != expected_seq {
                return Ok(Err(format!(
                    "writer {writer}: seq {expected_seq} is missing (next row is {})",
                    describe(row)
                )));
            }
            if row.prev_hash != prev {
                return Ok(Err(format!(
                    "{}: its previous hash does not match the row before it",
                    describe(row)
                )));
            }
            if chain::row_hash(writer, row.seq, &row.prev_hash, &row.row) != row.hash {
                return Ok(Err(format!(
                    "{}: its content does not match its hash (row altered)",
                    describe(row)
                )));
            }
            if let Some(hash) = signed.get(&row.seq) {
                if *hash != row.hash {
                    return Ok(Err(format!(
                        "{}: differs from the checkpoint signed for it",
                        describe(row)
                    )));
                }
                last_signed = row.seq;
            }
            prev = row.hash.clone();
            expected_seq += 1;
        }
        report.rows += rows.len() as u64;
        bar.inc(rows.len() as u64);
    }
    report.seals += seals.len();
    report.unsealed += (span.last_seq - last_signed).max(0) as u64;
    Ok(Ok(()))
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
