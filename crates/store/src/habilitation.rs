//! What the habilitation service keeps: demandes, the people with a role on each, the
//! append-only history of their events, the outbox that e-mails and webhooks consume,
//! and the web sessions shared by replicas.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::TokenRecord;

/// A demande: the columns that lists filter on, the rest as JSON (`body`).
#[derive(Debug, Clone, PartialEq)]
pub struct DemandeRecord {
    pub id: Uuid,
    /// The number agents and instructors quote ("demande n° 12").
    pub number: i64,
    pub bouquet: String,
    pub form_id: String,
    pub siret: String,
    pub state: String,
    pub reopening: bool,
    /// Bumped by every event: the event's `seq`, and the guard against two writers.
    pub version: i64,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The first submission (instruction times start there).
    pub submitted_at: Option<DateTime<Utc>>,
    /// The last approval or refusal.
    pub decided_at: Option<DateTime<Utc>>,
}

/// A person with a role on a demande (`applicant`, `contact_technique`…), by e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemandePerson {
    pub email: String,
    pub role: String,
}

/// One event of a demande's history; never changed once written.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandeEvent {
    pub demande_id: Uuid,
    /// The demande's version after the event.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The e-mail of who fired it (`system` for the service itself).
    pub actor: String,
    pub kind: String,
    /// JSON: reason, message, fields changed, the frozen habilitation on approval.
    pub body: String,
}

/// Something to send (an e-mail, a webhook) once the transaction that decided it has
/// committed.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: Uuid,
    /// `mail` or `webhook`.
    pub channel: String,
    /// Makes an item unique (an expiry notice per token, threshold and recipient).
    pub dedup: Option<String>,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub next_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
    /// Given up after its last attempt (a dead letter, replayable by an admin).
    pub dead_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl OutboxItem {
    pub fn new(channel: &str, body: String, now: DateTime<Utc>) -> OutboxItem {
        OutboxItem {
            id: Uuid::new_v4(),
            channel: channel.into(),
            dedup: None,
            body,
            created_at: now,
            attempts: 0,
            next_at: now,
            done_at: None,
            dead_at: None,
            last_error: None,
        }
    }
}

/// What a transition does to the demande's token.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenChange {
    Issue(TokenRecord),
    /// A reopening's approval: the same token string, new scopes and expiry.
    /// `also`: tokens a rotation replaced that still answer, given the new scopes
    /// (their end stays: never later than the main token's).
    Update {
        jti: Uuid,
        scopes: Vec<String>,
        expires_at: DateTime<Utc>,
        also: Vec<Uuid>,
    },
    /// `also`: tokens a rotation replaced, revoked with it.
    Revoke {
        jti: Uuid,
        at: DateTime<Utc>,
        also: Vec<Uuid>,
    },
    /// Its holders' rotation: a new token, and the old one's end brought forward to
    /// the close of the overlap (both answer until then).
    Rotate {
        new: TokenRecord,
        old: Uuid,
        old_expires_at: DateTime<Utc>,
    },
    /// Its holders' own restrictions: client addresses and a per-minute limit.
    Restrict {
        jti: Uuid,
        allowed_ips: Vec<String>,
        rate_limit_per_minute: Option<u32>,
    },
}

impl TokenChange {
    /// Every token whose record the change writes (what caches must forget).
    pub fn touched(&self) -> Vec<Uuid> {
        match self {
            TokenChange::Issue(t) => vec![t.jti],
            TokenChange::Update { jti, also, .. } | TokenChange::Revoke { jti, also, .. } => {
                std::iter::once(*jti).chain(also.iter().copied()).collect()
            }
            TokenChange::Rotate { new, old, .. } => vec![new.jti, *old],
            TokenChange::Restrict { jti, .. } => vec![*jti],
        }
    }
}

/// Everything one event writes, in one transaction: the demande at its new version,
/// its people, the event, what to send, and its token.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandeChange {
    pub demande: DemandeRecord,
    pub people: Vec<DemandePerson>,
    pub event: DemandeEvent,
    pub outbox: Vec<OutboxItem>,
    pub token: Option<TokenChange>,
}

/// A one-time link that shows a token to the person it was sent to, kept by the
/// SHA-256 of its code (the code itself is only in the e-mail).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenLink {
    pub code_hash: String,
    pub demande_id: Uuid,
    pub jti: Uuid,
    pub recipient: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A web session, kept by the hash of its cookie.
#[derive(Debug, Clone, PartialEq)]
pub struct WebSession {
    pub id_hash: String,
    pub body: String,
    pub expires_at: DateTime<Utc>,
}
