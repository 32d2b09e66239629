//! The figures kept a few minutes, as the real service does: a page costs a few
//! rollup reads once per period, not per visitor.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// How long figures are kept at most (the real service: 5 minutes).
pub const KEEP: Duration = Duration::from_secs(300);

/// A value computed at most once per `keep`, and again as soon as the rollups moved
/// (a newer `generation`). One computation at a time: visitors arriving meanwhile
/// wait for it rather than each starting their own.
pub struct Cached<T> {
    keep: Duration,
    slot: Mutex<Option<Entry<T>>>,
}

struct Entry<T> {
    at: Instant,
    generation: u64,
    value: Arc<T>,
}

impl<T> Cached<T> {
    pub fn new(keep: Duration) -> Cached<T> {
        Cached {
            keep,
            slot: Mutex::new(None),
        }
    }

    /// The kept value if still fresh for `generation`, else `compute`'s. When
    /// `compute` fails, the kept value (however old) is served and the failure
    /// logged; with none kept, the failure is returned.
    pub async fn get<F, Fut>(&self, generation: u64, compute: F) -> anyhow::Result<Arc<T>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = anyhow::Result<T>>,
    {
        let mut slot = self.slot.lock().await;
        if let Some(entry) = slot.as_ref() {
            if entry.generation == generation && entry.at.elapsed() < self.keep {
                return Ok(entry.value.clone());
            }
        }
        match compute().await {
            Ok(value) => {
                let value = Arc::new(value);
                *slot = Some(Entry {
                    at: Instant::now(),
                    generation,
                    value: value.clone(),
                });
                Ok(value)
            }
            Err(e) => match slot.as_ref() {
                Some(entry) => {
                    tracing::warn!(error = %e, "figures not recomputed: the kept ones are served");
                    Ok(entry.value.clone())
                }
                None => Err(e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn kept_until_the_rollups_move_or_time_passes() {
        let runs = AtomicU32::new(0);
        let compute = || async { Ok::<_, anyhow::Error>(runs.fetch_add(1, Ordering::SeqCst)) };
        let cached = Cached::new(Duration::from_secs(60));
        assert_eq!(*cached.get(0, compute).await.unwrap(), 0);
        assert_eq!(*cached.get(0, compute).await.unwrap(), 0);
        assert_eq!(*cached.get(1, compute).await.unwrap(), 1);
        let brief = Cached::new(Duration::ZERO);
        assert_eq!(*brief.get(1, compute).await.unwrap(), 2);
        assert_eq!(*brief.get(1, compute).await.unwrap(), 3);
    }

    #[tokio::test]
    async fn a_failure_serves_what_was_kept() {
        let cached = Cached::new(Duration::ZERO);
        assert!(cached.get(0, || async { anyhow::bail!("down") }).await.is_err());
        assert_eq!(*cached.get(0, || async { Ok(7) }).await.unwrap(), 7);
        let kept: anyhow::Result<Arc<i32>> = cached.get(1, || async { anyhow::bail!("down") }).await;
        assert_eq!(*kept.unwrap(), 7);
    }
}
