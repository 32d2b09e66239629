//! The embedded SQLite backend (WAL, full sync: the journal is a legal trace).

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use uuid::Uuid;

use crate::{JournalRow, SigningKey, Store, TokenRecord};

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

    async fn append_journal(&self, rows: &[JournalRow]) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO journal (request_id, at, jti, recipient, endpoint, status, duration_ms, params_hash, cached) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&r.request_id)
            .bind(r.at.to_rfc3339())
            .bind(r.jti.map(|j| j.to_string()))
            .bind(&r.recipient)
            .bind(&r.endpoint)
            .bind(i64::from(r.status))
            .bind(r.duration_ms)
            .bind(&r.params_hash)
            .bind(i64::from(r.cached))
            .execute(&mut *tx)
            .await?;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as Days;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        (dir, store)
    }

    fn token() -> TokenRecord {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        TokenRecord {
            jti: Uuid::new_v4(),
            name: "Mairie".into(),
            siret: "13002526500013".into(),
            scopes: vec!["a".into(), "b".into()],
            issued_at: now,
            expires_at: now + Days::days(30),
            revoked_at: None,
            rate_limit_per_minute: Some(60),
            allowed_ips: vec!["10.0.0.0/8".into()],
        }
    }

    #[tokio::test]
    async fn tokens_round_trip_and_change() {
        let (_dir, store) = store().await;
        let t = token();
        store.insert_token(&t).await.unwrap();
        assert_eq!(store.token(t.jti).await.unwrap(), Some(t.clone()));
        let later = t.expires_at + Days::days(1);
        assert!(store.set_token_expiry(t.jti, later).await.unwrap());
        assert!(store.revoke_token(t.jti, later).await.unwrap());
        let changed = store.token(t.jti).await.unwrap().unwrap();
        assert_eq!((changed.expires_at, changed.revoked_at), (later, Some(later)));
        assert!(!store.revoke_token(Uuid::new_v4(), later).await.unwrap());
        assert_eq!(store.tokens().await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn secrets_keep_their_first_value() {
        let (_dir, store) = store().await;
        assert_eq!(store.secret_or_insert("salt", vec![1]).await.unwrap(), vec![1]);
        assert_eq!(store.secret_or_insert("salt", vec![2]).await.unwrap(), vec![1]);
    }

    #[tokio::test]
    async fn journal_appends_in_batches() {
        let (_dir, store) = store().await;
        let row = |i: u16| JournalRow {
            request_id: format!("r{i}"),
            at: Utc::now(),
            jti: None,
            recipient: None,
            endpoint: "e".into(),
            status: 200 + i,
            duration_ms: 1.5,
            params_hash: Some("h".into()),
            cached: i.is_multiple_of(2),
        };
        store.append_journal(&[row(0), row(1)]).await.unwrap();
        let rows = store.recent_journal(10).await.unwrap();
        assert_eq!(
            rows.iter().map(|r| r.request_id.as_str()).collect::<Vec<_>>(),
            vec!["r1", "r0"]
        );
        assert!(rows[1].cached);
    }
}
