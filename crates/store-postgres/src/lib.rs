//! The PostgreSQL backend, shared by several gateway replicas.
//!
//! A database that is down must fail calls fast (the gateway answers 503 and no data
//! leaves without its journal row), not hold them: connections are awaited for at
//! most `ACQUIRE_TIMEOUT`, every operation is bounded by `OPERATION_TIMEOUT`, and the
//! pool checks a connection before lending it, so it reconnects by itself when the
//! database is back. The journal's writer has a connection of its own, outside the
//! pool (whose check, and sqlx's ping of each connection given back, would be two
//! more round trips per batch): a batch that finds it lost is written again, once, on
//! a new one.

pub mod scratch;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use passerelle_store::sql::{self, Dialect, Value};
use passerelle_store::{
    CallCount, ChainedRow, DemandeChange, DemandeEvent, DemandePerson, DemandeRecord, HabilitationStore, IpBan,
    IpBanStore, JournalAudit, JournalRow, JournalWriter, KeyStore, OutboxItem, PurgePoint, Seal, SigningKey, Store,
    TimeRange, TokenRecord, TokenStore, WebSession, WriterSpan,
};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// PostgreSQL takes at most 65535 bound values per statement.
const MAX_PARAMS: usize = 65535;

/// This backend's migrations (public for the tests that start from an older schema).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

pub struct PostgresStore {
    pool: PgPool,
    journal: sql::Dedicated<Postgres>,
}

impl PostgresStore {
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("passerelle");
        let pool = pool_options(16)
            .test_before_acquire(true)
            .connect_with(options.clone())
            .await?;
        let journal = sql::Dedicated::new(options.application_name("passerelle-journal"));
        Ok(PostgresStore { pool, journal })
    }

    async fn append_once(&self, rows: &[ChainedRow], seal: Option<&Seal>) -> anyhow::Result<()> {
        bounded(self.journal.transaction(&mut sql::append::<Pg>(rows, seal, MAX_PARAMS))).await?;
        Ok(())
    }
}

fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .idle_timeout(Duration::from_secs(300))
}

