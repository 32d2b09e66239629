//! The statements of the status page's tables, for either backend: the daily rollups
//! of provider checks, and the notices with their notes.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::{Dialect, Select, Statement, Value};
use crate::{Check, CheckDay, CheckStatus, NewNotice, Notice, NoticeFilter, NoticeKind, NoticeNote};

const DAY_FORMAT: &str = "%Y-%m-%d";

#[derive(FromRow)]
pub struct DayColumns {
    bouquet: String,
    provider: String,
    day: String,
    checks: i64,
    ok: i64,
    down: i64,
    maintenance: i64,
    last_status: String,
    last_at: DateTime<Utc>,
}

impl DayColumns {
    fn record(self) -> anyhow::Result<CheckDay> {
        Ok(CheckDay {
            bouquet: self.bouquet,
            provider: self.provider,
            day: NaiveDate::parse_from_str(&self.day, DAY_FORMAT)?,
            checks: self.checks,
            ok: self.ok,
            down: self.down,
            maintenance: self.maintenance,
            last_status: CheckStatus::parse(&self.last_status)?,
            last_at: self.last_at,
        })
    }
}

#[derive(FromRow)]
pub struct NoticeColumns<D: Dialect> {
    id: D::Uuid,
    number: i64,
    bouquet: String,
    provider: Option<String>,
    kind: String,
    title: String,
    starts_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl<D: Dialect> NoticeColumns<D> {
    fn record(self) -> anyhow::Result<Notice> {
        Ok(Notice {
            id: self.id.into(),
            number: self.number,
            bouquet: self.bouquet,
            provider: self.provider,
            kind: NoticeKind::parse(&self.kind)?,
            title: self.title,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            created_at: self.created_at,
            notes: Vec::new(),
        })
    }
}

#[derive(FromRow)]
pub struct NoteColumns<D: Dialect> {
    notice_id: D::Uuid,
    at: DateTime<Utc>,
    body: String,
}

impl<D: Dialect> NoteColumns<D> {
    fn record(self) -> anyhow::Result<(Uuid, NoticeNote)> {
        let note = NoticeNote {
            at: self.at,
            text: self.body,
        };
        Ok((self.notice_id.into(), note))
    }
}

// Checks.

/// Adds one check to its day's counts; the last status follows the newest check, so
/// that replicas recording out of order agree.
pub fn record_check<D: Dialect>(c: &Check) -> Statement<'_, D> {
    let flag = |wanted: CheckStatus| Value::BigInt(i64::from(c.status == wanted));
    let values = vec![
        Value::Text(Some(&c.bouquet)),
        Value::Text(Some(&c.provider)),
        Value::OwnedText(c.day.format(DAY_FORMAT).to_string()),
        Value::BigInt(1),
        flag(CheckStatus::Ok),
        flag(CheckStatus::Down),
        flag(CheckStatus::Maintenance),
        Value::Text(Some(c.status.as_str())),
        Value::Time(Some(c.at)),
    ];
    let mut q = Statement::insert(
        "INSERT INTO status_days (bouquet, provider, day, checks, ok, down, maintenance, last_status, last_at)",
        [values],
    );
    q.push(
        " ON CONFLICT (bouquet, provider, day) DO UPDATE SET checks = status_days.checks + 1, \
         ok = status_days.ok + excluded.ok, down = status_days.down + excluded.down, \
         maintenance = status_days.maintenance + excluded.maintenance, \
         last_status = CASE WHEN excluded.last_at >= status_days.last_at THEN excluded.last_status \
         ELSE status_days.last_status END, \
         last_at = CASE WHEN excluded.last_at >= status_days.last_at THEN excluded.last_at \
         ELSE status_days.last_at END",
    );
    q
}

pub fn check_days<'a, D: Dialect>(bouquet: &'a str, since: NaiveDate) -> Select<'a, D, DayColumns, CheckDay> {
    let text = [
        "SELECT bouquet, provider, day, checks, ok, down, maintenance, last_status, last_at FROM status_days \
         WHERE bouquet = ",
        " AND day >= ",
        " ORDER BY provider, day",
    ];
    let values = vec![
        Value::Text(Some(bouquet)),
        Value::OwnedText(since.format(DAY_FORMAT).to_string()),
    ];
    Statement::with(&text, values).select(DayColumns::record)
}

// Notices.

