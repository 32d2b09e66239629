//! The status page's records: each provider's checks, rolled up by day, and the
//! operators' incident and maintenance notices.

use async_trait::async_trait;

#[async_trait]
pub trait StatusStore: Send + Sync {}
