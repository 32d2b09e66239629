//! Reloading the case folder when it changes (a file watcher, debounced: an editor or
//! a `git pull` writes many files at once) and on SIGHUP.

use std::sync::Arc;
use std::time::Duration;

use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{Report, Sandbox};

/// Quiet time after the last change before reloading.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// What asked for a reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    FileChange,
    Signal,
}

/// Reloads `sandbox` on SIGHUP, and on every change under its folder when `files`;
/// `done` is told each reload's trigger and outcome. Runs until the task is aborted.
pub fn watch<F>(sandbox: Arc<Sandbox>, files: bool, done: F) -> notify::Result<JoinHandle<()>>
where
    F: Fn(Trigger, std::io::Result<Report>) + Send + 'static,
{
    let (tx, mut rx) = mpsc::unbounded_channel();
    let watcher = if files {
        let changes = tx.clone();
        let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            // Reading the files (as a reload does) is not a change.
            if event.is_ok_and(|e| !matches!(e.kind, EventKind::Access(_))) {
                let _ = changes.send(Trigger::FileChange);
            }
        })?;
        watcher.watch(sandbox.dir(), RecursiveMode::Recursive)?;
        Some(watcher)
    } else {
        None
    };
    forward_hangups(tx);
    Ok(tokio::spawn(async move {
        let _watcher = watcher;
        while let Some(first) = rx.recv().await {
            let mut trigger = first;
            while let Ok(Some(next)) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {
                if next == Trigger::Signal {
                    trigger = next;
                }
            }
            let sandbox = sandbox.clone();
            let report = tokio::task::spawn_blocking(move || sandbox.reload())
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            done(trigger, report);
        }
    }))
}

#[cfg(unix)]
fn forward_hangups(tx: mpsc::UnboundedSender<Trigger>) {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::hangup()) {
        Ok(mut hangups) => {
            tokio::spawn(async move {
                while hangups.recv().await.is_some() {
                    if tx.send(Trigger::Signal).is_err() {
                        break;
                    }
                }
            });
        }
        Err(e) => tracing::warn!(error = %e, "SIGHUP cannot be caught: reload on signal is off"),
    }
}

#[cfg(not(unix))]
fn forward_hangups(_tx: mpsc::UnboundedSender<Trigger>) {}
