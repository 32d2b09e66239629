//! The statements of the portal's alerts, for either backend: the addresses tokens
//! call from, the habilitations' alert settings, the alerts raised and their marks.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{insert_outbox, Dialect, Select, Statement, Value};
use crate::{AlertMark, AlertRecord, AlertSettings, FreshAddress, OutboxItem, TokenAddress};

/// Rows per insert of addresses: 5 values each, well under SQLite's 32766.
const ADDRESS_ROWS: usize = 1000;

/// `a` or `b`, whichever is earlier (`<`) or later (`>`): a `CASE` both backends
/// read alike, times being comparable on both.
fn pick(test: &str, table: &str, column: &str) -> String {
    format!("{column} = CASE WHEN excluded.{column} {test} {table}.{column} THEN excluded.{column} ELSE {table}.{column} END")
}

/// Inserts or updates the pairs seen, in statements of at most `ADDRESS_ROWS`.
pub fn record_addresses<D: Dialect>(seen: &[TokenAddress]) -> Vec<Statement<'_, D>> {
    seen.chunks(ADDRESS_ROWS)
        .map(|chunk| {
            let rows = chunk.iter().map(|a| {
                vec![
                    Value::Uuid(Some(a.jti)),
                    Value::Text(Some(&a.address)),
                    Value::Time(Some(a.first_seen)),
                    Value::Time(Some(a.last_seen)),
                    Value::BigInt(a.calls),
                ]
            });
            let mut q = Statement::insert(
                "INSERT INTO token_addresses (jti, address, first_seen, last_seen, calls)",
                rows,
            );
            q.push(&format!(
                " ON CONFLICT (jti, address) DO UPDATE SET {}, {}, calls = token_addresses.calls + excluded.calls",
                pick("<", "token_addresses", "first_seen"),
                pick(">", "token_addresses", "last_seen"),
            ));
            q
        })
        .collect()
}

type AddressColumns<D> = (<D as Dialect>::Uuid, String, DateTime<Utc>, DateTime<Utc>, i64);

fn address<D: Dialect>((jti, address, first_seen, last_seen, calls): AddressColumns<D>) -> TokenAddress {
    TokenAddress {
        jti: jti.into(),
        address,
        first_seen,
        last_seen,
        calls,
    }
}

pub fn token_addresses<'a, D: Dialect>(jti: Uuid, limit: u32) -> Select<'a, D, AddressColumns<D>, TokenAddress> {
    let text = [
        "SELECT jti, address, first_seen, last_seen, calls FROM token_addresses WHERE jti = ",
        " ORDER BY last_seen DESC, address LIMIT ",
        "",
    ];
    let values = vec![Value::Uuid(Some(jti)), Value::BigInt(limit.into())];
    Statement::with(&text, values).select(|row| Ok(address::<D>(row)))
}

type FreshColumns<D> = (
    <D as Dialect>::Uuid,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
    DateTime<Utc>,
);

/// The pairs first seen at or after `since` whose new-address mark
/// (`new_address:<address>`) is not taken: an alert raised is never read again.
pub fn fresh_addresses<'a, D: Dialect>(
    since: DateTime<Utc>,
    limit: u32,
) -> Select<'a, D, FreshColumns<D>, FreshAddress> {
    let text = [
        "SELECT a.jti, a.address, a.first_seen, a.last_seen, a.calls, \
         (SELECT MIN(b.first_seen) FROM token_addresses b WHERE b.jti = a.jti) AS known_since \
         FROM token_addresses a LEFT JOIN alert_marks m \
         ON m.jti = a.jti AND m.kind = 'new_address:' || a.address \
         WHERE m.jti IS NULL AND a.first_seen >= ",
        " ORDER BY a.first_seen LIMIT ",
        "",
    ];
    let values = vec![Value::Time(Some(since)), Value::BigInt(limit.into())];
    Statement::with(&text, values).select(|(jti, a, first, last, calls, known): FreshColumns<D>| {
        Ok(FreshAddress {
            seen: address::<D>((jti, a, first, last, calls)),
            token_known_since: known,
        })
    })
}

type SettingsColumns<D> = (
    <D as Dialect>::Uuid,
    String,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    String,
);

const SETTINGS: &str = "SELECT demande_id, opt_outs, webhook_url, webhook_secret, updated_at, updated_by \
                        FROM alert_settings";

fn settings<D: Dialect>(
    (id, opt_outs, webhook_url, webhook_secret, updated_at, updated_by): SettingsColumns<D>,
) -> AlertSettings {
    AlertSettings {
        demande_id: id.into(),
        opt_outs: opt_outs
            .split(',')
            .filter(|o| !o.is_empty())
            .map(str::to_string)
            .collect(),
        webhook_url,
        webhook_secret,
        updated_at,
        updated_by,
    }
}