/// The notice `id` numbered after the highest so far, then its first note.
pub fn open_notice<D: Dialect>(id: Uuid, n: &NewNotice) -> Vec<Statement<'_, D>> {
    let text = [
        "INSERT INTO status_notices (id, number, bouquet, provider, kind, title, starts_at, ends_at, created_at) \
         SELECT ",
        ", COALESCE(MAX(number), 0) + 1, ",
        ", ",
        ", ",
        ", ",
        ", ",
        ", ",
        ", ",
        " FROM status_notices",
    ];
    let values = vec![
        Value::Uuid(Some(id)),
        Value::Text(Some(&n.bouquet)),
        Value::Text(n.provider.as_deref()),
        Value::Text(Some(n.kind.as_str())),
        Value::Text(Some(&n.title)),
        Value::Time(Some(n.starts_at)),
        Value::Time(n.ends_at),
        Value::Time(Some(n.note.at)),
    ];
    let note = [
        "INSERT INTO status_notes (notice_id, seq, at, body) VALUES (",
        ", 1, ",
        ", ",
        ")",
    ];
    let note_values = vec![
        Value::Uuid(Some(id)),
        Value::Time(Some(n.note.at)),
        Value::Text(Some(&n.note.text)),
    ];
    vec![Statement::with(&text, values), Statement::with(&note, note_values)]
}

/// A note after the last one of notice `number`; adds no row when there is none.
pub fn add_note<'a, D: Dialect>(number: i64, at: DateTime<Utc>, text: &'a str) -> Statement<'a, D> {
    let sql = [
        "INSERT INTO status_notes (notice_id, seq, at, body) SELECT id, \
         (SELECT COALESCE(MAX(seq), 0) + 1 FROM status_notes WHERE notice_id = status_notices.id), ",
        ", ",
        " FROM status_notices WHERE number = ",
        "",
    ];
    let values = vec![Value::Time(Some(at)), Value::Text(Some(text)), Value::BigInt(number)];
    Statement::with(&sql, values)
}

/// Ends notice `number` at `at` unless it was over by then; then the last note, if
/// any (see `guarded_transaction`).
pub fn close_notice<'a, D: Dialect>(number: i64, at: DateTime<Utc>, note: Option<&'a str>) -> Vec<Statement<'a, D>> {
    let text = [
        "UPDATE status_notices SET ends_at = ",
        " WHERE number = ",
        " AND (ends_at IS NULL OR ends_at > ",
        ")",
    ];
    let values = vec![Value::Time(Some(at)), Value::BigInt(number), Value::Time(Some(at))];
    let mut statements = vec![Statement::with(&text, values)];
    statements.extend(note.map(|note| add_note(number, at, note)));
    statements
}

/// ` WHERE` the notices (as `s`) that `filter` selects.
fn notice_filter<'a, D: Dialect>(q: &mut Statement<'a, D>, filter: &NoticeFilter<'a>) {
    match *filter {
        NoticeFilter::Id(id) => {
            q.push(" WHERE s.id = ").bind(Value::Uuid(Some(id)));
        }
        NoticeFilter::Number(number) => {
            q.push(" WHERE s.number = ").bind(Value::BigInt(number));
        }
        NoticeFilter::Recent { bouquet, since } => {
            q.push(" WHERE (s.ends_at IS NULL OR s.ends_at >= ")
                .bind(Value::Time(Some(since)))
                .push(")");
            if let Some(bouquet) = bouquet {
                q.push(" AND s.bouquet = ").bind(Value::Text(Some(bouquet)));
            }
        }
    }
}

pub fn notices<'a, D: Dialect>(filter: &NoticeFilter<'a>) -> Select<'a, D, NoticeColumns<D>, Notice> {
    let mut q = Statement::new(
        "SELECT s.id, s.number, s.bouquet, s.provider, s.kind, s.title, s.starts_at, s.ends_at, s.created_at \
         FROM status_notices s",
    );
    notice_filter(&mut q, filter);
    q.push(" ORDER BY s.starts_at DESC, s.number DESC");
    q.select(NoticeColumns::record)
}

/// The notes of the notices `filter` selects, each with its notice's id, in order.
pub fn notice_notes<'a, D: Dialect>(filter: &NoticeFilter<'a>) -> Select<'a, D, NoteColumns<D>, (Uuid, NoticeNote)> {
    let mut q = Statement::new(
        "SELECT n.notice_id, n.at, n.body FROM status_notes n JOIN status_notices s ON s.id = n.notice_id",
    );
    notice_filter(&mut q, filter);
    q.push(" ORDER BY n.notice_id, n.seq");
    q.select(NoteColumns::record)
}

/// `notices` with their `notes` (as `notice_notes` reads them).
pub fn with_notes(mut notices: Vec<Notice>, notes: Vec<(Uuid, NoticeNote)>) -> Vec<Notice> {
    let mut by_notice: HashMap<Uuid, Vec<NoticeNote>> = HashMap::new();
    for (id, note) in notes {
        by_notice.entry(id).or_default().push(note);
    }
    for notice in &mut notices {
        notice.notes = by_notice.remove(&notice.id).unwrap_or_default();
    }
    notices
}
