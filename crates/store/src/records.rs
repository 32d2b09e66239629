//! What the store keeps: tokens, signing keys, journal rows and their chain, seals.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The bouquet of every token and row from before bouquets existed.
pub const PARTICULIER: &str = "particulier";

/// A token and the habilitation behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub jti: Uuid,
    /// Title of the habilitation (the JWT's `sub`).
    pub name: String,
    pub siret: String,
    /// The API the token opens (`particulier`, `entreprise`); never another's routes.
    pub bouquet: String,
    pub scopes: Vec<String>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub rate_limit_per_minute: Option<u32>,
    /// IPs or CIDR blocks; empty means any.
    pub allowed_ips: Vec<String>,
    /// The habilitation's data protection officer's address, for citizens.
    pub dpo_email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SigningKey {
    pub kid: String,
    pub algorithm: String,
    /// What the key signs: `KEYS_FOR_TOKENS` (tokens and journal seals) or
    /// `KEYS_FOR_ANSWERS` (the detached signatures of answers).
    pub purpose: String,
    pub private_der: Vec<u8>,
    pub public_der: Vec<u8>,
    pub created_at: DateTime<Utc>,
}

impl SigningKey {
    /// Whether this is an Ed25519 key for `purpose`, the only kind Passerelle signs with.
    pub fn signs(&self, purpose: &str) -> bool {
        self.algorithm == "EdDSA" && self.purpose == purpose
    }

    /// A new Ed25519 key for `purpose`, named by the start of its public key's SHA-256.
    pub fn generate(purpose: &str) -> anyhow::Result<SigningKey> {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new())
            .map_err(|_| anyhow::anyhow!("key generation failed"))?;
        let pair =
            Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| anyhow::anyhow!("generated key is invalid"))?;
        let public = pair.public_key().as_ref().to_vec();
        Ok(SigningKey {
            kid: hex::encode(&Sha256::digest(&public)[..8]),
            algorithm: "EdDSA".into(),
            purpose: purpose.into(),
            private_der: pkcs8.as_ref().to_vec(),
            public_der: public,
            created_at: Utc::now(),
        })
    }
}

/// A client IP banned for calling on through refusals (or by an operator).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IpBan {
    pub ip: String,
    pub banned_at: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Why, in words an operator and the client can read.
    pub reason: String,
    /// When an operator lifted it, if one did.
    pub lifted_at: Option<DateTime<Utc>>,
}

/// The purpose of the keys that sign tokens and journal seals.
pub const KEYS_FOR_TOKENS: &str = "tokens";
/// The purpose of the keys that sign answers, published at each bouquet's JWKS URL.
pub const KEYS_FOR_ANSWERS: &str = "answers";

/// Who called: a Passerelle token, or a citizen through FranceConnect (a keyed hash
/// the gateway computes, hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallerId {
    Token(Uuid),
    Citizen(String),
}

impl fmt::Display for CallerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CallerId::Token(jti) => write!(f, "token:{jti}"),
            CallerId::Citizen(hash) => write!(f, "citizen:{hash}"),
        }
    }
}

/// The call's purpose parameters (API Particulier: `{"recipient": SIRET}`; API
/// Entreprise: context, recipient, object).
pub type Purpose = BTreeMap<String, String>;

/// One call, as the journal keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct JournalRow {
    pub request_id: String,
    pub at: DateTime<Utc>,
    /// `particulier` today; `entreprise` next.
    pub bouquet: String,
    pub caller: Option<CallerId>,
    pub purpose: Purpose,
    pub endpoint: String,
    pub status: u16,
    pub duration_ms: f64,
    /// Salted SHA-512 of the parameters, hex.
    pub params_hash: Option<String>,
    pub cached: bool,
    /// SHA-256 of the answer's exact body, hex, when the answer was signed.
    pub body_sha256: Option<String>,
    /// The keyed lookup key of the person the call is about (`PersonKey`, hex), when
    /// the deployment keeps a citizen record and the call named a person.
    pub subject: Option<String>,
}

