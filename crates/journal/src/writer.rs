//! The journal writer: rows are queued, chained by hash, written in batches (group
//! commit), and each caller waits until its row is durable before answering.
//!
//! This process is one writer of the journal: it makes a writer id at start and
//! chains its own rows (replicas never contend on one chain). Every
//! `checkpoint_rows` rows or `checkpoint_secs` seconds, the batch carries a
//! checkpoint signed with the gateway's newest key, covering the chain's head.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use passerelle_store::{ChainedRow, JournalRow, Seal, SealKind, SigningKey, Store};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

use crate::chain::{self, GENESIS};
use crate::sink::HeadSinks;

type Ack = oneshot::Sender<bool>;
/// Asks the writer to sign its chain's head now; answered true once nothing is unsigned.
type SealRequest = oneshot::Sender<bool>;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct JournalSettings {
    /// A signed checkpoint at least every this many rows…
    pub checkpoint_rows: u64,
    /// …and at most this long after a row that no checkpoint covers yet.
    pub checkpoint_secs: u64,
    /// `passerelle journal purge` removes rows older than this by default.
    pub retention_months: u32,
    /// Each signed checkpoint is also appended here (one JSON line), for the operator
    /// to ship out of the database's reach: `journal verify --against` reads it.
    pub heads_file: Option<PathBuf>,
    /// …and/or POSTed here (JSON), when set.
    pub heads_webhook: Option<String>,
    /// Acknowledge calls without writing them: only `serve --bench-without-journal`
    /// (hidden) sets it, never a file or the environment.
    #[serde(skip)]
    pub bench_without_journal: bool,
}

impl Default for JournalSettings {
    fn default() -> Self {
        JournalSettings {
            checkpoint_rows: 1000,
            checkpoint_secs: 60,
            retention_months: 36,
            heads_file: None,
            heads_webhook: None,
            bench_without_journal: false,
        }
    }
}

#[derive(Clone)]
pub struct Journal {
    queue: Option<mpsc::Sender<(JournalRow, Ack)>>,
    seals: Option<mpsc::Sender<SealRequest>>,
    /// Rows queued and not yet acknowledged, so that shutdown can wait for them.
    pending: Arc<AtomicUsize>,
}

const MAX_BATCH: usize = 512;

