//! The journal writer: rows are queued, written in batches (group commit), and each
//! caller waits until its row is durable before answering.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use passerelle_store::{JournalRow, Store};
use tokio::sync::{mpsc, oneshot};

use crate::telemetry;

type Ack = oneshot::Sender<bool>;

#[derive(Clone)]
pub struct Journal {
    queue: mpsc::Sender<(JournalRow, Ack)>,
    /// Rows queued and not yet acknowledged, so that shutdown can wait for them.
    pending: Arc<AtomicUsize>,
}

const MAX_BATCH: usize = 512;

impl Journal {
    pub fn start(store: Arc<dyn Store>) -> Journal {
        let (queue, rx) = mpsc::channel(8192);
        tokio::spawn(write_batches(store, rx));
        Journal {
            queue,
            pending: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Queues `row` and waits until it is durable. False when it could not be written.
    pub async fn record(&self, row: JournalRow) -> bool {
        let (ack, done) = oneshot::channel();
        let queued = Instant::now();
        self.pending.fetch_add(1, Ordering::SeqCst);
        let written = match self.queue.send((row, ack)).await {
            Ok(()) => done.await.unwrap_or(false),
            Err(_) => false,
        };
        self.pending.fetch_sub(1, Ordering::SeqCst);
        telemetry::journal_lag(queued.elapsed());
        written
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

async fn write_batches(store: Arc<dyn Store>, mut rx: mpsc::Receiver<(JournalRow, Ack)>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (rows, acks): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
        let written = match store.append_journal(&rows).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(error = %e, rows = rows.len(), "journal write failed");
                false
            }
        };
        telemetry::journal_batch(rows.len(), written);
        for ack in acks {
            let _ = ack.send(written);
        }
    }
}
