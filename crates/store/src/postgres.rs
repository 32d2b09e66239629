//! The PostgreSQL backend, shared by several gateway replicas.
//!
//! A database that is down must fail calls fast (the gateway answers 503 and no data
//! leaves without its journal row), not hold them: connections are awaited for at
//! most `ACQUIRE_TIMEOUT`, every operation is bounded by `OPERATION_TIMEOUT`, and the
//! pool checks a connection before lending it, so it reconnects by itself when the
//! database is back.

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgPool, Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::{
    CallCount, ChainedRow, JournalRow, PurgePoint, Seal, SealKind, SigningKey, Store, TimeRange, TokenRecord,
    WriterSpan,
};

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// PostgreSQL takes at most 65535 bound values per statement.
const MAX_PARAMS: usize = 65535;
const JOURNAL_COLUMNS: usize = 13;

pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("passerelle");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(0)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .idle_timeout(Duration::from_secs(300))
            .test_before_acquire(true)
            .connect_with(options)
            .await?;
        Ok(PostgresStore { pool })
    }
}

/// Runs `op` within `OPERATION_TIMEOUT`: a database that stopped answering fails the
/// call instead of holding it.
async fn bounded<T>(op: impl Future<Output = Result<T, sqlx::Error>>) -> anyhow::Result<T> {
    match tokio::time::timeout(OPERATION_TIMEOUT, op).await {
        Ok(result) => Ok(result?),
        Err(_) => anyhow::bail!("the database did not answer within {OPERATION_TIMEOUT:?}"),
    }
}

fn token_from(row: &PgRow) -> anyhow::Result<TokenRecord> {
    let limit: Option<i32> = row.try_get("rate_limit_per_minute")?;
    Ok(TokenRecord {
        jti: row.try_get("jti")?,
        name: row.try_get("name")?,
        siret: row.try_get("siret")?,
        scopes: row.try_get("scopes")?,
        issued_at: row.try_get("issued_at")?,
        expires_at: row.try_get("expires_at")?,
        revoked_at: row.try_get("revoked_at")?,
        rate_limit_per_minute: limit.map(u32::try_from).transpose()?,
        allowed_ips: row.try_get("allowed_ips")?,
    })
}

fn journal_from(row: &PgRow) -> anyhow::Result<JournalRow> {
    Ok(JournalRow {
        request_id: row.try_get("request_id")?,
        at: row.try_get("at")?,
        jti: row.try_get("jti")?,
        recipient: row.try_get("recipient")?,
        endpoint: row.try_get("endpoint")?,
        status: u16::try_from(row.try_get::<i32, _>("status")?)?,
        duration_ms: row.try_get("duration_ms")?,
        params_hash: row.try_get("params_hash")?,
        cached: row.try_get("cached")?,
    })
}

