//! The embedded SQLite backend (WAL, full sync: the journal is a legal trace).
//!
//! UUIDs are hyphenated text, times RFC 3339 text in UTC with microseconds (so that
//! text order is time order), lists JSON text.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use passerelle_store::sql::{self, Dialect, Value};
use passerelle_store::{
    CallCount, ChainedRow, DemandeChange, DemandeEvent, DemandePerson, DemandeRecord, HabilitationStore, IpBan,
    IpBanStore, JournalAudit, JournalRow, JournalWriter, KeyStore, OutboxItem, PurgePoint, Seal, SigningKey, Store,
    TimeRange, TokenRecord, TokenStore, WebSession, WriterSpan,
};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{QueryBuilder, Sqlite, SqlitePool};
use uuid::fmt::Hyphenated;
use uuid::Uuid;

pub struct SqliteStore {
    pool: SqlitePool,
    /// The journal's own connection. SQLite keeps a page cache per connection and
    /// drops it when another connection has written: a writer that always uses the
    /// same one finds the pages its last batch touched still in memory. Lent by a
    /// pool, unlike PostgreSQL's (`sql::Dedicated`): the ping sqlx sends as it comes
    /// back lets rows gather for the next batch, and a commit costs about the same
    /// pages whatever its size; without it, c=32 on tmpfs fell to half.
    journal: SqlitePool,
}

impl Dialect for SqliteStore {
    type Db = Sqlite;
    type Uuid = Hyphenated;
    type Time = String;
    type List = String;

    fn time(at: DateTime<Utc>) -> String {
        at.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    fn list(items: &[String]) -> String {
        serde_json::Value::from(items).to_string()
    }

    fn unlist(list: String) -> anyhow::Result<Vec<String>> {
        Ok(serde_json::from_str(&list)?)
    }

    fn bind<'a>(q: &mut QueryBuilder<'a, Sqlite>, value: Value<'a>) {
        sql::bind::<Self>(q, value)
    }
}

impl SqliteStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        let pool = open_pool(options.clone(), 4).await?;
        // An in-memory database is one per connection: the journal shares the pool.
        let journal = if url.contains(":memory:") || url.contains("mode=memory") {
            pool.clone()
        } else {
            open_pool(options, 1).await?
        };
        Ok(SqliteStore { pool, journal })
    }
}

async fn open_pool(options: SqliteConnectOptions, max_connections: u32) -> sqlx::Result<SqlitePool> {
    SqlitePoolOptions::new()
        .max_connections(max_connections)
        // A local file cannot drop a connection: no ping before each use.
        .test_before_acquire(false)
        .connect_with(options)
        .await
}

type Lite = SqliteStore;

#[async_trait]
impl KeyStore for SqliteStore {
    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>> {
        sql::all(&self.pool, &mut sql::signing_keys::<Lite>()).await
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::insert_signing_key::<Lite>(key)).await?;
        Ok(())
    }

    async fn secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(sql::all(&self.pool, &mut sql::secret::<Lite>(name)).await?.pop())
    }

    async fn secret_or_insert(&self, name: &str, make: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        sql::execute(&self.pool, &mut sql::insert_secret::<Lite>(name, &make)).await?;
        let kept = self.secret(name).await?;
        kept.ok_or_else(|| anyhow::anyhow!("secret `{name}` vanished"))
    }
}

#[async_trait]
impl IpBanStore for SqliteStore {
    async fn insert_ip_ban(&self, ban: &IpBan) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::insert_ip_ban::<Lite>(ban)).await?;
        Ok(())
    }

    async fn ip_bans(&self, at: Option<DateTime<Utc>>) -> anyhow::Result<Vec<IpBan>> {
        sql::all(&self.pool, &mut sql::ip_bans::<Lite>(at)).await
    }

    async fn lift_ip_ban(&self, ip: &str, at: DateTime<Utc>) -> anyhow::Result<u64> {
        let lifted = sql::execute(&self.pool, &mut sql::lift_ip_ban::<Lite>(ip, at)).await?;
        Ok(lifted.rows_affected())
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn insert_token(&self, token: &TokenRecord) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::insert_token::<Lite>(token)?).await?;
        Ok(())
    }

    async fn token(&self, jti: Uuid) -> anyhow::Result<Option<TokenRecord>> {
        Ok(sql::all(&self.pool, &mut sql::token::<Lite>(jti)).await?.pop())
    }

    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>> {
        sql::all(&self.pool, &mut sql::tokens::<Lite>()).await
    }

    async fn revoke_token(&self, jti: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool> {
        let revoked = sql::execute(&self.pool, &mut sql::revoke_token::<Lite>(jti, at)).await?;
        Ok(revoked.rows_affected() == 1)
    }

    async fn set_token_expiry(&self, jti: Uuid, expires_at: DateTime<Utc>) -> anyhow::Result<bool> {
        let changed = sql::execute(&self.pool, &mut sql::set_token_expiry::<Lite>(jti, expires_at)).await?;
        Ok(changed.rows_affected() == 1)
    }
}

