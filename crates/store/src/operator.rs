//! What the operators' back-office keeps: the journal of what admins did (a token
//! created or banned, an agent impersonated and each page seen as them), and the
//! reads it needs over every organisation's demandes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{DemandeChange, DemandeRecord, TokenRecord};

/// One action of an admin, as the back-office's journal shows it; never changed.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorAction {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The admin's e-mail.
    pub admin: String,
    /// `impersonation_start`, `impersonation_view`, `impersonation_stop`,
    /// `token_create`, `token_ban`.
    pub action: String,
    /// The agent impersonated, by e-mail.
    pub agent: Option<String>,
    pub demande_id: Option<Uuid>,
    pub jti: Option<Uuid>,
    /// The request's path (and query) that did it.
    pub path: String,
}

#[async_trait]
pub trait OperatorStore: Send + Sync {
    async fn record_operator_action(&self, action: &OperatorAction) -> anyhow::Result<()>;
    /// The newest `limit` actions, newest first.
    async fn operator_actions(&self, limit: u32) -> anyhow::Result<Vec<OperatorAction>>;
    /// Writes `change` as `commit_demande` does, `issued` (a replacement token) and
    /// `action` in the same transaction; false, writing nothing, when the demande
    /// moved on.
    async fn commit_operator(
        &self,
        change: &DemandeChange,
        issued: Option<&TokenRecord>,
        action: &OperatorAction,
    ) -> anyhow::Result<bool>;
    /// Every demande, drafts included, most recently changed first.
    async fn all_demandes(&self) -> anyhow::Result<Vec<DemandeRecord>>;
    /// The demandes of the organisation `siret`, most recently changed first.
    async fn organisation_demandes(&self, siret: &str) -> anyhow::Result<Vec<DemandeRecord>>;
    /// The demande numbered `number`, drafts included.
    async fn demande_numbered(&self, number: i64) -> anyhow::Result<Option<DemandeRecord>>;
    /// The tokens of `jtis` the store holds, in no particular order.
    async fn tokens_in(&self, jtis: &[Uuid]) -> anyhow::Result<Vec<TokenRecord>>;
}
