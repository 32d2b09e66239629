//! The statements of the audit notices, for either backend.

use uuid::Uuid;

use super::{Dialect, EventColumns, JournalColumns, Select, Statement, Value};
use crate::{DemandeEvent, JournalRow};

/// The rows of `request_ids` whose caller is one of `tokens`, newest first (read
/// through the journal's index on `request_id`).
pub fn calls_of_tokens<'a, D: Dialect>(
    request_ids: &'a [String],
    tokens: &[Uuid],
) -> Select<'a, D, JournalColumns<D>, JournalRow> {
    let mut q = Statement::new("SELECT * FROM journal WHERE request_id IN (");
    within(&mut q, request_ids.iter().map(|id| Value::Text(Some(id))));
    q.push(") AND jti IN (");
    within(&mut q, tokens.iter().map(|t| Value::Uuid(Some(*t))));
    q.push(") ORDER BY at DESC, id DESC");
    q.select(JournalColumns::row)
}

/// The values of an `IN (…)` list; `NULL` for none (an empty list is no SQL, and
/// nothing equals `NULL`).
pub(super) fn within<'a, D: Dialect>(q: &mut Statement<'a, D>, values: impl Iterator<Item = Value<'a>>) {
    let mut any = false;
    for value in values {
        q.push(if any { ", " } else { "" }).bind(value);
        any = true;
    }
    if !any {
        q.push("NULL");
    }
}

pub fn events_of_kind<'a, D: Dialect>(kind: &'a str, limit: u32) -> Select<'a, D, EventColumns<D>, DemandeEvent> {
    let text = [
        "SELECT demande_id, seq, at, actor, kind, body FROM demande_events WHERE kind = ",
        " ORDER BY at DESC, seq DESC LIMIT ",
        "",
    ];
    let values = vec![Value::Text(Some(kind)), Value::BigInt(limit.into())];
    Statement::with(&text, values).select(EventColumns::record)
}
