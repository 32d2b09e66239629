//! The rollup job: now and then, the journal rows written since the last run are
//! added to the usage rollups (`UsageStore::roll_up_usage`). Every replica may run
//! it: the watermark's guarded move makes a row count once whoever counts it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use passerelle_store::{RollupStep, Store, UsageStore};

/// Journal rows per step (per transaction); a backend may take fewer (SQLite).
pub const STEP_ROWS: u32 = 200_000;
/// Steps per run at most: a long catch-up goes on at the next run.
const MAX_STEPS: u32 = 100;
/// Between steps: lets the journal's writer in (SQLite has one write lock).
const BREATHE: Duration = Duration::from_millis(20);

/// A running job, shared by whoever reads the rollups in this process.
pub struct RollupJob {
    generation: AtomicU64,
}

impl RollupJob {
    /// Moves whenever this process's job adds rows: what a cache of figures compares.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Relaxed)
    }
}

/// The jobs of this process, by store: one job per store, however many sites ask.
/// The weak reference keeps a dropped store's address from being reused while its
/// entry is here.
type Registry = Vec<(Weak<dyn Store>, Weak<RollupJob>)>;
static JOBS: Mutex<Registry> = Mutex::new(Vec::new());

/// Starts the rollup job on `store` every `every` (at least a second), or returns the
/// one already running on it. The job holds the store weakly: it stops once the
/// store is gone. A failed run is logged and retried at the next one.
pub fn spawn(store: &Arc<dyn Store>, every: Duration) -> Arc<RollupJob> {
    let mut jobs = JOBS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    jobs.retain(|(kept, job)| kept.strong_count() > 0 && job.strong_count() > 0);
    let running = jobs
        .iter()
        .find(|(kept, _)| std::ptr::addr_eq(kept.as_ptr(), Arc::as_ptr(store)))
        .and_then(|(_, job)| job.upgrade());
    if let Some(job) = running {
        return job;
    }
    let job = Arc::new(RollupJob {
        generation: AtomicU64::new(0),
    });
    jobs.push((Arc::downgrade(store), Arc::downgrade(&job)));
    tokio::spawn(run(
        job.clone(),
        Arc::downgrade(store),
        every.max(Duration::from_secs(1)),
    ));
    job
}

async fn run(job: Arc<RollupJob>, store: Weak<dyn Store>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(store) = store.upgrade() else {
            return;
        };
        match catch_up(store.as_ref(), Utc::now()).await {
            Ok(0) => {}
            Ok(rows) => {
                job.generation.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(rows, "journal rows added to the usage rollups");
            }
            Err(e) => tracing::warn!(error = %e, "usage rollup failed; retried at the next run"),
        }
    }
}

/// Steps until the rows old enough at `now` are counted (or another runner is at
/// it, or `MAX_STEPS` were taken); the rows this call counted.
pub async fn catch_up(store: &dyn UsageStore, now: DateTime<Utc>) -> anyhow::Result<u64> {
    let lag = chrono::Duration::from_std(store.rollup_lag())?;
    let cutoff = now - lag;
    let mut counted = 0;
    for _ in 0..MAX_STEPS {
        match store.roll_up_usage(cutoff, STEP_ROWS).await? {
            RollupStep::Counted { rows, .. } => counted += rows,
            RollupStep::Idle | RollupStep::Lost => break,
        }
        tokio::time::sleep(BREATHE).await;
    }
    Ok(counted)
}