/// SQLite takes at most 32766 bound values per statement.
const MAX_PARAMS: usize = 32766;

#[async_trait]
impl JournalWriter for SqliteStore {
    async fn append_journal(&self, rows: &[ChainedRow], seal: Option<&Seal>) -> anyhow::Result<()> {
        sql::transaction(&self.journal, &mut sql::append::<Lite>(rows, seal, MAX_PARAMS)).await?;
        Ok(())
    }
}

#[async_trait]
impl JournalAudit for SqliteStore {
    async fn recent_journal(&self, limit: u32) -> anyhow::Result<Vec<JournalRow>> {
        sql::all(&self.pool, &mut sql::recent_journal::<Lite>(limit)).await
    }

    async fn calls_about(&self, subject: &str, limit: u32) -> anyhow::Result<Vec<JournalRow>> {
        sql::all(&self.pool, &mut sql::calls_about::<Lite>(subject, limit)).await
    }

    async fn token_calls(&self, jti: Uuid, limit: u32) -> anyhow::Result<Vec<JournalRow>> {
        sql::all(&self.pool, &mut sql::token_calls::<Lite>(jti, limit)).await
    }

    async fn journal_page(&self, range: TimeRange, after: i64, limit: u32) -> anyhow::Result<Vec<(i64, ChainedRow)>> {
        sql::all(&self.pool, &mut sql::journal_page::<Lite>(range, after, limit)).await
    }

    async fn journal_count(&self, range: TimeRange) -> anyhow::Result<i64> {
        let count = sql::all(&self.pool, &mut sql::journal_count::<Lite>(range)).await?;
        Ok(count.iter().sum())
    }

    async fn journal_writers(&self) -> anyhow::Result<Vec<WriterSpan>> {
        sql::all(&self.pool, &mut sql::journal_writers::<Lite>()).await
    }

    async fn writer_rows(&self, writer: Uuid, after: i64, limit: u32) -> anyhow::Result<Vec<ChainedRow>> {
        sql::all(&self.pool, &mut sql::writer_rows::<Lite>(writer, after, limit)).await
    }

    async fn journal_seals(&self) -> anyhow::Result<Vec<Seal>> {
        sql::all(&self.pool, &mut sql::journal_seals::<Lite>()).await
    }

    async fn purge_points(&self, before: DateTime<Utc>) -> anyhow::Result<Vec<PurgePoint>> {
        sql::all(&self.pool, &mut sql::purge_points::<Lite>(before)).await
    }

    async fn purge_writer(&self, anchor: &Seal) -> anyhow::Result<u64> {
        let deleted = sql::transaction(&self.pool, &mut sql::purge::<Lite>(anchor)).await?;
        Ok(deleted.rows_affected())
    }

    async fn call_counts(&self, range: TimeRange) -> anyhow::Result<Vec<CallCount>> {
        sql::all(&self.pool, &mut sql::call_counts::<Lite>(range)).await
    }
}

#[async_trait]
impl HabilitationStore for SqliteStore {
    async fn commit_demande(&self, change: &DemandeChange) -> anyhow::Result<bool> {
        let mut statements = sql::commit_demande::<Lite>(change)?;
        Ok(sql::guarded_transaction(&self.pool, &mut statements).await?)
    }

    async fn demande(&self, id: Uuid) -> anyhow::Result<Option<DemandeRecord>> {
        Ok(sql::all(&self.pool, &mut sql::demande::<Lite>(id)).await?.pop())
    }

    async fn demandes_of(&self, siret: &str, email: &str) -> anyhow::Result<Vec<DemandeRecord>> {
        sql::all(&self.pool, &mut sql::demandes_of::<Lite>(siret, email)).await
    }

