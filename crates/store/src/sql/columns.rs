//! The rows the SQL backends read, as both decode them, and the records they make.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::Dialect;
use crate::{
    CallCount, CallerId, ChainedRow, JournalRow, PurgePoint, Purpose, RowFormat, Seal, SealKind, TokenRecord,
    WriterSpan,
};

#[derive(FromRow)]
pub struct TokenColumns<D: Dialect> {
    jti: D::Uuid,
    name: String,
    siret: String,
    bouquet: String,
    scopes: D::List,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    revoked_at: Option<DateTime<Utc>>,
    rate_limit_per_minute: Option<i32>,
    allowed_ips: D::List,
    dpo_email: Option<String>,
}

impl<D: Dialect> TokenColumns<D> {
    pub fn record(self) -> anyhow::Result<TokenRecord> {
        Ok(TokenRecord {
            jti: self.jti.into(),
            name: self.name,
            siret: self.siret,
            bouquet: self.bouquet,
            scopes: D::unlist(self.scopes)?,
            issued_at: self.issued_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            rate_limit_per_minute: self.rate_limit_per_minute.map(u32::try_from).transpose()?,
            allowed_ips: D::unlist(self.allowed_ips)?,
            dpo_email: self.dpo_email,
        })
    }
}

/// A journal row: the call, and its place in its writer's chain.
#[derive(FromRow)]
pub struct JournalColumns<D: Dialect> {
    id: i64,
    #[sqlx(flatten)]
    call: CallColumns<D>,
    format: i32,
    writer: D::Uuid,
    seq: i64,
    prev_hash: String,
    hash: String,
}

impl<D: Dialect> JournalColumns<D> {
    /// The row and its number in writing order.
    pub fn numbered(self) -> anyhow::Result<(i64, ChainedRow)> {
        let id = self.id;
        Ok((id, self.chained()?))
    }

    pub fn chained(self) -> anyhow::Result<ChainedRow> {
        Ok(ChainedRow {
            row: self.call.row()?,
            format: RowFormat::from_number(self.format)?,
            writer: self.writer.into(),
            seq: self.seq,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }

    pub fn row(self) -> anyhow::Result<JournalRow> {
        self.call.row()
    }
}

#[derive(FromRow)]
pub struct CallColumns<D: Dialect> {
    request_id: String,
    at: DateTime<Utc>,
    bouquet: String,
    jti: Option<D::Uuid>,
    citizen: Option<String>,
    /// Format 1 rows from before the `purpose` column.
    recipient: Option<String>,
    purpose: Option<String>,
    endpoint: String,
    status: i32,
    duration_ms: f64,
    params_hash: Option<String>,
    cached: bool,
    body_sha256: Option<String>,
    subject: Option<String>,
}

impl<D: Dialect> CallColumns<D> {
    fn row(self) -> anyhow::Result<JournalRow> {
        Ok(JournalRow {
            request_id: self.request_id,
            at: self.at,
            bouquet: self.bouquet,
            caller: caller(self.jti.map(Into::into), self.citizen)?,
            purpose: purpose(self.purpose, self.recipient)?,
            endpoint: self.endpoint,
            status: u16::try_from(self.status)?,
            duration_ms: self.duration_ms,
            params_hash: self.params_hash,
            cached: self.cached,
            body_sha256: self.body_sha256,
            subject: self.subject,
        })
    }
}

fn caller(jti: Option<Uuid>, citizen: Option<String>) -> anyhow::Result<Option<CallerId>> {
    match (jti, citizen) {
        (Some(jti), None) => Ok(Some(CallerId::Token(jti))),
        (None, Some(hash)) => Ok(Some(CallerId::Citizen(hash))),
        (None, None) => Ok(None),
        (Some(_), Some(_)) => anyhow::bail!("a journal row names two callers"),
    }
}

fn purpose(json: Option<String>, recipient: Option<String>) -> anyhow::Result<Purpose> {
    match json {
        Some(text) => Ok(serde_json::from_str(&text)?),
        None => Ok(recipient.map(|r| ("recipient".to_string(), r)).into_iter().collect()),
    }
}

#[derive(FromRow)]
pub struct SealColumns<D: Dialect> {
    kind: String,
    writer: D::Uuid,
    seq: i64,
    hash: String,
    at: DateTime<Utc>,
    kid: String,
    signature: String,
}

impl<D: Dialect> SealColumns<D> {
    pub fn seal(self) -> anyhow::Result<Seal> {
        Ok(Seal {
            kind: SealKind::parse(&self.kind)?,
            writer: self.writer.into(),
            seq: self.seq,
            hash: self.hash,
            at: self.at,
            kid: self.kid,
            signature: self.signature,
        })
    }
}

#[derive(FromRow)]
pub struct SpanColumns<D: Dialect> {
    writer: D::Uuid,
    first_seq: i64,
    last_seq: i64,
    n: i64,
}

impl<D: Dialect> SpanColumns<D> {
    pub fn span(self) -> anyhow::Result<WriterSpan> {
        Ok(WriterSpan {
            writer: self.writer.into(),
            first_seq: self.first_seq,
            last_seq: self.last_seq,
            rows: self.n,
        })
    }
}

#[derive(FromRow)]
pub struct PointColumns<D: Dialect> {
    writer: D::Uuid,
    seq: i64,
    hash: String,
}

impl<D: Dialect> PointColumns<D> {
    pub fn point(self) -> anyhow::Result<PurgePoint> {
        Ok(PurgePoint {
            writer: self.writer.into(),
            seq: self.seq,
            hash: self.hash,
        })
    }
}

#[derive(FromRow)]
pub struct CountColumns<D: Dialect> {
    bouquet: String,
    jti: Option<D::Uuid>,
    citizen: Option<String>,
    endpoint: String,
    status: i32,
    calls: i64,
}

impl<D: Dialect> CountColumns<D> {
    pub fn count(self) -> anyhow::Result<CallCount> {
        Ok(CallCount {
            bouquet: self.bouquet,
            caller: caller(self.jti.map(Into::into), self.citizen)?,
            endpoint: self.endpoint,
            status: u16::try_from(self.status)?,
            calls: self.calls,
        })
    }
}
