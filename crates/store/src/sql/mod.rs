//! What the SQL backends share: every statement (`statements`, built with
//! `QueryBuilder` so that each backend gets its own placeholders), the values they
//! bind, and the decoding of the rows they read (`columns`). A backend names its types
//! (`Dialect`), opens its pool and runs the statements with the functions below; both
//! schemas hold the same columns under the same names.

mod alerts;
mod audit;
mod columns;
mod datapass;
mod delegations;
mod habilitation;
mod operator;
mod statements;
mod status;
mod usage;

use chrono::{DateTime, Utc};
use sqlx::{Connection, Database, Decode, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Type};
use uuid::Uuid;

use crate::TimeRange;

pub use alerts::*;
pub use audit::*;
pub use columns::*;
pub use datapass::*;
pub use delegations::*;
pub use habilitation::*;
pub use operator::*;
pub use statements::*;
pub use status::*;
pub use usage::*;

/// How a backend stores what its SQL types do not share.
pub trait Dialect: Sized + 'static {
    type Db: Database;
    /// A UUID: native on PostgreSQL, hyphenated text on SQLite.
    type Uuid: for<'q> Encode<'q, Self::Db>
        + for<'r> Decode<'r, Self::Db>
        + Type<Self::Db>
        + From<Uuid>
        + Into<Uuid>
        + Send
        + 'static;
    /// A time as bound (both backends decode a `DateTime<Utc>`).
    type Time: for<'q> Encode<'q, Self::Db> + Type<Self::Db> + Send + 'static;
    /// A list of text: an array on PostgreSQL, JSON text on SQLite.
    type List: for<'q> Encode<'q, Self::Db> + for<'r> Decode<'r, Self::Db> + Type<Self::Db> + Send + 'static;

    fn time(at: DateTime<Utc>) -> Self::Time;
    fn list(items: &[String]) -> Self::List;
    fn unlist(list: Self::List) -> anyhow::Result<Vec<String>>;
    /// Binds `value` to `q`: `bind::<Self>(q, value)` (generic code cannot name the
    /// backend's own types, the backend can).
    fn bind<'a>(q: &mut QueryBuilder<'a, Self::Db>, value: Value<'a>);
}

/// A value a statement binds, before its backend gives it an SQL type.
pub enum Value<'a> {
    Text(Option<&'a str>),
    OwnedText(String),
    Int(Option<i32>),
    BigInt(i64),
    Real(f64),
    Flag(bool),
    Bytes(&'a [u8]),
    Uuid(Option<Uuid>),
    Time(Option<DateTime<Utc>>),
    List(&'a [String]),
}

/// `Dialect::bind` for a backend whose plain types bind as themselves.
pub fn bind<'a, D: Dialect>(q: &mut QueryBuilder<'a, D::Db>, value: Value<'a>)
where
    Option<&'a str>: Encode<'a, D::Db> + Type<D::Db>,
    String: Encode<'a, D::Db> + Type<D::Db>,
    Option<i32>: Encode<'a, D::Db> + Type<D::Db>,
    i64: Encode<'a, D::Db> + Type<D::Db>,
    f64: Encode<'a, D::Db> + Type<D::Db>,
    bool: Encode<'a, D::Db> + Type<D::Db>,
    &'a [u8]: Encode<'a, D::Db> + Type<D::Db>,
    Option<D::Uuid>: Encode<'a, D::Db> + Type<D::Db>,
    Option<D::Time>: Encode<'a, D::Db> + Type<D::Db>,
{
    match value {
        Value::Text(v) => q.push_bind(v),
        Value::OwnedText(v) => q.push_bind(v),
        Value::Int(v) => q.push_bind(v),
        Value::BigInt(v) => q.push_bind(v),
        Value::Real(v) => q.push_bind(v),
        Value::Flag(v) => q.push_bind(v),
        Value::Bytes(v) => q.push_bind(v),
        Value::Uuid(v) => q.push_bind(v.map(D::Uuid::from)),
        Value::Time(v) => q.push_bind(v.map(D::time)),
        Value::List(v) => q.push_bind(D::list(v)),
    };
}

/// A statement with its values bound, for backend `D`.
pub struct Statement<'a, D: Dialect>(QueryBuilder<'a, D::Db>);

impl<'a, D: Dialect> Statement<'a, D> {
    fn new(text: &str) -> Self {
        Statement(QueryBuilder::new(text))
    }

    /// `text[0]`, then each value bound in turn, each followed by the next piece of
    /// `text` (which holds one piece more than `values`).
    fn with(text: &[&str], values: Vec<Value<'a>>) -> Self {
        let mut q = Statement::new(text[0]);
        for (value, next) in values.into_iter().zip(&text[1..]) {
            q.bind(value).push(next);
        }
        q
    }

    fn push(&mut self, text: &str) -> &mut Self {
        self.0.push(text);
        self
    }

    fn bind(&mut self, value: Value<'a>) -> &mut Self {
        D::bind(&mut self.0, value);
        self
    }

    /// `INSERT INTO head VALUES (…), (…)` of `rows`.
    fn insert(head: &str, rows: impl IntoIterator<Item = Vec<Value<'a>>>) -> Self {
        let mut q = Statement::new(head);
        q.push(" VALUES ");
        for (i, row) in rows.into_iter().enumerate() {
            q.push(if i == 0 { "(" } else { ", (" });
            for (j, value) in row.into_iter().enumerate() {
                q.push(if j == 0 { "" } else { ", " }).bind(value);
            }
            q.push(")");
        }
        q
    }

    /// ` WHERE` a time range (`AND` may follow).
    fn range(&mut self, range: TimeRange) -> &mut Self {
        self.push(" WHERE 1 = 1");
        if let Some(since) = range.since {
            self.push(" AND at >= ").bind(Value::Time(Some(since)));
        }
        if let Some(until) = range.until {
            self.push(" AND at < ").bind(Value::Time(Some(until)));
        }
        self
    }

    /// This query, each row read into `C` then decoded.
    fn select<C, T>(self, decode: fn(C) -> anyhow::Result<T>) -> Select<'a, D, C, T> {
        Select { query: self, decode }
    }
}

