//! What the operators' audit notices read: the journal rows of given request ids made
//! with given tokens (a notice names only calls of the habilitation it is sent to),
//! and the notices already sent, which are events of the demandes' history.

use async_trait::async_trait;
use uuid::Uuid;

use crate::{DemandeEvent, JournalRow};

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// The journal rows whose request id is one of `request_ids` and whose caller is
    /// one of `tokens`, newest first. A request id of another caller's call, or of no
    /// call at all, has no row here.
    async fn calls_of_tokens(&self, request_ids: &[String], tokens: &[Uuid]) -> anyhow::Result<Vec<JournalRow>>;

    /// The newest `limit` history events of `kind`, across every demande, newest first.
    async fn events_of_kind(&self, kind: &str, limit: u32) -> anyhow::Result<Vec<DemandeEvent>>;
}
