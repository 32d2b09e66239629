//! The journal writer: rows are queued, written in batches (group commit), and each
//! caller waits until its row is durable before answering.

use std::sync::Arc;

use passerelle_store::{JournalRow, Store};
use tokio::sync::{mpsc, oneshot};

type Ack = oneshot::Sender<bool>;

#[derive(Clone)]
pub struct Journal {
    queue: mpsc::Sender<(JournalRow, Ack)>,
}

const MAX_BATCH: usize = 512;

impl Journal {
    pub fn start(store: Arc<dyn Store>) -> Journal {
        let (queue, rx) = mpsc::channel(8192);
        tokio::spawn(write_batches(store, rx));
        Journal { queue }
    }

    /// Queues `row` and waits until it is durable. False when it could not be written.
    pub async fn record(&self, row: JournalRow) -> bool {
        let (ack, done) = oneshot::channel();
        if self.queue.send((row, ack)).await.is_err() {
            return false;
        }
        done.await.unwrap_or(false)
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
        for ack in acks {
            let _ = ack.send(written);
        }
    }
}
