//! What the journal's tests share: rows, keys, stores (a temp SQLite file; a fresh
//! PostgreSQL database when one is reachable), raw SQL to play the attacker.

use std::any::Any;
use std::str::FromStr;
use std::sync::Arc;

use chrono::Utc;
use passerelle_store::{CallerId, JournalRow, SigningKey, Store, PARTICULIER};
use passerelle_store_postgres::scratch::TestDb;
use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, PgConnection, SqliteConnection};
use uuid::Uuid;

use crate::{Journal, JournalSettings};

pub fn call(i: usize) -> JournalRow {
    JournalRow {
        request_id: format!("req-{i}"),
        at: Utc::now(),
        bouquet: PARTICULIER.into(),
        caller: Some(CallerId::Token(Uuid::new_v4())),
        purpose: [("recipient".to_string(), "13002526500013".to_string())].into(),
        endpoint: "/v3/dss/quotient_familial/identite".into(),
        status: 200,
        duration_ms: 1.25 + i as f64,
        params_hash: Some(format!("{i:0128}")),
        cached: false,
        body_sha256: None,
        subject: None,
    }
}

pub fn signing_key() -> SigningKey {
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    SigningKey {
        kid: Uuid::new_v4().simple().to_string()[..16].to_string(),
        algorithm: "EdDSA".into(),
        purpose: passerelle_store::KEYS_FOR_TOKENS.into(),
        private_der: pkcs8.as_ref().to_vec(),
        public_der: pair.public_key().as_ref().to_vec(),
        created_at: Utc::now(),
    }
}

/// A store with a signing key, and what must live as long as it.
pub struct TestStore {
    pub store: Arc<dyn Store>,
    pub url: String,
    _keep: Box<dyn Any + Send>,
}

/// Where a test store lives, before it is opened.
pub struct Place {
    pub url: String,
    keep: Box<dyn Any + Send>,
}

impl Place {
    pub fn sqlite() -> Place {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("journal.db").display());
        Place {
            url,
            keep: Box::new(dir),
        }
    }

    /// A fresh database, or `None` (skip) when PostgreSQL is unreachable outside CI.
    pub async fn postgres() -> Option<Place> {
        let db = TestDb::create().await?;
        Some(Place {
            url: db.url.clone(),
            keep: Box::new(db),
        })
    }

    /// SQLite, and PostgreSQL when it is reachable.
    pub async fn both() -> Vec<Place> {
        let mut places = vec![Place::sqlite()];
        places.extend(Place::postgres().await);
        places
    }

    pub fn is_sqlite(&self) -> bool {
        self.url.starts_with("sqlite:")
    }

    /// Runs the first `count` migrations only: the schema an older version left.
    pub async fn migrate_to(&self, count: usize) {
        let first = |m: &Migrator| Migrator {
            migrations: m.iter().take(count).cloned().collect::<Vec<_>>().into(),
            ..Migrator::DEFAULT
        };
        if self.is_sqlite() {
            let options = SqliteConnectOptions::from_str(&self.url)
                .unwrap()
                .create_if_missing(true);
            let mut c = SqliteConnection::connect_with(&options).await.unwrap();
            first(&passerelle_store_sqlite::MIGRATOR).run(&mut c).await.unwrap();
        } else {
            let mut c = PgConnection::connect(&self.url).await.unwrap();
            first(&passerelle_store_postgres::MIGRATOR).run(&mut c).await.unwrap();
        }
    }

    /// Opens (and migrates) the store, with a signing key.
    pub async fn open(self) -> TestStore {
        let store = crate::open(&self.url).await.unwrap();
        store.insert_signing_key(&signing_key()).await.unwrap();
        TestStore {
            store,
            url: self.url,
            _keep: self.keep,
        }
    }
}

impl TestStore {
    pub async fn sqlite() -> TestStore {
        Place::sqlite().open().await
    }

    /// Runs `statement` on the database behind the store, as an attacker with write access.
    pub async fn sql(&self, statement: &str) {
        sql(&self.url, statement).await
    }

    /// `calls` rows written by the gateway's writer (a checkpoint every 3 rows, and at
    /// the end); their request ids.
    pub async fn write(&self, calls: usize) -> Vec<String> {
        self.write_with(calls, JournalSettings::default()).await
    }

    /// As `write`, with the rest of `settings` (the heads' sinks, say).
    pub async fn write_with(&self, calls: usize, settings: JournalSettings) -> Vec<String> {
        let settings = JournalSettings {
            checkpoint_rows: 3,
            ..settings
        };
        let journal = Journal::start(self.store.clone(), &settings).await.unwrap();
        for i in 0..calls {
            assert!(journal.record(call(i)).await);
        }
        assert!(journal.seal().await);
        (0..calls).map(|i| format!("req-{i}")).collect()
    }
}

/// Runs `statement` on the database at `url` (no binds: tests only).
pub async fn sql(url: &str, statement: &str) {
    if url.starts_with("sqlite:") {
        let mut c = SqliteConnection::connect(url).await.unwrap();
        sqlx::raw_sql(statement).execute(&mut c).await.unwrap();
    } else {
        let mut c = PgConnection::connect(url).await.unwrap();
        sqlx::raw_sql(statement).execute(&mut c).await.unwrap();
    }
}