impl JournalRow {
    /// A typical row (a token's call refused upstream with 404), for benchmarks.
    pub fn example() -> JournalRow {
        JournalRow {
            request_id: Uuid::new_v4().to_string(),
            at: Utc::now(),
            bouquet: PARTICULIER.into(),
            caller: Some(CallerId::Token(Uuid::new_v4())),
            purpose: [("recipient".to_string(), "13002526500013".to_string())].into(),
            endpoint: "/v3/dss/revenu_solidarite_active/identite".into(),
            status: 404,
            duration_ms: 1.25,
            params_hash: Some("ab".repeat(64)),
            cached: false,
            body_sha256: None,
            subject: None,
        }
    }
}

/// The canonical encoding a row's hash covers (see the journal crate's `chain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowFormat {
    /// Rows from before bouquets: `jti` and `recipient` only.
    V1 = 1,
    /// Bouquet, caller (a token or a citizen) and every purpose parameter.
    V2 = 2,
    /// Format 2 and, when the answer was signed, the SHA-256 of its body.
    V3 = 3,
    /// Format 3 and the lookup key of the person the call is about.
    V4 = 4,
}

impl RowFormat {
    pub fn number(self) -> i32 {
        self as i32
    }

    pub fn from_number(number: i32) -> anyhow::Result<RowFormat> {
        match number {
            1 => Ok(RowFormat::V1),
            2 => Ok(RowFormat::V2),
            3 => Ok(RowFormat::V3),
            4 => Ok(RowFormat::V4),
            other => anyhow::bail!("unknown journal row format {other}"),
        }
    }
}

/// A journal row in its writer's hash chain.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedRow {
    pub row: JournalRow,
    pub format: RowFormat,
    /// The gateway process that wrote it (a UUID made at start).
    pub writer: Uuid,
    /// Position in the writer's chain, from 1.
    pub seq: i64,
    /// Hash of row `seq - 1` (64 zeros for the first), hex.
    pub prev_hash: String,
    /// SHA-256 of the row's canonical encoding and `prev_hash`, hex.
    pub hash: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealKind {
    /// Signs a chain's head as it was written.
    Checkpoint,
    /// Signs the last row a purge removed, so the chain verifies from the first kept row.
    Anchor,
}

impl SealKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SealKind::Checkpoint => "checkpoint",
            SealKind::Anchor => "anchor",
        }
    }

    pub fn parse(text: &str) -> anyhow::Result<SealKind> {
        match text {
            "checkpoint" => Ok(SealKind::Checkpoint),
            "anchor" => Ok(SealKind::Anchor),
            other => anyhow::bail!("unknown seal kind `{other}`"),
        }
    }
}

/// A chain position `(writer, seq, hash)` signed with one of the gateway's keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Seal {
    pub kind: SealKind,
    pub writer: Uuid,
    pub seq: i64,
    pub hash: String,
    pub at: DateTime<Utc>,
    pub kid: String,
    /// Ed25519 signature, hex.
    pub signature: String,
}

/// A time range; open ends are unbounded. `since` is included, `until` is not.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TimeRange {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// What the store holds of one writer's chain.
#[derive(Debug, Clone, PartialEq)]
pub struct WriterSpan {
    pub writer: Uuid,
    pub first_seq: i64,
    pub last_seq: i64,
    pub rows: i64,
}

/// Where a purge cuts a writer's chain: rows up to `seq` go, `hash` is row `seq`'s.
#[derive(Debug, Clone, PartialEq)]
pub struct PurgePoint {
    pub writer: Uuid,
    pub seq: i64,
    pub hash: String,
}

/// Calls of one caller of one bouquet to one endpoint that ended with one status, over
/// a period.
#[derive(Debug, Clone, PartialEq)]
pub struct CallCount {
    pub bouquet: String,
    pub caller: Option<CallerId>,
    pub endpoint: String,
    pub status: u16,
    pub calls: i64,
}

/// Rows written before the journal was chained sit under this writer, unverifiable.
pub const LEGACY_WRITER: Uuid = Uuid::nil();