fn chained_from(row: &PgRow) -> anyhow::Result<ChainedRow> {
    Ok(ChainedRow {
        row: journal_from(row)?,
        writer: row.try_get("writer")?,
        seq: row.try_get("seq")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

fn seal_from(row: &PgRow) -> anyhow::Result<Seal> {
    Ok(Seal {
        kind: SealKind::parse(row.try_get("kind")?)?,
        writer: row.try_get("writer")?,
        seq: row.try_get("seq")?,
        hash: row.try_get("hash")?,
        at: row.try_get("at")?,
        kid: row.try_get("kid")?,
        signature: row.try_get("signature")?,
    })
}

fn push_range(q: &mut QueryBuilder<'_, Postgres>, range: TimeRange) {
    q.push(" WHERE TRUE");
    if let Some(since) = range.since {
        q.push(" AND at >= ").push_bind(since);
    }
    if let Some(until) = range.until {
        q.push(" AND at < ").push_bind(until);
    }
}

async fn insert_seal(conn: &mut sqlx::PgConnection, seal: &Seal) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO journal_seals (kind, writer, seq, hash, at, kid, signature) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(seal.kind.as_str())
    .bind(seal.writer)
    .bind(seal.seq)
    .bind(&seal.hash)
    .bind(seal.at)
    .bind(&seal.kid)
    .bind(&seal.signature)
    .execute(conn)
    .await?;
    Ok(())
}

impl PostgresStore {
    async fn append(&self, rows: &[ChainedRow], seal: Option<&Seal>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for chunk in rows.chunks(MAX_PARAMS / JOURNAL_COLUMNS) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO journal (request_id, at, jti, recipient, endpoint, status, duration_ms, params_hash, \
                 cached, writer, seq, prev_hash, hash) ",
            );
            q.push_values(chunk, |mut b, c| {
                let r = &c.row;
                b.push_bind(&r.request_id)
                    .push_bind(r.at)
                    .push_bind(r.jti)
                    .push_bind(&r.recipient)
                    .push_bind(&r.endpoint)
                    .push_bind(i32::from(r.status))
                    .push_bind(r.duration_ms)
                    .push_bind(&r.params_hash)
                    .push_bind(r.cached)
                    .push_bind(c.writer)
                    .push_bind(c.seq)
                    .push_bind(&c.prev_hash)
                    .push_bind(&c.hash);
            });
            q.build().execute(&mut *tx).await?;
        }
        if let Some(seal) = seal {
            insert_seal(&mut tx, seal).await?;
        }
        tx.commit().await
    }

    async fn purge(&self, anchor: &Seal) -> Result<u64, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM journal_seals WHERE writer = $1 AND seq <= $2")
            .bind(anchor.writer)
            .bind(anchor.seq)
            .execute(&mut *tx)
            .await?;
        insert_seal(&mut tx, anchor).await?;
        let done = sqlx::query("DELETE FROM journal WHERE writer = $1 AND seq <= $2")
            .bind(anchor.writer)
            .bind(anchor.seq)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> anyhow::Result<()> {
        // Replicas may start together; the migrator takes an advisory lock.
        sqlx::migrate!("migrations/postgres").run(&self.pool).await?;
        Ok(())
    }

    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>> {
        let rows = bounded(
            sqlx::query(
                "SELECT kid, algorithm, private_der, public_der, created_at FROM signing_keys ORDER BY created_at, kid",
            )
            .fetch_all(&self.pool),
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(SigningKey {
                    kid: r.try_get("kid")?,
                    algorithm: r.try_get("algorithm")?,
                    private_der: r.try_get("private_der")?,
                    public_der: r.try_get("public_der")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> anyhow::Result<()> {
        bounded(
            sqlx::query(
                "INSERT INTO signing_keys (kid, algorithm, private_der, public_der, created_at) VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&key.kid)
            .bind(&key.algorithm)
            .bind(&key.private_der)
            .bind(&key.public_der)
            .bind(key.created_at)
            .execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    async fn secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        let row = bounded(
            sqlx::query("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_optional(&self.pool),
        )
        .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    async fn secret_or_insert(&self, name: &str, make: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        bounded(
            sqlx::query("INSERT INTO secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name)
                .bind(make)
                .execute(&self.pool),
        )
        .await?;
        let row = bounded(
            sqlx::query("SELECT value FROM secrets WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool),
        )
        .await?;
        Ok(row.try_get("value")?)
    }

    async fn insert_token(&self, t: &TokenRecord) -> anyhow::Result<()> {
        bounded(
            sqlx::query(
                "INSERT INTO tokens (jti, name, siret, scopes, issued_at, expires_at, revoked_at, rate_limit_per_minute, \
                 allowed_ips) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(t.jti)
            .bind(&t.name)
            .bind(&t.siret)
            .bind(&t.scopes)
            .bind(t.issued_at)
            .bind(t.expires_at)
            .bind(t.revoked_at)
            .bind(t.rate_limit_per_minute.map(i32::try_from).transpose()?)
            .bind(&t.allowed_ips)
            .execute(&self.pool),
        )
        .await?;
        Ok(())
    }

    async fn token(&self, jti: Uuid) -> anyhow::Result<Option<TokenRecord>> {
        let row = bounded(
            sqlx::query("SELECT * FROM tokens WHERE jti = $1")
                .bind(jti)
                .fetch_optional(&self.pool),
        )
        .await?;
        row.as_ref().map(token_from).transpose()
    }

    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>> {
        let rows = bounded(sqlx::query("SELECT * FROM tokens ORDER BY issued_at, jti").fetch_all(&self.pool)).await?;
        rows.iter().map(token_from).collect()
    }

    async fn revoke_token(&self, jti: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = bounded(
            sqlx::query("UPDATE tokens SET revoked_at = $1 WHERE jti = $2")
                .bind(at)
                .bind(jti)
                .execute(&self.pool),
        )
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn set_token_expiry(&self, jti: Uuid, expires_at: DateTime<Utc>) -> anyhow::Result<bool> {
        let done = bounded(
            sqlx::query("UPDATE tokens SET expires_at = $1 WHERE jti = $2")
                .bind(expires_at)
                .bind(jti)
                .execute(&self.pool),
        )
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn append_journal(&self, rows: &[ChainedRow], seal: Option<&Seal>) -> anyhow::Result<()> {
        bounded(self.append(rows, seal)).await
    }

    async fn recent_journal(&self, limit: u32) -> anyhow::Result<Vec<JournalRow>> {
        let rows = bounded(
            sqlx::query("SELECT * FROM journal ORDER BY id DESC LIMIT $1")
                .bind(i64::from(limit))
                .fetch_all(&self.pool),
        )
        .await?;
        rows.iter().map(journal_from).collect()
    }

    async fn journal_page(&self, range: TimeRange, after: i64, limit: u32) -> anyhow::Result<Vec<(i64, ChainedRow)>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT * FROM journal");
        push_range(&mut q, range);
        q.push(" AND id > ").push_bind(after);
        q.push(" ORDER BY id LIMIT ").push_bind(i64::from(limit));
        let rows = bounded(q.build().fetch_all(&self.pool)).await?;
        rows.iter().map(|r| Ok((r.try_get("id")?, chained_from(r)?))).collect()
    }

    async fn journal_count(&self, range: TimeRange) -> anyhow::Result<i64> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT COUNT(*) AS n FROM journal");
        push_range(&mut q, range);
        Ok(bounded(q.build().fetch_one(&self.pool)).await?.try_get("n")?)
    }

    async fn journal_writers(&self) -> anyhow::Result<Vec<WriterSpan>> {
        let rows = bounded(
            sqlx::query(
                "SELECT writer, MIN(seq) AS first, MAX(seq) AS last, COUNT(*) AS n FROM journal \
                 GROUP BY writer ORDER BY MIN(id)",
            )
            .fetch_all(&self.pool),
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(WriterSpan {
                    writer: r.try_get("writer")?,
                    first_seq: r.try_get("first")?,
                    last_seq: r.try_get("last")?,
                    rows: r.try_get("n")?,
                })
            })
            .collect()
    }

    async fn writer_rows(&self, writer: Uuid, after: i64, limit: u32) -> anyhow::Result<Vec<ChainedRow>> {
        let rows = bounded(
            sqlx::query("SELECT * FROM journal WHERE writer = $1 AND seq > $2 ORDER BY seq LIMIT $3")
                .bind(writer)
                .bind(after)
                .bind(i64::from(limit))
                .fetch_all(&self.pool),
        )
        .await?;
        rows.iter().map(chained_from).collect()
    }

    async fn journal_seals(&self) -> anyhow::Result<Vec<Seal>> {
        let rows =
            bounded(sqlx::query("SELECT * FROM journal_seals ORDER BY writer, seq, id").fetch_all(&self.pool)).await?;
        rows.iter().map(seal_from).collect()
    }

    async fn purge_points(&self, before: DateTime<Utc>) -> anyhow::Result<Vec<PurgePoint>> {
        let rows = bounded(
            sqlx::query(
                "WITH spans AS ( \
                   SELECT writer, MIN(seq) AS first, \
                          COALESCE(MIN(seq) FILTER (WHERE at >= $1) - 1, MAX(seq)) AS cut \
                   FROM journal GROUP BY writer) \
                 SELECT j.writer, j.seq, j.hash FROM spans s \
                 JOIN journal j ON j.writer = s.writer AND j.seq = s.cut \
                 WHERE s.cut >= s.first",
            )
            .bind(before)
            .fetch_all(&self.pool),
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PurgePoint {
                    writer: r.try_get("writer")?,
                    seq: r.try_get("seq")?,
                    hash: r.try_get("hash")?,
                })
            })
            .collect()
    }

    async fn purge_writer(&self, anchor: &Seal) -> anyhow::Result<u64> {
        // A purge may delete many rows: no operation bound here, the pool's own
        // timeouts still catch a database that is down.
        Ok(self.purge(anchor).await?)
    }

    async fn call_counts(&self, range: TimeRange) -> anyhow::Result<Vec<CallCount>> {
        let mut q = QueryBuilder::<Postgres>::new("SELECT jti, endpoint, status, COUNT(*) AS n FROM journal");
        push_range(&mut q, range);
        q.push(" GROUP BY jti, endpoint, status ORDER BY n DESC, endpoint, status");
        let rows = bounded(q.build().fetch_all(&self.pool)).await?;
        rows.iter()
            .map(|r| {
                Ok(CallCount {
                    jti: r.try_get("jti")?,
                    endpoint: r.try_get("endpoint")?,
                    status: u16::try_from(r.try_get::<i32, _>("status")?)?,
                    calls: r.try_get("n")?,
                })
            })
            .collect()
    }
}
