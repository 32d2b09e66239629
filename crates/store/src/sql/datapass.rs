//! The statements of DataPass's deliveries and links, and the one transaction that
//! applies a delivery, for either backend.

use sqlx::{Database, Executor, FromRow, IntoArguments, Pool, Transaction};
use uuid::Uuid;

use super::{commit_demande, Dialect, RowsAffected, Select, Statement, Value};
use crate::{DataPassDelivery, DeliveryAnswer, DeliveryOutcome, DemandeChange};

/// Every statement applying one delivery may run. Built before the transaction by
/// the backend, which alone can see that their values may outlive them (see the
/// note above `transaction` in `sql`).
pub struct DataPassStatements<'a, D: Dialect> {
    demande_id: Uuid,
    claim: Statement<'a, D>,
    first_answer: Select<'a, D, (String,), DeliveryAnswer>,
    link: Statement<'a, D>,
    advance: Statement<'a, D>,
    mark_stale: Statement<'a, D>,
    linked: Select<'a, D, (D::Uuid,), Uuid>,
    effects: Vec<Statement<'a, D>>,
}

pub fn datapass_statements<'a, D: Dialect>(
    delivery: &DataPassDelivery,
    change: &'a DemandeChange,
) -> anyhow::Result<DataPassStatements<'a, D>> {
    let applied = DeliveryAnswer {
        token_id: delivery.token_id.clone(),
        stale: false,
    };
    let stale = DeliveryAnswer {
        token_id: None,
        stale: true,
    };
    Ok(DataPassStatements {
        demande_id: change.demande.id,
        claim: claim(delivery, &applied)?,
        first_answer: answer(&delivery.key),
        link: link(delivery, change.demande.id),
        advance: advance(delivery),
        mark_stale: set_answer(&delivery.key, &stale)?,
        linked: datapass_demande(&delivery.bouquet, delivery.model_id),
        effects: commit_demande(change)?,
    })
}

/// Claims the key, orders the delivery against its model's newest, then writes the
/// change; see `DataPassStore::apply_datapass`. The claim comes first: it is a
/// write, so SQLite takes its write lock before anything is read, and PostgreSQL
/// makes a concurrent copy wait on the key until the first one commits or rolls back.
pub async fn apply_datapass<'a, D: Dialect>(
    pool: &Pool<D::Db>,
    statements: &'a mut DataPassStatements<'a, D>,
) -> anyhow::Result<DeliveryOutcome>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    <D::Db as Database>::QueryResult: RowsAffected,
    (String,): for<'r> FromRow<'r, <D::Db as Database>::Row>,
    (D::Uuid,): for<'r> FromRow<'r, <D::Db as Database>::Row>,
    D::Uuid: Unpin,
{
    let DataPassStatements {
        demande_id,
        claim,
        first_answer,
        link,
        advance,
        mark_stale,
        linked,
        effects,
    } = statements;
    let mut tx = pool.begin().await?;
    if run(&mut tx, claim).await? == 0 {
        let first = fetch(&mut tx, first_answer).await?;
        tx.rollback().await?;
        let first = first.ok_or_else(|| anyhow::anyhow!("a claimed delivery has no answer"))?;
        return Ok(DeliveryOutcome::Duplicate(first));
    }
    run(&mut tx, link).await?;
    if run(&mut tx, advance).await? == 0 {
        run(&mut tx, mark_stale).await?;
        tx.commit().await?;
        return Ok(DeliveryOutcome::Stale);
    }
    if fetch(&mut tx, linked).await? != Some(*demande_id) || !write_change(&mut tx, effects).await? {
        tx.rollback().await?;
        return Ok(DeliveryOutcome::Conflict);
    }
    tx.commit().await?;
    Ok(DeliveryOutcome::Applied)
}

