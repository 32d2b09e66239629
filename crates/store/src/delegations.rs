//! Delegations: the people of a habilitation in force let a software editor (declared
//! in the configuration) act for them. The editor's users then take **delegated
//! tokens** of their own (same rights and end as the client's main token), never the
//! client's token. Every grant, revocation and token taken is written with the
//! demande (its version guards it) and its history event, in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{DemandeChange, TokenRecord};

/// A habilitation delegated to an editor, in force until revoked.
#[derive(Debug, Clone, PartialEq)]
pub struct Delegation {
    pub id: Uuid,
    pub demande_id: Uuid,
    /// The editor's id in the configuration.
    pub editor: String,
    /// The e-mail of whoever granted it.
    pub granted_by: String,
    pub granted_at: DateTime<Utc>,
    pub revoked_by: Option<String>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A token an editor's user took through a delegation.
#[derive(Debug, Clone, PartialEq)]
pub struct DelegatedToken {
    pub jti: Uuid,
    pub delegation_id: Uuid,
    /// The token's name, naming the editor.
    pub label: String,
    /// The e-mail of the editor's user who took it.
    pub taken_by: String,
    pub taken_at: DateTime<Utc>,
}

/// What a delegation event writes beside its demande change.
#[derive(Debug, Clone, PartialEq)]
pub enum DelegationWrite {
    Grant(Delegation),
    /// The delegation ends; its tokens are revoked by the change's `TokenChange`.
    Revoke {
        id: Uuid,
        by: String,
        at: DateTime<Utc>,
    },
    /// A new delegated token; the tokens it replaces are revoked by the change's
    /// `TokenChange`.
    Take {
        token: DelegatedToken,
        record: TokenRecord,
    },
}

#[async_trait]
pub trait DelegationStore: Send + Sync {
    /// Writes `change` (as `commit_demande` does) and `write` in one transaction, if
    /// the stored demande is still at the version before it; false, writing nothing,
    /// otherwise.
    async fn commit_delegation(&self, change: &DemandeChange, write: &DelegationWrite) -> anyhow::Result<bool>;
    /// A demande's delegations, revoked ones included, newest first.
    async fn delegations_of(&self, demande: Uuid) -> anyhow::Result<Vec<Delegation>>;
    /// The delegations in force to `editor`, newest first.
    async fn delegations_to(&self, editor: &str) -> anyhow::Result<Vec<Delegation>>;
    /// The tokens taken through `delegation`, newest first.
    async fn delegated_tokens(&self, delegation: Uuid) -> anyhow::Result<Vec<DelegatedToken>>;
}