    async fn demandes_in(&self, bouquet: &str) -> anyhow::Result<Vec<DemandeRecord>> {
        sql::all(&self.pool, &mut sql::demandes_in::<Lite>(bouquet)).await
    }

    async fn demande_people(&self, id: Uuid) -> anyhow::Result<Vec<DemandePerson>> {
        sql::all(&self.pool, &mut sql::demande_people::<Lite>(id)).await
    }

    async fn demande_events(&self, id: Uuid) -> anyhow::Result<Vec<DemandeEvent>> {
        sql::all(&self.pool, &mut sql::demande_events::<Lite>(id)).await
    }

    async fn enqueue(&self, items: &[OutboxItem]) -> anyhow::Result<u64> {
        if items.is_empty() {
            return Ok(0);
        }
        let added = sql::execute(&self.pool, &mut sql::insert_outbox::<Lite>(items)).await?;
        Ok(added.rows_affected())
    }

    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<OutboxItem>> {
        sql::all(&self.pool, &mut sql::due_outbox::<Lite>(now, limit)).await
    }

    async fn settle_outbox(&self, item: &OutboxItem) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::settle_outbox::<Lite>(item)).await?;
        Ok(())
    }

    async fn claim_outbox(&self, item: &OutboxItem, until: DateTime<Utc>) -> anyhow::Result<bool> {
        let claimed = sql::execute(&self.pool, &mut sql::claim_outbox::<Lite>(item, until)).await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn outbox(&self, channel: &str, limit: u32) -> anyhow::Result<Vec<OutboxItem>> {
        sql::all(&self.pool, &mut sql::outbox::<Lite>(channel, limit)).await
    }

    async fn put_session(&self, session: &WebSession) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::put_session::<Lite>(session)).await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> anyhow::Result<Option<WebSession>> {
        Ok(sql::all(&self.pool, &mut sql::session::<Lite>(id_hash, now))
            .await?
            .pop())
    }

    async fn drop_session(&self, id_hash: &str) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::drop_session::<Lite>(id_hash)).await?;
        Ok(())
    }

    async fn purge_sessions(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let purged = sql::execute(&self.pool, &mut sql::purge_sessions::<Lite>(now)).await?;
        Ok(purged.rows_affected())
    }

    async fn put_token_link(&self, link: &passerelle_store::TokenLink) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::put_token_link::<Lite>(link)).await?;
        Ok(())
    }

    async fn open_token_link(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<passerelle_store::TokenLink>> {
        Ok(sql::all(&self.pool, &mut sql::open_token_link::<Lite>(code_hash, now))
            .await?
            .pop())
    }
}

/// This backend's migrations (public for the tests that start from an older schema).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> anyhow::Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }
}

#[async_trait]
impl passerelle_store::DataPassStore for SqliteStore {
    async fn apply_datapass(
        &self,
        delivery: &passerelle_store::DataPassDelivery,
        change: &DemandeChange,
    ) -> anyhow::Result<passerelle_store::DeliveryOutcome> {
        let mut statements = sql::datapass_statements::<Lite>(delivery, change)?;
        sql::apply_datapass(&self.pool, &mut statements).await
    }

    async fn datapass_demande(&self, bouquet: &str, model_id: i64) -> anyhow::Result<Option<Uuid>> {
        Ok(
            sql::all(&self.pool, &mut sql::datapass_demande::<Lite>(bouquet, model_id))
                .await?
                .pop(),
        )
    }
}

#[async_trait]
impl passerelle_store::StatusStore for SqliteStore {
    async fn record_check(&self, check: &passerelle_store::Check) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::record_check::<Lite>(check)).await?;
        Ok(())
    }

    async fn check_days(
        &self,
        bouquet: &str,
        since: chrono::NaiveDate,
    ) -> anyhow::Result<Vec<passerelle_store::CheckDay>> {
        sql::all(&self.pool, &mut sql::check_days::<Lite>(bouquet, since)).await
    }

    async fn open_notice(&self, notice: &passerelle_store::NewNotice) -> anyhow::Result<passerelle_store::Notice> {
        let id = Uuid::new_v4();
        sql::transaction(&self.pool, &mut sql::open_notice::<Lite>(id, notice)).await?;
        let opened = passerelle_store::StatusStore::find_notices(self, &passerelle_store::NoticeFilter::Id(id)).await?;
        opened
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("notice {id} vanished"))
    }

    async fn add_note(&self, number: i64, note: &passerelle_store::NoticeNote) -> anyhow::Result<bool> {
        let added = sql::execute(&self.pool, &mut sql::add_note::<Lite>(number, note.at, &note.text)).await?;
        Ok(added.rows_affected() == 1)
    }

    async fn close_notice(&self, number: i64, at: DateTime<Utc>, note: Option<&str>) -> anyhow::Result<bool> {
        let mut statements = sql::close_notice::<Lite>(number, at, note);
        Ok(sql::guarded_transaction(&self.pool, &mut statements).await?)
    }

    async fn find_notices(
        &self,
        filter: &passerelle_store::NoticeFilter<'_>,
    ) -> anyhow::Result<Vec<passerelle_store::Notice>> {
        let notices = sql::all(&self.pool, &mut sql::notices::<Lite>(filter)).await?;
        let notes = sql::all(&self.pool, &mut sql::notice_notes::<Lite>(filter)).await?;
        Ok(sql::with_notes(notices, notes))
    }
}

