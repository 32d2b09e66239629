//! The embedded SQLite backend (WAL, full sync: the journal is a legal trace).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use uuid::Uuid;

use crate::chain::time_text;
use crate::{
    CallCount, ChainedRow, JournalRow, PurgePoint, Seal, SealKind, SigningKey, Store, TimeRange, TokenRecord,
    WriterSpan,
};

/// SQLite takes at most 32766 bound values per statement.
const MAX_PARAMS: usize = 32766;
const JOURNAL_COLUMNS: usize = 13;

pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        Ok(SqliteStore { pool })
    }
}

fn time(value: &str) -> anyhow::Result<DateTime<Utc>> {
    Ok(DateTime::parse_from_rfc3339(value)?.with_timezone(&Utc))
}

fn token_from(row: &SqliteRow) -> anyhow::Result<TokenRecord> {
    let revoked: Option<String> = row.try_get("revoked_at")?;
    let limit: Option<i64> = row.try_get("rate_limit_per_minute")?;
    Ok(TokenRecord {
        jti: Uuid::parse_str(row.try_get("jti")?)?,
        name: row.try_get("name")?,
        siret: row.try_get("siret")?,
        scopes: serde_json::from_str(row.try_get("scopes")?)?,
        issued_at: time(row.try_get("issued_at")?)?,
        expires_at: time(row.try_get("expires_at")?)?,
        revoked_at: revoked.as_deref().map(time).transpose()?,
        rate_limit_per_minute: limit.map(u32::try_from).transpose()?,
        allowed_ips: serde_json::from_str(row.try_get("allowed_ips")?)?,
    })
}

fn journal_from(row: &SqliteRow) -> anyhow::Result<JournalRow> {
    let jti: Option<String> = row.try_get("jti")?;
    let status: i64 = row.try_get("status")?;
    Ok(JournalRow {
        request_id: row.try_get("request_id")?,
        at: time(row.try_get("at")?)?,
        jti: jti.as_deref().map(Uuid::parse_str).transpose()?,
        recipient: row.try_get("recipient")?,
        endpoint: row.try_get("endpoint")?,
        status: u16::try_from(status)?,
        duration_ms: row.try_get("duration_ms")?,
        params_hash: row.try_get("params_hash")?,
        cached: row.try_get::<i64, _>("cached")? != 0,
    })
}

