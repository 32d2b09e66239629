//! Where signed heads go besides the database: a file the operator ships elsewhere
//! (one JSON line per head, synced to disk) and/or a webhook (one POST per head).
//! Each sink has its own task and queue: a slow or failing sink never holds up the
//! journal writer, let alone a call; its failures are logged and counted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use metrics::counter;
use passerelle_store::Seal;
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, oneshot};

use crate::heads::Head;
use crate::JournalSettings;

/// A webhook that has not answered by then has failed.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(2);
/// Heads waiting for a slow sink; past that, new ones are dropped (and counted).
const QUEUE: usize = 64;

enum Message {
    Head(String),
    /// Answered once every head queued before it was handled.
    Flush(oneshot::Sender<()>),
}

enum Target {
    File(PathBuf),
    Webhook { client: reqwest::Client, url: reqwest::Url },
}

impl Target {
    fn name(&self) -> &'static str {
        match self {
            Target::File(_) => "file",
            Target::Webhook { .. } => "webhook",
        }
    }

    async fn send(&self, line: &str) -> anyhow::Result<()> {
        match self {
            Target::File(path) => append(path, line).await,
            Target::Webhook { client, url } => post(client, url.clone(), line).await,
        }
    }
}

/// Opened for each head, so that a file the operator moved away is made anew.
async fn append(path: &Path, line: &str) -> anyhow::Result<()> {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await?;
    file.write_all(format!("{line}\n").as_bytes()).await?;
    file.sync_data().await?;
    Ok(())
}

async fn post(client: &reqwest::Client, url: reqwest::Url, body: &str) -> anyhow::Result<()> {
    let sent = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await;
    // The URL may carry a secret: errors are logged without it.
    let response = sent.map_err(reqwest::Error::without_url)?;
    response.error_for_status().map_err(reqwest::Error::without_url)?;
    Ok(())
}

/// The configured sinks (none: heads stay in the database only).
pub(crate) struct HeadSinks {
    queues: Vec<(&'static str, mpsc::Sender<Message>)>,
}

impl HeadSinks {
    /// Starts a task per configured sink; a file that cannot be opened or a webhook
    /// URL that does not parse stops the start.
    pub(crate) async fn start(settings: &JournalSettings) -> anyhow::Result<HeadSinks> {
        let mut targets = Vec::new();
        if let Some(path) = &settings.heads_file {
            append_check(path).await?;
            targets.push(Target::File(path.clone()));
        }
        if let Some(url) = &settings.heads_webhook {
            let url = reqwest::Url::parse(url).map_err(|e| anyhow::anyhow!("journal.heads_webhook: {e}"))?;
            let client = reqwest::Client::builder().timeout(WEBHOOK_TIMEOUT).build()?;
            targets.push(Target::Webhook { client, url });
        }
        let queues = targets
            .into_iter()
            .map(|target| {
                let (queue, rx) = mpsc::channel(QUEUE);
                let name = target.name();
                tokio::spawn(deliver(target, rx));
                (name, queue)
            })
            .collect();
        Ok(HeadSinks { queues })
    }

    /// Hands a checkpoint the database holds to every sink, without waiting.
    pub(crate) fn publish(&self, seal: &Seal) {
        if self.queues.is_empty() {
            return;
        }
        let line = match serde_json::to_string(&Head::of(seal)) {
            Ok(line) => line,
            Err(e) => {
                tracing::error!(error = %e, "journal head could not be encoded");
                return;
            }
        };
        for (name, queue) in &self.queues {
            if queue.try_send(Message::Head(line.clone())).is_err() {
                tracing::error!(sink = name, "journal head dropped: its sink is behind");
                failed(name);
            }
        }
    }

    /// Waits (at most `limit`) until every head published so far was handled: at
    /// shutdown, so that the last checkpoint leaves too.
    pub(crate) async fn flush(&self, limit: Duration) {
        let all = async {
            for (_, queue) in &self.queues {
                let (ack, done) = oneshot::channel();
                if queue.send(Message::Flush(ack)).await.is_ok() {
                    let _ = done.await;
                }
            }
        };
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::error!("journal heads still unsent at exit");
        }
    }
}

/// The file must be writable before the gateway serves.
async fn append_check(path: &Path) -> anyhow::Result<()> {
    tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .await
        .map_err(|e| anyhow::anyhow!("journal.heads_file {}: {e}", path.display()))?;
    Ok(())
}

async fn deliver(target: Target, mut rx: mpsc::Receiver<Message>) {
    while let Some(message) = rx.recv().await {
        match message {
            Message::Head(line) => {
                if let Err(e) = target.send(&line).await {
                    tracing::error!(sink = target.name(), error = %e, "journal head not delivered");
                    failed(target.name());
                }
            }
            Message::Flush(ack) => {
                let _ = ack.send(());
            }
        }
    }
}

fn failed(sink: &'static str) {
    counter!("passerelle_journal_heads_failures_total", "sink" => sink).increment(1);
}