pub fn alert_settings<'a, D: Dialect>(demande_id: Uuid) -> Select<'a, D, SettingsColumns<D>, AlertSettings> {
    let head = format!("{SETTINGS} WHERE demande_id = ");
    let text = [head.as_str(), ""];
    Statement::with(&text, vec![Value::Uuid(Some(demande_id))]).select(|row| Ok(settings::<D>(row)))
}

/// Every habilitation's settings, in one statement (the alerts job's run).
pub fn every_alert_settings<'a, D: Dialect>() -> Select<'a, D, SettingsColumns<D>, AlertSettings> {
    Statement::with(&[SETTINGS], Vec::new()).select(|row| Ok(settings::<D>(row)))
}

pub fn put_alert_settings<D: Dialect>(s: &AlertSettings) -> Statement<'_, D> {
    let values = vec![
        Value::Uuid(Some(s.demande_id)),
        Value::OwnedText(s.opt_outs.join(",")),
        Value::Text(s.webhook_url.as_deref()),
        Value::Text(s.webhook_secret.as_deref()),
        Value::Time(Some(s.updated_at)),
        Value::Text(Some(&s.updated_by)),
    ];
    let mut q = Statement::insert(
        "INSERT INTO alert_settings (demande_id, opt_outs, webhook_url, webhook_secret, updated_at, updated_by)",
        [values],
    );
    q.push(
        " ON CONFLICT (demande_id) DO UPDATE SET opt_outs = excluded.opt_outs, webhook_url = excluded.webhook_url, \
         webhook_secret = excluded.webhook_secret, updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    );
    q
}

/// The mark first (one row changed, or none when it is held: see
/// `guarded_transaction`), then the alert and its letters and webhooks.
pub fn raise_alert<'a, D: Dialect>(
    alert: &'a AlertRecord,
    mark: &'a AlertMark,
    outbox: &'a [OutboxItem],
) -> Vec<Statement<'a, D>> {
    let mut statements = vec![take_mark(mark, alert.at)];
    let values = vec![
        Value::Uuid(Some(alert.id)),
        Value::Uuid(Some(alert.demande_id)),
        Value::Uuid(Some(alert.jti)),
        Value::Text(Some(&alert.kind)),
        Value::Time(Some(alert.at)),
        Value::Text(Some(&alert.detail)),
    ];
    statements.push(Statement::insert(
        "INSERT INTO alerts (id, demande_id, jti, kind, at, detail)",
        [values],
    ));
    if !outbox.is_empty() {
        statements.push(insert_outbox(outbox));
    }
    statements
}

/// Inserts the mark, or moves it to `at` when it is older than its quiet time. On
/// PostgreSQL a concurrent taker waits on the row, then finds it taken.
fn take_mark<'a, D: Dialect>(mark: &'a AlertMark, at: DateTime<Utc>) -> Statement<'a, D> {
    let values = vec![
        Value::Uuid(Some(mark.jti)),
        Value::Text(Some(&mark.kind)),
        Value::Time(Some(at)),
    ];
    let mut q = Statement::insert("INSERT INTO alert_marks (jti, kind, raised_at)", [values]);
    match mark.quiet_since {
        None => {
            q.push(" ON CONFLICT (jti, kind) DO NOTHING");
        }
        Some(since) => {
            q.push(
                " ON CONFLICT (jti, kind) DO UPDATE SET raised_at = excluded.raised_at WHERE alert_marks.raised_at < ",
            )
            .bind(Value::Time(Some(since)));
        }
    }
    q
}

pub fn alert_mark<'a, D: Dialect>(jti: Uuid, kind: &'a str) -> Select<'a, D, (DateTime<Utc>,), DateTime<Utc>> {
    let text = ["SELECT raised_at FROM alert_marks WHERE jti = ", " AND kind = ", ""];
    let values = vec![Value::Uuid(Some(jti)), Value::Text(Some(kind))];
    Statement::with(&text, values).select(|(at,)| Ok(at))
}

type AlertColumns<D> = (
    <D as Dialect>::Uuid,
    <D as Dialect>::Uuid,
    <D as Dialect>::Uuid,
    String,
    DateTime<Utc>,
    String,
);

pub fn alerts_of<'a, D: Dialect>(demande_id: Uuid, limit: u32) -> Select<'a, D, AlertColumns<D>, AlertRecord> {
    let text = [
        "SELECT id, demande_id, jti, kind, at, detail FROM alerts WHERE demande_id = ",
        " ORDER BY at DESC LIMIT ",
        "",
    ];
    let values = vec![Value::Uuid(Some(demande_id)), Value::BigInt(limit.into())];
    Statement::with(&text, values).select(|(id, demande, jti, kind, at, detail): AlertColumns<D>| {
        Ok(AlertRecord {
            id: id.into(),
            demande_id: demande.into(),
            jti: jti.into(),
            kind,
            at,
            detail,
        })
    })
}