fn chained_from(row: &SqliteRow) -> anyhow::Result<ChainedRow> {
    Ok(ChainedRow {
        row: journal_from(row)?,
        writer: Uuid::parse_str(row.try_get("writer")?)?,
        seq: row.try_get("wseq")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

fn seal_from(row: &SqliteRow) -> anyhow::Result<Seal> {
    Ok(Seal {
        kind: SealKind::parse(row.try_get("kind")?)?,
        writer: Uuid::parse_str(row.try_get("writer")?)?,
        seq: row.try_get("seq")?,
        hash: row.try_get("hash")?,
        at: time(row.try_get("at")?)?,
        kid: row.try_get("kid")?,
        signature: row.try_get("signature")?,
    })
}

/// `WHERE` clause of a time range (times are stored as UTC RFC 3339 text).
fn push_range(q: &mut QueryBuilder<'_, Sqlite>, range: TimeRange) {
    q.push(" WHERE 1 = 1");
    if let Some(since) = range.since {
        q.push(" AND at >= ").push_bind(time_text(since));
    }
    if let Some(until) = range.until {
        q.push(" AND at < ").push_bind(time_text(until));
    }
}

async fn insert_seal(tx: &mut sqlx::SqliteConnection, seal: &Seal) -> anyhow::Result<()> {
    sqlx::query("INSERT INTO journal_seals (kind, writer, seq, hash, at, kid, signature) VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(seal.kind.as_str())
        .bind(seal.writer.to_string())
        .bind(seal.seq)
        .bind(&seal.hash)
        .bind(time_text(seal.at))
        .bind(&seal.kid)
        .bind(&seal.signature)
        .execute(tx)
        .await?;
    Ok(())
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> anyhow::Result<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.pool).await?;
        Ok(())
    }

    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>> {
        let rows = sqlx::query(
            "SELECT kid, algorithm, private_der, public_der, created_at FROM signing_keys ORDER BY created_at",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKey {
                    kid: r.try_get("kid")?,
                    algorithm: r.try_get("algorithm")?,
                    private_der: r.try_get("private_der")?,
                    public_der: r.try_get("public_der")?,
                    created_at: time(r.try_get("created_at")?)?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO signing_keys (kid, algorithm, private_der, public_der, created_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&key.kid)
        .bind(&key.algorithm)
        .bind(&key.private_der)
        .bind(&key.public_der)
        .bind(key.created_at.to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT value FROM secrets WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    async fn secret_or_insert(&self, name: &str, make: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        sqlx::query("INSERT OR IGNORE INTO secrets (name, value) VALUES (?, ?)")
            .bind(name)
            .bind(make)
            .execute(&self.pool)
            .await?;
        Ok(sqlx::query("SELECT value FROM secrets WHERE name = ?")
            .bind(name)
            .fetch_one(&self.pool)
            .await?
            .try_get("value")?)
    }

    async fn insert_token(&self, t: &TokenRecord) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO tokens (jti, name, siret, scopes, issued_at, expires_at, revoked_at, rate_limit_per_minute, allowed_ips) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(t.jti.to_string())
        .bind(&t.name)
        .bind(&t.siret)
        .bind(serde_json::to_string(&t.scopes)?)
        .bind(t.issued_at.to_rfc3339())
        .bind(t.expires_at.to_rfc3339())
        .bind(t.revoked_at.map(|d| d.to_rfc3339()))
        .bind(t.rate_limit_per_minute.map(i64::from))
        .bind(serde_json::to_string(&t.allowed_ips)?)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token(&self, jti: Uuid) -> anyhow::Result<Option<TokenRecord>> {
        let row = sqlx::query("SELECT * FROM tokens WHERE jti = ?")
            .bind(jti.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>> {
        let rows = sqlx::query("SELECT * FROM tokens ORDER BY issued_at")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(token_from).collect()
    }

    async fn revoke_token(&self, jti: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE tokens SET revoked_at = ? WHERE jti = ?")
            .bind(at.to_rfc3339())
            .bind(jti.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_token_expiry(&self, jti: Uuid, expires_at: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = sqlx::query("UPDATE tokens SET expires_at = ? WHERE jti = ?")
            .bind(expires_at.to_rfc3339())
            .bind(jti.to_string())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn append_journal(&self, rows: &[ChainedRow], seal: Option<&Seal>) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(MAX_PARAMS / JOURNAL_COLUMNS) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO journal (request_id, at, jti, recipient, endpoint, status, duration_ms, params_hash, \
                 cached, writer, wseq, prev_hash, hash) ",
            );
            q.push_values(chunk, |mut b, c| {
                let r = &c.row;
                b.push_bind(&r.request_id)
                    .push_bind(time_text(r.at))
                    .push_bind(r.jti.map(|j| j.to_string()))
                    .push_bind(&r.recipient)
                    .push_bind(&r.endpoint)
                    .push_bind(i64::from(r.status))
                    .push_bind(r.duration_ms)
                    .push_bind(&r.params_hash)
                    .push_bind(i64::from(r.cached))
                    .push_bind(c.writer.to_string())
                    .push_bind(c.seq)
                    .push_bind(&c.prev_hash)
                    .push_bind(&c.hash);
            });
            q.build().execute(&mut *tx).await?;
        }
        if let Some(seal) = seal {
            insert_seal(&mut tx, seal).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn recent_journal(&self, limit: u32) -> anyhow::Result<Vec<JournalRow>> {
        let rows = sqlx::query("SELECT * FROM journal ORDER BY seq DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(journal_from).collect()
    }

    async fn journal_page(&self, range: TimeRange, after: i64, limit: u32) -> anyhow::Result<Vec<(i64, ChainedRow)>> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT * FROM journal");
        push_range(&mut q, range);
        q.push(" AND seq > ").push_bind(after);
        q.push(" ORDER BY seq LIMIT ").push_bind(i64::from(limit));
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok((r.try_get("seq")?, chained_from(r)?))).collect()
    }

    async fn journal_count(&self, range: TimeRange) -> anyhow::Result<i64> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT COUNT(*) AS n FROM journal");
        push_range(&mut q, range);
        Ok(q.build().fetch_one(&self.pool).await?.try_get("n")?)
    }

    async fn journal_writers(&self) -> anyhow::Result<Vec<WriterSpan>> {
        let rows = sqlx::query(
            "SELECT writer, MIN(wseq) AS first, MAX(wseq) AS last, COUNT(*) AS n FROM journal \
             GROUP BY writer ORDER BY MIN(seq)",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WriterSpan {
                    writer: Uuid::parse_str(r.try_get("writer")?)?,
                    first_seq: r.try_get("first")?,
                    last_seq: r.try_get("last")?,
                    rows: r.try_get("n")?,
                })
            })
            .collect()
    }

    async fn writer_rows(&self, writer: Uuid, after: i64, limit: u32) -> anyhow::Result<Vec<ChainedRow>> {
        let rows = sqlx::query("SELECT * FROM journal WHERE writer = ? AND wseq > ? ORDER BY wseq LIMIT ?")
            .bind(writer.to_string())
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(chained_from).collect()
    }

    async fn journal_seals(&self) -> anyhow::Result<Vec<Seal>> {
        let rows = sqlx::query("SELECT * FROM journal_seals ORDER BY writer, seq, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(seal_from).collect()
    }

    async fn purge_points(&self, before: DateTime<Utc>) -> anyhow::Result<Vec<PurgePoint>> {
        let rows = sqlx::query(
            "SELECT writer, MIN(wseq) AS first, MAX(wseq) AS last, MIN(CASE WHEN at >= ? THEN wseq END) AS kept \
             FROM journal GROUP BY writer",
        )
        .bind(time_text(before))
        .fetch_all(&self.pool)
        .await?;
        let mut points = Vec::new();
        for r in rows {
            let writer: String = r.try_get("writer")?;
            let (first, last, kept): (i64, i64, Option<i64>) =
                (r.try_get("first")?, r.try_get("last")?, r.try_get("kept")?);
            let seq = kept.map_or(last, |k| k - 1);
            if seq < first {
                continue;
            }
            let hash: String = sqlx::query("SELECT hash FROM journal WHERE writer = ? AND wseq = ?")
                .bind(&writer)
                .bind(seq)
                .fetch_one(&self.pool)
                .await?
                .try_get("hash")?;
            points.push(PurgePoint {
                writer: Uuid::parse_str(&writer)?,
                seq,
                hash,
            });
        }
        Ok(points)
    }

    async fn purge_writer(&self, anchor: &Seal) -> anyhow::Result<u64> {
        let writer = anchor.writer.to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM journal_seals WHERE writer = ? AND seq <= ?")
            .bind(&writer)
            .bind(anchor.seq)
            .execute(&mut *tx)
            .await?;
        insert_seal(&mut tx, anchor).await?;
        let done = sqlx::query("DELETE FROM journal WHERE writer = ? AND wseq <= ?")
            .bind(&writer)
            .bind(anchor.seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    async fn call_counts(&self, range: TimeRange) -> anyhow::Result<Vec<CallCount>> {
        let mut q = QueryBuilder::<Sqlite>::new("SELECT jti, endpoint, status, COUNT(*) AS n FROM journal");
        push_range(&mut q, range);
        q.push(" GROUP BY jti, endpoint, status ORDER BY n DESC, endpoint, status");
        let rows = q.build().fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let jti: Option<String> = r.try_get("jti")?;
                Ok(CallCount {
                    jti: jti.as_deref().map(Uuid::parse_str).transpose()?,
                    endpoint: r.try_get("endpoint")?,
                    status: u16::try_from(r.try_get::<i64, _>("status")?)?,
                    calls: r.try_get("n")?,
                })
            })
            .collect()
    }
}