/// A query, and how each of its rows (read into `C`) makes a `T`.
pub struct Select<'a, D: Dialect, C, T> {
    query: Statement<'a, D>,
    decode: fn(C) -> anyhow::Result<T>,
}

// Running statements. Each takes its statement borrowed for the statement's own
// lifetime: generic code cannot see that a backend's arguments may outlive it.

/// Runs `statements` in one transaction; returns what the last one did.
pub async fn transaction<'a, D: Dialect>(
    pool: &Pool<D::Db>,
    statements: &'a mut [Statement<'a, D>],
) -> Result<<D::Db as Database>::QueryResult, sqlx::Error>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    let mut connection = pool.acquire().await?;
    transaction_on::<D>(&mut connection, statements).await
}

/// One connection kept for a single writer (PostgreSQL's journal), outside any pool:
/// a pool lends a connection per batch and sqlx pings each one given back, a second
/// round trip per batch. (SQLite's journal keeps its pool: see `store-sqlite`.)
pub struct Dedicated<DB: Database> {
    options: <DB::Connection as Connection>::Options,
    open: tokio::sync::Mutex<Option<DB::Connection>>,
}

impl<DB: Database> Dedicated<DB> {
    /// Opens nothing yet: the first batch connects.
    pub fn new(options: <DB::Connection as Connection>::Options) -> Self {
        Dedicated {
            options,
            open: tokio::sync::Mutex::new(None),
        }
    }

    /// Runs `statements` in one transaction on the connection, connecting first when
    /// there is none. A connection that failed, or whose batch was given up half-way
    /// (its future dropped), is closed: the next batch opens a new one.
    pub async fn transaction<'a, D: Dialect<Db = DB>>(
        &self,
        statements: &'a mut [Statement<'a, D>],
    ) -> Result<DB::QueryResult, sqlx::Error>
    where
        for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
        for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    {
        let mut slot = self.open.lock().await;
        let mut connection = match slot.take() {
            Some(connection) => connection,
            None => DB::Connection::connect_with(&self.options).await?,
        };
        let done = transaction_on::<D>(&mut connection, statements).await;
        if done.is_ok() {
            *slot = Some(connection);
        }
        done
    }
}

/// `transaction` on a connection already held.
async fn transaction_on<'a, D: Dialect>(
    connection: &mut <D::Db as Database>::Connection,
    statements: &'a mut [Statement<'a, D>],
) -> Result<<D::Db as Database>::QueryResult, sqlx::Error>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    // One statement is atomic on its own: no BEGIN and COMMIT round trips (the
    // journal's usual batch is one multi-row insert).
    if let [statement] = statements {
        return statement.0.build().execute(&mut *connection).await;
    }
    let mut tx = connection.begin().await?;
    let mut last = Default::default();
    for statement in statements {
        last = statement.0.build().execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(last)
}

/// Runs `statements` in one transaction if the first one changes a row; otherwise
/// rolls back and returns false (a writer got there first).
pub async fn guarded_transaction<'a, D: Dialect>(
    pool: &Pool<D::Db>,
    statements: &'a mut [Statement<'a, D>],
) -> Result<bool, sqlx::Error>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    <D::Db as Database>::QueryResult: RowsAffected,
{
    let mut tx = pool.begin().await?;
    for (i, statement) in statements.iter_mut().enumerate() {
        let done = statement.0.build().execute(&mut *tx).await?;
        if i == 0 && done.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
    }
    tx.commit().await?;
    Ok(true)
}

/// What both backends' query results tell: how many rows a statement changed.
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// Runs `q`; returns what it did.
pub async fn execute<'a, D: Dialect>(
    pool: &Pool<D::Db>,
    q: &'a mut Statement<'a, D>,
) -> Result<<D::Db as Database>::QueryResult, sqlx::Error>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
{
    q.0.build().execute(pool).await
}

/// Every row `select` reads, decoded.
pub async fn all<'a, D: Dialect, C, T>(
    pool: &Pool<D::Db>,
    select: &'a mut Select<'a, D, C, T>,
) -> anyhow::Result<Vec<T>>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    C: for<'r> FromRow<'r, <D::Db as Database>::Row> + Send + Unpin,
{
    let rows: Vec<C> = select.query.0.build_query_as().fetch_all(pool).await?;
    rows.into_iter().map(select.decode).collect()
}