impl Journal {
    /// Starts the writer; it signs checkpoints with the store's newest Ed25519 key.
    pub async fn start(store: Arc<dyn Store>, settings: &JournalSettings) -> anyhow::Result<Journal> {
        if settings.bench_without_journal {
            tracing::warn!("BENCHMARK MODE: calls are NOT journaled; never run this in production");
            return Ok(Journal {
                queue: None,
                seals: None,
                pending: Arc::new(AtomicUsize::new(0)),
            });
        }
        let key = chain::sealing_key(store.as_ref()).await?;
        let heads = HeadSinks::start(settings).await?;
        let (queue, rx) = mpsc::channel(8192);
        let (seals, seal_rx) = mpsc::channel(1);
        let sealing = Sealing {
            key,
            rows: settings.checkpoint_rows.max(1),
            period: Duration::from_secs(settings.checkpoint_secs.max(1)),
            heads,
        };
        tokio::spawn(write_batches(store, sealing, rx, seal_rx));
        Ok(Journal {
            queue: Some(queue),
            seals: Some(seals),
            pending: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Queues `row` and waits until it is durable. False when it could not be written.
    pub async fn record(&self, row: JournalRow) -> bool {
        let Some(queue) = &self.queue else {
            return true;
        };
        let (ack, done) = oneshot::channel();
        let queued = Instant::now();
        let _pending = Pending::count(&self.pending);
        let written = match queue.send((row, ack)).await {
            Ok(()) => done.await.unwrap_or(false),
            Err(_) => false,
        };
        // From a row queued to the row durable: what a call waits for its journal.
        histogram!("passerelle_journal_lag_seconds").record(queued.elapsed().as_secs_f64());
        written
    }

    /// Signs the chain's head now (at shutdown, after `flush`), so that the last rows
    /// do not wait for the next start to be covered. True when nothing is left unsigned.
    pub async fn seal(&self) -> bool {
        let Some(seals) = &self.seals else {
            return true;
        };
        let (reply, sealed) = oneshot::channel();
        seals.send(reply).await.is_ok() && sealed.await.unwrap_or(false)
    }

    /// Waits (at most `limit`) until every queued row is written; false if some are not.
    pub async fn flush(&self, limit: Duration) -> bool {
        let until = Instant::now() + limit;
        while self.pending.load(Ordering::SeqCst) > 0 {
            if Instant::now() >= until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }
}

/// One row counted as pending until its call stops waiting for it, answered or not:
/// a client that hangs up drops the call's future, and `flush` must not wait for it.
struct Pending<'a>(&'a AtomicUsize);

impl<'a> Pending<'a> {
    fn count(pending: &'a AtomicUsize) -> Pending<'a> {
        pending.fetch_add(1, Ordering::SeqCst);
        Pending(pending)
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

struct Sealing {
    key: SigningKey,
    rows: u64,
    period: Duration,
    heads: HeadSinks,
}

/// How long shutdown waits for the last heads to reach their sinks.
const HEADS_AT_EXIT: Duration = Duration::from_secs(5);

/// This writer's chain: its id, the last durable row, and what no checkpoint covers.
struct Chain {
    writer: Uuid,
    seq: i64,
    head: String,
    unsealed: u64,
    /// When the oldest row no checkpoint covers was written.
    unsealed_since: Option<Instant>,
}

impl Chain {
    fn new() -> Chain {
        let writer = Uuid::new_v4();
        tracing::info!(%writer, "journal writer started");
        Chain {
            writer,
            seq: 0,
            head: GENESIS.to_string(),
            unsealed: 0,
            unsealed_since: None,
        }
    }

    fn link(&self, rows: Vec<JournalRow>) -> Vec<ChainedRow> {
        let mut prev = self.head.clone();
        let mut seq = self.seq;
        rows.into_iter()
            .map(|row| {
                seq += 1;
                let linked = chain::link(self.writer, seq, &prev, row);
                prev = linked.hash.clone();
                linked
            })
            .collect()
    }

    fn seal_due(&self, sealing: &Sealing, adding: u64) -> bool {
        let total = self.unsealed + adding;
        total > 0 && (total >= sealing.rows || self.unsealed_since.is_some_and(|t| t.elapsed() >= sealing.period))
    }

    /// A checkpoint of the chain as it will be once `rows` are written.
    fn checkpoint(&self, sealing: &Sealing, rows: &[ChainedRow]) -> Option<Seal> {
        let (seq, hash) = rows
            .last()
            .map_or((self.seq, self.head.as_str()), |r| (r.seq, r.hash.as_str()));
        match chain::seal(SealKind::Checkpoint, self.writer, seq, hash, &sealing.key) {
            Ok(seal) => Some(seal),
            Err(e) => {
                tracing::error!(error = %e, "journal checkpoint could not be signed");
                None
            }
        }
    }

    fn advance(&mut self, rows: &[ChainedRow], sealed: bool) {
        if let Some(last) = rows.last() {
            self.seq = last.seq;
            self.head = last.hash.clone();
        }
        if sealed {
            self.unsealed = 0;
            self.unsealed_since = None;
        } else if !rows.is_empty() {
            self.unsealed += rows.len() as u64;
            self.unsealed_since.get_or_insert_with(Instant::now);
        }
    }

    /// How long the writer may wait for rows before a checkpoint is due.
    fn idle_budget(&self, sealing: &Sealing) -> Option<Duration> {
        self.unsealed_since.map(|t| sealing.period.saturating_sub(t.elapsed()))
    }
}

#[derive(PartialEq)]
enum Wake {
    Rows,
    CheckpointDue,
    SealAsked,
    Closed,
}

/// Resolves when a checkpoint is due (never when no row waits for one).
async fn checkpoint_due(budget: Option<Duration>) {
    match budget {
        Some(budget) => tokio::time::sleep(budget).await,
        None => std::future::pending().await,
    }
}

async fn write_batches(
    store: Arc<dyn Store>,
    sealing: Sealing,
    mut rx: mpsc::Receiver<(JournalRow, Ack)>,
    mut seal_rx: mpsc::Receiver<SealRequest>,
) {
    let mut chain = Chain::new();
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut asked = None;
    loop {
        // `recv_many` is cancel-safe: rows are never lost to another branch winning.
        let wake = tokio::select! {
            received = rx.recv_many(&mut batch, MAX_BATCH) => if received == 0 { Wake::Closed } else { Wake::Rows },
            Some(reply) = seal_rx.recv() => {
                asked = Some(reply);
                Wake::SealAsked
            }
            () = checkpoint_due(chain.idle_budget(&sealing)) => Wake::CheckpointDue,
        };
        if wake == Wake::Rows {
            gather(&mut rx, &mut batch).await;
        }
        let (rows, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let chained = chain.link(rows);
        // At shutdown, the last rows get their checkpoint too.
        let closing = matches!(wake, Wake::Closed | Wake::SealAsked);
        let seal = (chain.seal_due(&sealing, chained.len() as u64) || closing && chain.unsealed > 0)
            .then(|| chain.checkpoint(&sealing, &chained))
            .flatten();
        if !chained.is_empty() || seal.is_some() {
            let written = match store.append_journal(&chained, seal.as_ref()).await {
                Ok(()) => true,
                Err(e) => {
                    tracing::error!(error = %e, rows = chained.len(), "journal write failed");
                    false
                }
            };
            if written {
                chain.advance(&chained, seal.is_some());
                // Only a checkpoint the database holds leaves it.
                if let Some(seal) = &seal {
                    sealing.heads.publish(seal);
                }
            } else if chained.is_empty() {
                // Only the checkpoint failed: try again a period later.
                chain.unsealed_since = Some(Instant::now());
            } else {
                // The commit may have happened all the same (connection lost after
                // it): a fresh chain never collides with rows this one may have left.
                chain = Chain::new();
            }
            batch_metrics(chained.len(), written);
            for ack in acks {
                let _ = ack.send(written);
            }
        }
        if let Some(reply) = asked.take() {
            sealing.heads.flush(HEADS_AT_EXIT).await;
            let _ = reply.send(chain.unsealed == 0);
        }
        if wake == Wake::Closed {
            break;
        }
    }
}

/// How many times the writer lets other tasks run before writing a batch.
const GATHER_ROUNDS: usize = 4;

/// Lets the calls under way queue their rows before the batch is written: a yield
/// runs every task that is ready (and polls the sockets) first. A busy gateway thus
/// writes bigger batches (fewer fsyncs per call); an idle one waits for nothing, as
/// the first round that brings no row ends the wait.
async fn gather(rx: &mut mpsc::Receiver<(JournalRow, Ack)>, batch: &mut Vec<(JournalRow, Ack)>) {
    for _ in 0..GATHER_ROUNDS {
        if batch.len() >= MAX_BATCH {
            return;
        }
        tokio::task::yield_now().await;
        let before = batch.len();
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(row) => batch.push(row),
                Err(_) => break,
            }
        }
        if batch.len() == before {
            return;
        }
    }
}

/// One batch: its size, whether it was written, and the store's health that this
/// tells (the gateway's metrics name these; its tests read them).
fn batch_metrics(rows: usize, written: bool) {
    histogram!("passerelle_journal_batch_rows").record(rows as f64);
    if !written {
        counter!("passerelle_journal_write_failures_total").increment(1);
    }
    gauge!("passerelle_db_up").set(if written { 1.0 } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use std::future::Future;

    use super::*;
    use crate::testing::{call, TestStore};

    #[tokio::test]
    async fn a_call_given_up_is_not_waited_for_at_shutdown() {
        let t = TestStore::sqlite().await;
        let journal = Journal::start(t.store.clone(), &JournalSettings::default())
            .await
            .unwrap();
        // The client hangs up while its row is queued: its call's future, polled once
        // (the row queued), is dropped.
        let mut given_up = Box::pin(journal.record(call(0)));
        let first = std::future::poll_fn(|cx| std::task::Poll::Ready(given_up.as_mut().poll(cx))).await;
        assert!(first.is_pending(), "the row was acknowledged at once");
        drop(given_up);
        let started = Instant::now();
        assert!(journal.flush(Duration::from_secs(5)).await);
        assert!(started.elapsed() < Duration::from_secs(1));
        // Its row is written all the same.
        assert!(journal.record(call(1)).await);
        assert!(journal.seal().await);
        let ids: Vec<_> = t
            .store
            .recent_journal(10)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.request_id)
            .collect();
        assert!(ids.contains(&"req-0".to_string()) && ids.contains(&"req-1".to_string()));
    }
}
