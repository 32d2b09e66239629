//! Removes rows past retention, each writer's removed prefix replaced by a signed anchor.

use chrono::{DateTime, Utc};
use passerelle_store::{JournalAudit, KeyStore, SealKind};

use crate::chain;

/// Removes every writer's rows older than `before`; returns how many.
pub async fn purge<S>(store: &S, before: DateTime<Utc>) -> anyhow::Result<u64>
where
    S: KeyStore + JournalAudit + ?Sized,
{
    let points = store.purge_points(before).await?;
    if points.is_empty() {
        return Ok(0);
    }
    let key = chain::sealing_key(store).await?;
    let mut deleted = 0;
    for p in points {
        let anchor = chain::seal(SealKind::Anchor, p.writer, p.seq, &p.hash, &key)?;
        deleted += store.purge_writer(&anchor).await?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::testing::TestStore;
    use crate::verify;

    /// The rows `verify` went through; it must find nothing broken.
    async fn verified_rows(t: &TestStore) -> u64 {
        let report = verify(t.store.as_ref(), &()).await.unwrap();
        assert!(report.broken.is_none(), "{}", report.summary());
        report.rows
    }

    #[tokio::test]
    async fn old_rows_go_and_the_rest_still_verifies() {
        let t = TestStore::sqlite().await;
        t.write(3).await;
        tokio::time::sleep(Duration::from_millis(20)).await;
        let cut = Utc::now();
        tokio::time::sleep(Duration::from_millis(20)).await;
        t.write(2).await;

        assert_eq!(purge(t.store.as_ref(), cut).await.unwrap(), 3);
        assert_eq!(verified_rows(&t).await, 2);
        assert_eq!(purge(t.store.as_ref(), cut).await.unwrap(), 0, "nothing older is left");
    }

    #[tokio::test]
    async fn a_purged_chain_prefix_leaves_a_verifying_anchor() {
        let t = TestStore::sqlite().await;
        t.write(5).await;
        t.sql("UPDATE journal SET at = '2000-01-01T00:00:00.000000Z' WHERE seq <= 2")
            .await;
        let cut = Utc::now() - chrono::Duration::days(1);
        assert_eq!(purge(t.store.as_ref(), cut).await.unwrap(), 2);
        assert_eq!(verified_rows(&t).await, 3);
    }
}