/// Runs the statements of a `DemandeChange` in `tx`; false when the first (the
/// demande's write) changes no row: it is not at the version before.
async fn write_change<'a, D: Dialect>(
    tx: &mut Transaction<'_, D::Db>,
    effects: &'a mut [Statement<'a, D>],
) -> anyhow::Result<bool>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    <D::Db as Database>::QueryResult: RowsAffected,
{
    for (i, statement) in effects.iter_mut().enumerate() {
        if run(tx, statement).await? != 1 && i == 0 {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs `statement` in `tx`; how many rows it changed.
async fn run<'a, D: Dialect>(
    tx: &mut Transaction<'_, D::Db>,
    statement: &'a mut Statement<'a, D>,
) -> anyhow::Result<u64>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    <D::Db as Database>::QueryResult: RowsAffected,
{
    Ok(statement.0.build().execute(&mut **tx).await?.rows_affected())
}

/// The row `select` reads in `tx`, if any, decoded.
async fn fetch<'a, D: Dialect, C, T>(
    tx: &mut Transaction<'_, D::Db>,
    select: &'a mut Select<'a, D, C, T>,
) -> anyhow::Result<Option<T>>
where
    for<'c> &'c mut <D::Db as Database>::Connection: Executor<'c, Database = D::Db>,
    for<'q> <D::Db as Database>::Arguments<'q>: IntoArguments<'q, D::Db>,
    C: for<'r> FromRow<'r, <D::Db as Database>::Row> + Send + Unpin,
{
    let decode = select.decode;
    let row: Option<C> = select.query.0.build_query_as().fetch_optional(&mut **tx).await?;
    row.map(decode).transpose()
}

/// The key, unless a delivery already holds it.
fn claim<'a, D: Dialect>(d: &DataPassDelivery, answer: &DeliveryAnswer) -> anyhow::Result<Statement<'a, D>> {
    let values = vec![
        Value::OwnedText(d.key.clone()),
        Value::OwnedText(d.bouquet.clone()),
        Value::BigInt(d.model_id),
        Value::OwnedText(d.event.clone()),
        Value::BigInt(d.fired_at),
        Value::OwnedText(serde_json::to_string(answer)?),
        Value::Time(Some(d.received_at)),
    ];
    let mut q = Statement::insert(
        "INSERT INTO datapass_deliveries (key, bouquet, model_id, event, fired_at, answer, received_at)",
        [values],
    );
    q.push(" ON CONFLICT (key) DO NOTHING");
    Ok(q)
}

fn set_answer<'a, D: Dialect>(key: &str, answer: &DeliveryAnswer) -> anyhow::Result<Statement<'a, D>> {
    let text = ["UPDATE datapass_deliveries SET answer = ", " WHERE key = ", ""];
    let values = vec![
        Value::OwnedText(serde_json::to_string(answer)?),
        Value::OwnedText(key.to_string()),
    ];
    Ok(Statement::with(&text, values))
}

fn answer<'a, D: Dialect>(key: &str) -> Select<'a, D, (String,), DeliveryAnswer> {
    let text = ["SELECT answer FROM datapass_deliveries WHERE key = ", ""];
    Statement::with(&text, vec![Value::OwnedText(key.to_string())])
        .select(|(answer,): (String,)| Ok(serde_json::from_str(&answer)?))
}

/// The model's link to `demande_id`, if it has none yet (at this delivery's time).
fn link<'a, D: Dialect>(d: &DataPassDelivery, demande_id: Uuid) -> Statement<'a, D> {
    let values = vec![
        Value::OwnedText(d.bouquet.clone()),
        Value::BigInt(d.model_id),
        Value::Uuid(Some(demande_id)),
        Value::BigInt(d.fired_at),
    ];
    let mut q = Statement::insert(
        "INSERT INTO datapass_demandes (bouquet, model_id, demande_id, fired_at)",
        [values],
    );
    q.push(" ON CONFLICT (bouquet, model_id) DO NOTHING");
    q
}

/// Moves the model's newest `fired_at` to this delivery's, unless it is older: no
/// row changed means stale. An update, not a read, so that PostgreSQL makes a
/// concurrent delivery of the same model wait and then compare with what committed.
fn advance<'a, D: Dialect>(d: &DataPassDelivery) -> Statement<'a, D> {
    let text = [
        "UPDATE datapass_demandes SET fired_at = ",
        " WHERE bouquet = ",
        " AND model_id = ",
        " AND fired_at <= ",
        "",
    ];
    let values = vec![
        Value::BigInt(d.fired_at),
        Value::OwnedText(d.bouquet.clone()),
        Value::BigInt(d.model_id),
        Value::BigInt(d.fired_at),
    ];
    Statement::with(&text, values)
}

pub fn datapass_demande<'a, D: Dialect>(bouquet: &str, model_id: i64) -> Select<'a, D, (D::Uuid,), Uuid> {
    let text = [
        "SELECT demande_id FROM datapass_demandes WHERE bouquet = ",
        " AND model_id = ",
        "",
    ];
    let values = vec![Value::OwnedText(bouquet.to_string()), Value::BigInt(model_id)];
    Statement::with(&text, values).select(|(id,): (D::Uuid,)| Ok(id.into()))
}