/// The connection, not the statement, failed: closed by the server (restart,
/// `pg_terminate_backend`) or by the network while it sat in the pool.
fn connection_lost(error: &anyhow::Error) -> bool {
    match error.downcast_ref::<sqlx::Error>() {
        Some(sqlx::Error::Io(_) | sqlx::Error::Protocol(_)) => true,
        // Class 08: connection exception; 57P01-57P03: the server shutting down.
        Some(sqlx::Error::Database(e)) => e
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

impl Dialect for PostgresStore {
    type Db = Postgres;
    type Uuid = Uuid;
    type Time = DateTime<Utc>;
    type List = Vec<String>;

    fn time(at: DateTime<Utc>) -> DateTime<Utc> {
        at
    }

    fn list(items: &[String]) -> Vec<String> {
        items.to_vec()
    }

    fn unlist(list: Vec<String>) -> anyhow::Result<Vec<String>> {
        Ok(list)
    }

    fn bind<'a>(q: &mut QueryBuilder<'a, Postgres>, value: Value<'a>) {
        sql::bind::<Self>(q, value)
    }
}

/// Runs `op` within `OPERATION_TIMEOUT`: a database that stopped answering fails the
/// call instead of holding it.
async fn bounded<T, E: Into<anyhow::Error>>(op: impl Future<Output = Result<T, E>>) -> anyhow::Result<T> {
    match tokio::time::timeout(OPERATION_TIMEOUT, op).await {
        Ok(result) => result.map_err(Into::into),
        Err(_) => anyhow::bail!("the database did not answer within {OPERATION_TIMEOUT:?}"),
    }
}

type Pg = PostgresStore;

#[async_trait]
impl KeyStore for PostgresStore {
    async fn signing_keys(&self) -> anyhow::Result<Vec<SigningKey>> {
        bounded(sql::all(&self.pool, &mut sql::signing_keys::<Pg>())).await
    }

    async fn insert_signing_key(&self, key: &SigningKey) -> anyhow::Result<()> {
        bounded(sql::execute(&self.pool, &mut sql::insert_signing_key::<Pg>(key))).await?;
        Ok(())
    }

    async fn secret(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        Ok(bounded(sql::all(&self.pool, &mut sql::secret::<Pg>(name))).await?.pop())
    }

    async fn secret_or_insert(&self, name: &str, make: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        bounded(sql::execute(&self.pool, &mut sql::insert_secret::<Pg>(name, &make))).await?;
        self.secret(name)
            .await?
            .ok_or_else(|| anyhow::anyhow!("secret `{name}` vanished"))
    }
}

#[async_trait]
impl IpBanStore for PostgresStore {
    async fn insert_ip_ban(&self, ban: &IpBan) -> anyhow::Result<()> {
        bounded(sql::execute(&self.pool, &mut sql::insert_ip_ban::<Pg>(ban))).await?;
        Ok(())
    }

    async fn ip_bans(&self, at: Option<DateTime<Utc>>) -> anyhow::Result<Vec<IpBan>> {
        bounded(sql::all(&self.pool, &mut sql::ip_bans::<Pg>(at))).await
    }

    async fn lift_ip_ban(&self, ip: &str, at: DateTime<Utc>) -> anyhow::Result<u64> {
        let lifted = bounded(sql::execute(&self.pool, &mut sql::lift_ip_ban::<Pg>(ip, at))).await?;
        Ok(lifted.rows_affected())
    }
}

#[async_trait]
impl TokenStore for PostgresStore {
    async fn insert_token(&self, token: &TokenRecord) -> anyhow::Result<()> {
        bounded(sql::execute(&self.pool, &mut sql::insert_token::<Pg>(token)?)).await?;
        Ok(())
    }

    async fn token(&self, jti: Uuid) -> anyhow::Result<Option<TokenRecord>> {
        Ok(bounded(sql::all(&self.pool, &mut sql::token::<Pg>(jti))).await?.pop())
    }

    async fn tokens(&self) -> anyhow::Result<Vec<TokenRecord>> {
        bounded(sql::all(&self.pool, &mut sql::tokens::<Pg>())).await
    }

    async fn revoke_token(&self, jti: Uuid, at: DateTime<Utc>) -> anyhow::Result<bool> {
        let revoked = bounded(sql::execute(&self.pool, &mut sql::revoke_token::<Pg>(jti, at))).await?;
        Ok(revoked.rows_affected() == 1)
    }

    async fn set_token_expiry(&self, jti: Uuid, expires_at: DateTime<Utc>) -> anyhow::Result<bool> {
        let changed = bounded(sql::execute(
            &self.pool,
            &mut sql::set_token_expiry::<Pg>(jti, expires_at),
        ))
        .await?;
        Ok(changed.rows_affected() == 1)
    }
}

#[async_trait]
impl JournalWriter for PostgresStore {
    /// Written twice at most, and never twice over: should the first attempt have
    /// committed before its connection went, the second breaks `UNIQUE (writer, seq)`
    /// and fails, as a lost commit always did.
    async fn append_journal(&self, rows: &[ChainedRow], seal: Option<&Seal>) -> anyhow::Result<()> {
        match self.append_once(rows, seal).await {
            Err(e) if connection_lost(&e) => {
                tracing::warn!(error = %e, "journal connection lost; the batch goes again on a new one");
                self.append_once(rows, seal).await
            }
            done => done,
        }
    }
}

#[async_trait]
impl JournalAudit for PostgresStore {
    async fn recent_journal(&self, limit: u32) -> anyhow::Result<Vec<JournalRow>> {
        bounded(sql::all(&self.pool, &mut sql::recent_journal::<Pg>(limit))).await
    }

    async fn calls_about(&self, subject: &str, limit: u32) -> anyhow::Result<Vec<JournalRow>> {
        bounded(sql::all(&self.pool, &mut sql::calls_about::<Pg>(subject, limit))).await
    }

    async fn token_calls(&self, jti: Uuid, limit: u32) -> anyhow::Result<Vec<JournalRow>> {
        bounded(sql::all(&self.pool, &mut sql::token_calls::<Pg>(jti, limit))).await
    }

    async fn journal_page(&self, range: TimeRange, after: i64, limit: u32) -> anyhow::Result<Vec<(i64, ChainedRow)>> {
        bounded(sql::all(&self.pool, &mut sql::journal_page::<Pg>(range, after, limit))).await
    }

    async fn journal_count(&self, range: TimeRange) -> anyhow::Result<i64> {
        let count = bounded(sql::all(&self.pool, &mut sql::journal_count::<Pg>(range))).await?;
        Ok(count.iter().sum())
    }

    async fn journal_writers(&self) -> anyhow::Result<Vec<WriterSpan>> {
        bounded(sql::all(&self.pool, &mut sql::journal_writers::<Pg>())).await
    }

    async fn writer_rows(&self, writer: Uuid, after: i64, limit: u32) -> anyhow::Result<Vec<ChainedRow>> {
        bounded(sql::all(&self.pool, &mut sql::writer_rows::<Pg>(writer, after, limit))).await
    }

    async fn journal_seals(&self) -> anyhow::Result<Vec<Seal>> {
        bounded(sql::all(&self.pool, &mut sql::journal_seals::<Pg>())).await
    }

    async fn purge_points(&self, before: DateTime<Utc>) -> anyhow::Result<Vec<PurgePoint>> {
        bounded(sql::all(&self.pool, &mut sql::purge_points::<Pg>(before))).await
    }

    async fn purge_writer(&self, anchor: &Seal) -> anyhow::Result<u64> {
        // A purge may delete many rows: no operation bound here, the pool's own
        // timeouts still catch a database that is down.
        let deleted = sql::transaction(&self.pool, &mut sql::purge::<Pg>(anchor)).await?;
        Ok(deleted.rows_affected())
    }

    async fn call_counts(&self, range: TimeRange) -> anyhow::Result<Vec<CallCount>> {
        bounded(sql::all(&self.pool, &mut sql::call_counts::<Pg>(range))).await
    }
}

#[async_trait]
impl HabilitationStore for PostgresStore {
    async fn commit_demande(&self, change: &DemandeChange) -> anyhow::Result<bool> {
        let mut statements = sql::commit_demande::<Pg>(change)?;
        Ok(sql::guarded_transaction(&self.pool, &mut statements).await?)
    }

    async fn demande(&self, id: Uuid) -> anyhow::Result<Option<DemandeRecord>> {
        Ok(sql::all(&self.pool, &mut sql::demande::<Pg>(id)).await?.pop())
    }

    async fn demandes_of(&self, siret: &str, email: &str) -> anyhow::Result<Vec<DemandeRecord>> {
        sql::all(&self.pool, &mut sql::demandes_of::<Pg>(siret, email)).await
    }

    async fn demandes_in(&self, bouquet: &str) -> anyhow::Result<Vec<DemandeRecord>> {
        sql::all(&self.pool, &mut sql::demandes_in::<Pg>(bouquet)).await
    }

    async fn demande_people(&self, id: Uuid) -> anyhow::Result<Vec<DemandePerson>> {
        sql::all(&self.pool, &mut sql::demande_people::<Pg>(id)).await
    }

    async fn demande_events(&self, id: Uuid) -> anyhow::Result<Vec<DemandeEvent>> {
        sql::all(&self.pool, &mut sql::demande_events::<Pg>(id)).await
    }

    async fn enqueue(&self, items: &[OutboxItem]) -> anyhow::Result<u64> {
        if items.is_empty() {
            return Ok(0);
        }
        let added = sql::execute(&self.pool, &mut sql::insert_outbox::<Pg>(items)).await?;
        Ok(added.rows_affected())
    }

    async fn due_outbox(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<OutboxItem>> {
        sql::all(&self.pool, &mut sql::due_outbox::<Pg>(now, limit)).await
    }

    async fn settle_outbox(&self, item: &OutboxItem) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::settle_outbox::<Pg>(item)).await?;
        Ok(())
    }

    async fn claim_outbox(&self, item: &OutboxItem, until: DateTime<Utc>) -> anyhow::Result<bool> {
        let claimed = sql::execute(&self.pool, &mut sql::claim_outbox::<Pg>(item, until)).await?;
        Ok(claimed.rows_affected() == 1)
    }

    async fn outbox(&self, channel: &str, limit: u32) -> anyhow::Result<Vec<OutboxItem>> {
        sql::all(&self.pool, &mut sql::outbox::<Pg>(channel, limit)).await
    }

    async fn put_session(&self, session: &WebSession) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::put_session::<Pg>(session)).await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: DateTime<Utc>) -> anyhow::Result<Option<WebSession>> {
        Ok(sql::all(&self.pool, &mut sql::session::<Pg>(id_hash, now)).await?.pop())
    }

    async fn drop_session(&self, id_hash: &str) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::drop_session::<Pg>(id_hash)).await?;
        Ok(())
    }

    async fn purge_sessions(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let purged = sql::execute(&self.pool, &mut sql::purge_sessions::<Pg>(now)).await?;
        Ok(purged.rows_affected())
    }

    async fn put_token_link(&self, link: &passerelle_store::TokenLink) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::put_token_link::<Pg>(link)).await?;
        Ok(())
    }

    async fn open_token_link(
        &self,
        code_hash: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Option<passerelle_store::TokenLink>> {
        Ok(sql::all(&self.pool, &mut sql::open_token_link::<Pg>(code_hash, now))
            .await?
            .pop())
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn migrate(&self) -> anyhow::Result<()> {
        // Replicas may start together; the migrator takes an advisory lock.
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }
}

#[async_trait]
impl passerelle_store::DataPassStore for PostgresStore {
    async fn apply_datapass(
        &self,
        delivery: &passerelle_store::DataPassDelivery,
        change: &DemandeChange,
    ) -> anyhow::Result<passerelle_store::DeliveryOutcome> {
        let mut statements = sql::datapass_statements::<Pg>(delivery, change)?;
        bounded(sql::apply_datapass(&self.pool, &mut statements)).await
    }

    async fn datapass_demande(&self, bouquet: &str, model_id: i64) -> anyhow::Result<Option<Uuid>> {
        Ok(bounded(sql::all(
            &self.pool,
            &mut sql::datapass_demande::<Pg>(bouquet, model_id),
        ))
        .await?
        .pop())
    }
}

#[async_trait]
impl passerelle_store::StatusStore for PostgresStore {
    async fn record_check(&self, check: &passerelle_store::Check) -> anyhow::Result<()> {
        bounded(sql::execute(&self.pool, &mut sql::record_check::<Pg>(check))).await?;
        Ok(())
    }

    async fn check_days(
        &self,
        bouquet: &str,
        since: chrono::NaiveDate,
    ) -> anyhow::Result<Vec<passerelle_store::CheckDay>> {
        bounded(sql::all(&self.pool, &mut sql::check_days::<Pg>(bouquet, since))).await
    }

    async fn open_notice(&self, notice: &passerelle_store::NewNotice) -> anyhow::Result<passerelle_store::Notice> {
        let id = Uuid::new_v4();
        bounded(sql::transaction(&self.pool, &mut sql::open_notice::<Pg>(id, notice))).await?;
        let opened = passerelle_store::StatusStore::find_notices(self, &passerelle_store::NoticeFilter::Id(id)).await?;
        opened
            .into_iter()
            .next()
            .ok_or_else(|| anyhow::anyhow!("notice {id} vanished"))
    }

    async fn add_note(&self, number: i64, note: &passerelle_store::NoticeNote) -> anyhow::Result<bool> {
        let added = bounded(sql::execute(
            &self.pool,
            &mut sql::add_note::<Pg>(number, note.at, &note.text),
        ))
        .await?;
        Ok(added.rows_affected() == 1)
    }

    async fn close_notice(&self, number: i64, at: DateTime<Utc>, note: Option<&str>) -> anyhow::Result<bool> {
        let mut statements = sql::close_notice::<Pg>(number, at, note);
        bounded(sql::guarded_transaction(&self.pool, &mut statements)).await
    }

    async fn find_notices(
        &self,
        filter: &passerelle_store::NoticeFilter<'_>,
    ) -> anyhow::Result<Vec<passerelle_store::Notice>> {
        let notices = bounded(sql::all(&self.pool, &mut sql::notices::<Pg>(filter))).await?;
        let notes = bounded(sql::all(&self.pool, &mut sql::notice_notes::<Pg>(filter))).await?;
        Ok(sql::with_notes(notices, notes))
    }
}

#[async_trait]
impl passerelle_store::UsageStore for PostgresStore {
    /// PostgreSQL hands out `id`s when rows are inserted, not when they commit: a
    /// journal batch may commit after a later one, and a step that moved the
    /// watermark past a gap would skip that batch for good. The lag protects the
    /// batches that commit within this long of their calls' `at` (the journal's
    /// writes are bounded by `OPERATION_TIMEOUT`). It does not protect a transaction
    /// the server commits later than that (one the gateway gave up on but the server
    /// still committed after a long stall), nor gateway clocks that run behind the
    /// rollup's by more than the lag: such rows stay in the journal but are missing
    /// from the rollups. Clocks ahead only delay the step (a young row stops it).
    fn rollup_lag(&self) -> Duration {
        Duration::from_secs(30)
    }

    async fn roll_up_usage(&self, cutoff: DateTime<Utc>, limit: u32) -> anyhow::Result<passerelle_store::RollupStep> {
        use passerelle_store::RollupStep;
        // A step reads and aggregates up to `limit` rows: more than one call's time.
        const STEP_TIMEOUT: Duration = Duration::from_secs(120);
        let after = passerelle_store::UsageStore::usage_watermark(self).await?.last_id;
        let mut bound = sql::rollup_bound::<Pg>(after, cutoff, limit);
        let bound = tokio::time::timeout(STEP_TIMEOUT, sql::all(&self.pool, &mut bound)).await??;
        let Some((Some(last), rows)) = bound.into_iter().next() else {
            return Ok(RollupStep::Idle);
        };
        let mut statements = sql::roll_up::<Pg>(after, last, rows, Utc::now());
        let step = sql::guarded_transaction(&self.pool, &mut statements);
        Ok(match tokio::time::timeout(STEP_TIMEOUT, step).await?? {
            true => RollupStep::Counted { rows, last_id: last },
            false => RollupStep::Lost,
        })
    }

    async fn usage_watermark(&self) -> anyhow::Result<passerelle_store::UsageWatermark> {
        let mark = bounded(sql::all(&self.pool, &mut sql::usage_watermark::<Pg>())).await?;
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
        bounded(sql::all(&self.pool, &mut sql::bouquet_usage::<Pg>(bouquet, range, by))).await
    }

    async fn token_usage(
        &self,
        jti: Uuid,
        range: TimeRange,
        by: passerelle_store::Grouping,
    ) -> anyhow::Result<Vec<passerelle_store::UsageLine>> {
        bounded(sql::all(&self.pool, &mut sql::token_usage::<Pg>(jti, range, by))).await
    }
}

#[async_trait]
impl passerelle_store::AuditStore for PostgresStore {
    async fn calls_of_tokens(&self, request_ids: &[String], tokens: &[Uuid]) -> anyhow::Result<Vec<JournalRow>> {
        bounded(sql::all(
            &self.pool,
            &mut sql::calls_of_tokens::<Pg>(request_ids, tokens),
        ))
        .await
    }

    async fn events_of_kind(&self, kind: &str, limit: u32) -> anyhow::Result<Vec<DemandeEvent>> {
        bounded(sql::all(&self.pool, &mut sql::events_of_kind::<Pg>(kind, limit))).await
    }
}

#[async_trait]
impl passerelle_store::OperatorStore for PostgresStore {
    async fn record_operator_action(&self, action: &passerelle_store::OperatorAction) -> anyhow::Result<()> {
        sql::execute(&self.pool, &mut sql::insert_operator_action::<Pg>(action)).await?;
        Ok(())
    }

    async fn operator_actions(&self, limit: u32) -> anyhow::Result<Vec<passerelle_store::OperatorAction>> {
        sql::all(&self.pool, &mut sql::operator_actions::<Pg>(limit)).await
    }

    async fn commit_operator(
        &self,
        change: &DemandeChange,
        issued: Option<&TokenRecord>,
        action: &passerelle_store::OperatorAction,
    ) -> anyhow::Result<bool> {
        let mut statements = sql::commit_operator::<Pg>(change, issued, action)?;
        Ok(sql::guarded_transaction(&self.pool, &mut statements).await?)
    }

    async fn all_demandes(&self) -> anyhow::Result<Vec<DemandeRecord>> {
        sql::all(&self.pool, &mut sql::all_demandes::<Pg>()).await
    }

    async fn organisation_demandes(&self, siret: &str) -> anyhow::Result<Vec<DemandeRecord>> {
        sql::all(&self.pool, &mut sql::organisation_demandes::<Pg>(siret)).await
    }

    async fn demande_numbered(&self, number: i64) -> anyhow::Result<Option<DemandeRecord>> {
        Ok(sql::all(&self.pool, &mut sql::demande_numbered::<Pg>(number))
            .await?
            .pop())
    }

    async fn tokens_in(&self, jtis: &[Uuid]) -> anyhow::Result<Vec<TokenRecord>> {
        sql::all(&self.pool, &mut sql::tokens_in::<Pg>(jtis)).await
    }
}

#[async_trait]
impl passerelle_store::DelegationStore for PostgresStore {
    async fn commit_delegation(
        &self,
        change: &DemandeChange,
        write: &passerelle_store::DelegationWrite,
    ) -> anyhow::Result<bool> {
        let mut statements = sql::commit_delegation::<Pg>(change, write)?;
        Ok(sql::guarded_transaction(&self.pool, &mut statements).await?)
    }

    async fn delegations_of(&self, demande: Uuid) -> anyhow::Result<Vec<passerelle_store::Delegation>> {
        bounded(sql::all(&self.pool, &mut sql::delegations_of::<Pg>(demande))).await
    }

    async fn delegations_to(&self, editor: &str) -> anyhow::Result<Vec<passerelle_store::Delegation>> {
        bounded(sql::all(&self.pool, &mut sql::delegations_to::<Pg>(editor))).await
    }

    async fn delegated_tokens(&self, delegation: Uuid) -> anyhow::Result<Vec<passerelle_store::DelegatedToken>> {
        bounded(sql::all(&self.pool, &mut sql::delegated_tokens::<Pg>(delegation))).await
    }
}

#[async_trait]
impl passerelle_store::AlertStore for PostgresStore {
    async fn record_addresses(&self, seen: &[passerelle_store::TokenAddress]) -> anyhow::Result<()> {
        if seen.is_empty() {
            return Ok(());
        }
        bounded(sql::transaction(&self.pool, &mut sql::record_addresses::<Pg>(seen))).await?;
        Ok(())
    }

    async fn token_addresses(&self, jti: Uuid, limit: u32) -> anyhow::Result<Vec<passerelle_store::TokenAddress>> {
        bounded(sql::all(&self.pool, &mut sql::token_addresses::<Pg>(jti, limit))).await
    }

    async fn fresh_addresses(
        &self,
        since: DateTime<Utc>,
        limit: u32,
    ) -> anyhow::Result<Vec<passerelle_store::FreshAddress>> {
        bounded(sql::all(&self.pool, &mut sql::fresh_addresses::<Pg>(since, limit))).await
    }

    async fn alert_settings(&self, demande_id: Uuid) -> anyhow::Result<Option<passerelle_store::AlertSettings>> {
        Ok(
            bounded(sql::all(&self.pool, &mut sql::alert_settings::<Pg>(demande_id)))
                .await?
                .pop(),
        )
    }

    async fn every_alert_settings(&self) -> anyhow::Result<Vec<passerelle_store::AlertSettings>> {
        bounded(sql::all(&self.pool, &mut sql::every_alert_settings::<Pg>())).await
    }

    async fn put_alert_settings(&self, settings: &passerelle_store::AlertSettings) -> anyhow::Result<()> {
        bounded(sql::execute(&self.pool, &mut sql::put_alert_settings::<Pg>(settings))).await?;
        Ok(())
    }

    async fn raise_alert(
        &self,
        alert: &passerelle_store::AlertRecord,
        mark: &passerelle_store::AlertMark,
        outbox: &[OutboxItem],
    ) -> anyhow::Result<bool> {
        let mut statements = sql::raise_alert::<Pg>(alert, mark, outbox);
        Ok(bounded(sql::guarded_transaction(&self.pool, &mut statements)).await?)
    }

    async fn alert_mark(&self, jti: Uuid, kind: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
        Ok(bounded(sql::all(&self.pool, &mut sql::alert_mark::<Pg>(jti, kind)))
            .await?
            .pop())
    }

    async fn alerts_of(&self, demande_id: Uuid, limit: u32) -> anyhow::Result<Vec<passerelle_store::AlertRecord>> {
        bounded(sql::all(&self.pool, &mut sql::alerts_of::<Pg>(demande_id, limit))).await
    }
}