#[async_trait]
impl passerelle_store::UsageStore for SqliteStore {
    /// None: SQLite has one writer at a time, so a transaction holding a lower `id`
    /// has committed (or rolled back) before any higher `id` is visible.
    fn rollup_lag(&self) -> Duration {
        Duration::ZERO
    }

    async fn roll_up_usage(&self, cutoff: DateTime<Utc>, limit: u32) -> anyhow::Result<passerelle_store::RollupStep> {
        use passerelle_store::RollupStep;
        // A step holds the one write lock the journal's writer needs: short steps.
        const MAX_STEP: u32 = 20_000;
        let limit = limit.min(MAX_STEP);
        let after = passerelle_store::UsageStore::usage_watermark(self).await?.last_id;
        let bound = sql::all(&self.pool, &mut sql::rollup_bound::<Lite>(after, cutoff, limit)).await?;
        let Some((Some(last), rows)) = bound.into_iter().next() else {
            return Ok(RollupStep::Idle);
        };
        let mut statements = sql::roll_up::<Lite>(after, last, rows, Utc::now());
        Ok(match sql::guarded_transaction(&self.pool, &mut statements).await? {
            true => RollupStep::Counted { rows, last_id: last },
            false => RollupStep::Lost,
        })
    }

    async fn usage_watermark(&self) -> anyhow::Result<passerelle_store::UsageWatermark> {
        let mark = sql::all(&self.pool, &mut sql::usage_watermark::<Lite>()).await?;
        mark.into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("the usage watermark is missing"))
    }

    async fn bouquet_usage(
        &self,
        bouquet: &str,
        range: TimeRange,
        by: passerelle_store::Grouping,
    ) -> anyhow::Result<Vec<passerelle_store::UsageLine>> {
        sql::all(&self.pool, &mut sql::bouquet_usage::<Lite>(bouquet, range, by)).await
    }

    async fn token_usage(
        &self,
        jti: Uuid,
        range: TimeRange,
        by: passerelle_store::Grouping,
    ) -> anyhow::Result<Vec<passerelle_store::UsageLine>> {
        sql::all(&self.pool, &mut sql::token_usage::<Lite>(jti, range, by)).await
    }
}

#[async_trait]
impl passerelle_store::AuditStore for SqliteStore {
    async fn calls_of_tokens(&self, request_ids: &[String], tokens: &[Uuid]) -> anyhow::Result<Vec<JournalRow>> {
        sql::all(&self.pool, &mut sql::calls_of_tokens::<Lite>(request_ids, tokens)).await
    }

    async fn events_of_kind(&self, kind: &str, limit: u32) -> anyhow::Result<Vec<DemandeEvent>> {
        sql::all(&self.pool, &mut sql::events_of_kind::<Lite>(kind, limit)).await
    }
}

