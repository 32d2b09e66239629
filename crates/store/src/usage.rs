//! Usage rollups: the journal's calls counted by hour, token, endpoint and status,
//! with their latencies, so that pages never scan the journal.

use async_trait::async_trait;

#[async_trait]
pub trait UsageStore: Send + Sync {}