#[async_trait]
impl passerelle_store::OperatorStore for SqliteStore {
    async fn record_operator_action(&self, action: &passerelle_store::OperatorAction) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::insert_operator_action::<Lite>(action)).await?;
        Ok(())
    }

    async fn operator_actions(&self, limit: u32) -> anyhow::Result<Vec<passerelle_store::OperatorAction>> {
        sql::all(&self.pool, &mut sql::operator_actions::<Lite>(limit)).await
    }

    async fn commit_operator(
        &self,
        change: &DemandeChange,
        issued: Option<&TokenRecord>,
        action: &passerelle_store::OperatorAction,
    ) -> anyhow::Result<bool> {
        let mut statements = sql::commit_operator::<Lite>(change, issued, action)?;
        Ok(sql::guarded_transaction(&self.pool, &mut statements).await?)
    }

    async fn all_demandes(&self) -> anyhow::Result<Vec<DemandeRecord>> {
        sql::all(&self.pool, &mut sql::all_demandes::<Lite>()).await
    }

    async fn organisation_demandes(&self, siret: &str) -> anyhow::Result<Vec<DemandeRecord>> {
        sql::all(&self.pool, &mut sql::organisation_demandes::<Lite>(siret)).await
    }

    async fn demande_numbered(&self, number: i64) -> anyhow::Result<Option<DemandeRecord>> {
        Ok(sql::all(&self.pool, &mut sql::demande_numbered::<Lite>(number))
            .await?
            .pop())
    }

    async fn tokens_in(&self, jtis: &[Uuid]) -> anyhow::Result<Vec<TokenRecord>> {
        sql::all(&self.pool, &mut sql::tokens_in::<Lite>(jtis)).await
    }
}

#[async_trait]
impl passerelle_store::DelegationStore for SqliteStore {
    async fn commit_delegation(
        &self,
        change: &DemandeChange,
        write: &passerelle_store::DelegationWrite,
    ) -> anyhow::Result<bool> {
        let mut statements = sql::commit_delegation::<Lite>(change, write)?;
        Ok(sql::guarded_transaction(&self.pool, &mut statements).await?)
    }

    async fn delegations_of(&self, demande: Uuid) -> anyhow::Result<Vec<passerelle_store::Delegation>> {
        sql::all(&self.pool, &mut sql::delegations_of::<Lite>(demande)).await
    }

    async fn delegations_to(&self, editor: &str) -> anyhow::Result<Vec<passerelle_store::Delegation>> {
        sql::all(&self.pool, &mut sql::delegations_to::<Lite>(editor)).await
    }

    async fn delegated_tokens(&self, delegation: Uuid) -> anyhow::Result<Vec<passerelle_store::DelegatedToken>> {
        sql::all(&self.pool, &mut sql::delegated_tokens::<Lite>(delegation)).await
    }
}

#[async_trait]
impl passerelle_store::AlertStore for SqliteStore {
    async fn record_addresses(&self, seen: &[passerelle_store::TokenAddress]) -> anyhow::Result<()> {
        if seen.is_empty() {
            return Ok(());
        }
        sql::transaction(&self.pool, &mut sql::record_addresses::<Lite>(seen)).await?;
        Ok(())
    }

    async fn token_addresses(&self, jti: Uuid, limit: u32) -> anyhow::Result<Vec<passerelle_store::TokenAddress>> {
        sql::all(&self.pool, &mut sql::token_addresses::<Lite>(jti, limit)).await
    }

    async fn fresh_addresses(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<passerelle_store::FreshAddress>> {
        sql::all(&self.pool, &mut sql::fresh_addresses::<Lite>(since, limit)).await
    }

    async fn alert_settings(&self, demande_id: Uuid) -> anyhow::Result<Option<passerelle_store::AlertSettings>> {
        Ok(sql::all(&self.pool, &mut sql::alert_settings::<Lite>(demande_id))
            .await?
            .pop())
    }

    async fn every_alert_settings(&self) -> anyhow::Result<Vec<passerelle_store::AlertSettings>> {
        sql::all(&self.pool, &mut sql::every_alert_settings::<Lite>()).await
    }

    async fn put_alert_settings(&self, settings: &passerelle_store::AlertSettings) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::put_alert_settings::<Lite>(settings)).await?;
        Ok(())
    }

    async fn raise_alert(
        &self,
        alert: &passerelle_store::AlertRecord,
        mark: &passerelle_store::AlertMark,
        outbox: &[OutboxItem],
    ) -> anyhow::Result<bool> {
        let mut statements = sql::raise_alert::<Lite>(alert, mark, outbox);
        Ok(sql::guarded_transaction(&self.pool, &mut statements).await?)
    }

    async fn alert_mark(&self, jti: Uuid, kind: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
        Ok(sql::all(&self.pool, &mut sql::alert_mark::<Lite>(jti, kind))
            .await?
            .pop())
    }

    async fn alerts_of(&self, demande_id: Uuid, limit: u32) -> anyhow::Result<Vec<passerelle_store::AlertRecord>> {
        sql::all(&self.pool, &mut sql::alerts_of::<Lite>(demande_id, limit)).await
    }
}
