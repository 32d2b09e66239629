//! The statements of the habilitation service's tables, for either backend.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::{Dialect, Select, Statement, Value};
use crate::{
    DemandeChange, DemandeEvent, DemandePerson, DemandeRecord, OutboxItem, TokenChange, TokenLink, WebSession,
};

#[derive(FromRow)]
pub struct DemandeColumns<D: Dialect> {
    id: D::Uuid,
    number: i64,
    bouquet: String,
    form_id: String,
    siret: String,
    state: String,
    reopening: bool,
    version: i64,
    body: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    submitted_at: Option<DateTime<Utc>>,
    decided_at: Option<DateTime<Utc>>,
}

impl<D: Dialect> DemandeColumns<D> {
    pub(super) fn record(self) -> anyhow::Result<DemandeRecord> {
        Ok(DemandeRecord {
            id: self.id.into(),
            number: self.number,
            bouquet: self.bouquet,
            form_id: self.form_id,
            siret: self.siret,
            state: self.state,
            reopening: self.reopening,
            version: self.version,
            body: self.body,
            created_at: self.created_at,
            updated_at: self.updated_at,
            submitted_at: self.submitted_at,
            decided_at: self.decided_at,
        })
    }
}

#[derive(FromRow)]
pub struct EventColumns<D: Dialect> {
    demande_id: D::Uuid,
    seq: i64,
    at: DateTime<Utc>,
    actor: String,
    kind: String,
    body: String,
}

impl<D: Dialect> EventColumns<D> {
    pub(super) fn record(self) -> anyhow::Result<DemandeEvent> {
        Ok(DemandeEvent {
            demande_id: self.demande_id.into(),
            seq: self.seq,
            at: self.at,
            actor: self.actor,
            kind: self.kind,
            body: self.body,
        })
    }
}

#[derive(FromRow)]
pub struct OutboxColumns<D: Dialect> {
    id: D::Uuid,
    channel: String,
    dedup: Option<String>,
    body: String,
    created_at: DateTime<Utc>,
    attempts: i32,
    next_at: DateTime<Utc>,
    done_at: Option<DateTime<Utc>>,
    dead_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

impl<D: Dialect> OutboxColumns<D> {
    fn record(self) -> anyhow::Result<OutboxItem> {
        Ok(OutboxItem {
            id: self.id.into(),
            channel: self.channel,
            dedup: self.dedup,
            body: self.body,
            created_at: self.created_at,
            attempts: self.attempts,
            next_at: self.next_at,
            done_at: self.done_at,
            dead_at: self.dead_at,
            last_error: self.last_error,
        })
    }
}

pub(super) const DEMANDE_COLUMNS: &str =
    "id, number, bouquet, form_id, siret, state, reopening, version, body, created_at, updated_at, submitted_at, \
     decided_at";

/// The statements of `change`, the demande's write first: the transaction holds only
/// if that one changes a row (see `guarded_transaction`).
pub fn commit_demande<D: Dialect>(change: &DemandeChange) -> anyhow::Result<Vec<Statement<'_, D>>> {
    let d = &change.demande;
    let mut statements = vec![if d.version == 1 {
        insert_demande(d)
    } else {
        update_demande(d)
    }];
    statements.push(delete_people(d.id));
    if !change.people.is_empty() {
        statements.push(insert_people(d.id, &change.people));
    }
    statements.push(insert_event(&change.event));
    if !change.outbox.is_empty() {
        statements.push(insert_outbox(&change.outbox));
    }
    match &change.token {
        None => {}
        Some(TokenChange::Issue(token)) => statements.push(super::insert_token(token)?),
        Some(TokenChange::Update {
            jti,
            scopes,
            expires_at,
            also,
        }) => {
            statements.push(update_token(*jti, scopes, *expires_at));
            statements.extend(also.iter().map(|old| update_scopes(*old, scopes)));
        }
        Some(TokenChange::Revoke { jti, at, also }) => {
            statements.extend(std::iter::once(jti).chain(also).map(|t| super::revoke_token(*t, *at)));
        }
        Some(TokenChange::Rotate {
            new,
            old,
            old_expires_at,
        }) => {
            statements.push(super::insert_token(new)?);
            statements.push(super::set_token_expiry(*old, *old_expires_at));
        }
        Some(TokenChange::Restrict {
            jti,
            allowed_ips,
            rate_limit_per_minute,
        }) => statements.push(restrict_token(*jti, allowed_ips, *rate_limit_per_minute)?),
    }
    Ok(statements)
}

/// The new demande, numbered after the highest number so far.
fn insert_demande<D: Dialect>(d: &DemandeRecord) -> Statement<'_, D> {
    let text = [
        "INSERT INTO demandes (id, number, bouquet, form_id, siret, state, reopening, version, body, created_at, \
         updated_at, submitted_at, decided_at) SELECT ",
        ", COALESCE(MAX(number), 0) + 1, ",
        ", ",
        ", ",
        ", ",
        ", ",
        ", 1, ",
        ", ",
        ", ",
        ", ",
        ", ",
        " FROM demandes",
    ];
    let values = vec![
        Value::Uuid(Some(d.id)),
        Value::Text(Some(&d.bouquet)),
        Value::Text(Some(&d.form_id)),
        Value::Text(Some(&d.siret)),
        Value::Text(Some(&d.state)),
        Value::Flag(d.reopening),
        Value::Text(Some(&d.body)),
        Value::Time(Some(d.created_at)),
        Value::Time(Some(d.updated_at)),
        Value::Time(d.submitted_at),
        Value::Time(d.decided_at),
    ];
    Statement::with(&text, values)
}

/// The demande at `d.version`, if the stored one is at the version before.
fn update_demande<D: Dialect>(d: &DemandeRecord) -> Statement<'_, D> {
    let text = [
        "UPDATE demandes SET siret = ",
        ", state = ",
        ", reopening = ",
        ", version = ",
        ", body = ",
        ", updated_at = ",
        ", submitted_at = ",
        ", decided_at = ",
        " WHERE id = ",
        " AND version = ",
        "",
    ];
    let values = vec![
        Value::Text(Some(&d.siret)),
        Value::Text(Some(&d.state)),
        Value::Flag(d.reopening),
        Value::BigInt(d.version),
        Value::Text(Some(&d.body)),
        Value::Time(Some(d.updated_at)),
        Value::Time(d.submitted_at),
        Value::Time(d.decided_at),
        Value::Uuid(Some(d.id)),
        Value::BigInt(d.version - 1),
    ];
    Statement::with(&text, values)
}

fn delete_people<'a, D: Dialect>(id: Uuid) -> Statement<'a, D> {
    Statement::with(
        &["DELETE FROM demande_people WHERE demande_id = ", ""],
        vec![Value::Uuid(Some(id))],
    )
}

fn insert_people<D: Dialect>(id: Uuid, people: &[DemandePerson]) -> Statement<'_, D> {
    let rows = people.iter().map(|p| {
        vec![
            Value::Uuid(Some(id)),
            Value::Text(Some(&p.email)),
            Value::Text(Some(&p.role)),
        ]
    });
    Statement::insert("INSERT INTO demande_people (demande_id, email, role)", rows)
}

fn insert_event<D: Dialect>(e: &DemandeEvent) -> Statement<'_, D> {
    let values = vec![
        Value::Uuid(Some(e.demande_id)),
        Value::BigInt(e.seq),
        Value::Time(Some(e.at)),
        Value::Text(Some(&e.actor)),
        Value::Text(Some(&e.kind)),
        Value::Text(Some(&e.body)),
    ];
    Statement::insert(
        "INSERT INTO demande_events (demande_id, seq, at, actor, kind, body)",
        [values],
    )
}

fn update_token<'a, D: Dialect>(jti: Uuid, scopes: &'a [String], expires_at: DateTime<Utc>) -> Statement<'a, D> {
    let text = ["UPDATE tokens SET scopes = ", ", expires_at = ", " WHERE jti = ", ""];
    let values = vec![
        Value::List(scopes),
        Value::Time(Some(expires_at)),
        Value::Uuid(Some(jti)),
    ];
    Statement::with(&text, values)
}

fn update_scopes<'a, D: Dialect>(jti: Uuid, scopes: &'a [String]) -> Statement<'a, D> {
    let text = ["UPDATE tokens SET scopes = ", " WHERE jti = ", ""];
    Statement::with(&text, vec![Value::List(scopes), Value::Uuid(Some(jti))])
}

fn restrict_token<'a, D: Dialect>(
    jti: Uuid,
    allowed_ips: &'a [String],
    rate_limit_per_minute: Option<u32>,
) -> anyhow::Result<Statement<'a, D>> {
    let text = [
        "UPDATE tokens SET allowed_ips = ",
        ", rate_limit_per_minute = ",
        " WHERE jti = ",
        "",
    ];
    let values = vec![
        Value::List(allowed_ips),
        Value::Int(rate_limit_per_minute.map(i32::try_from).transpose()?),
        Value::Uuid(Some(jti)),
    ];
    Ok(Statement::with(&text, values))
}

pub fn insert_outbox<D: Dialect>(items: &[OutboxItem]) -> Statement<'_, D> {
    let rows = items.iter().map(|i| {
        vec![
            Value::Uuid(Some(i.id)),
            Value::Text(Some(&i.channel)),
            Value::Text(i.dedup.as_deref()),
            Value::Text(Some(&i.body)),
            Value::Time(Some(i.created_at)),
            Value::Int(Some(i.attempts)),
            Value::Time(Some(i.next_at)),
            Value::Time(i.done_at),
            Value::Time(i.dead_at),
            Value::Text(i.last_error.as_deref()),
        ]
    });
    let mut q = Statement::insert(
        "INSERT INTO outbox (id, channel, dedup, body, created_at, attempts, next_at, done_at, dead_at, last_error)",
        rows,
    );
    q.push(" ON CONFLICT (dedup) DO NOTHING");
    q
}

pub fn demande<'a, D: Dialect>(id: Uuid) -> Select<'a, D, DemandeColumns<D>, DemandeRecord> {
    let head = format!("SELECT {DEMANDE_COLUMNS} FROM demandes WHERE id = ");
    Statement::with(&[head.as_str(), ""], vec![Value::Uuid(Some(id))]).select(DemandeColumns::record)
}

pub fn demandes_of<'a, D: Dialect>(siret: &'a str, email: &'a str) -> Select<'a, D, DemandeColumns<D>, DemandeRecord> {
    let head = format!("SELECT {DEMANDE_COLUMNS} FROM demandes WHERE siret = ");
    let text = [
        head.as_str(),
        " OR id IN (SELECT demande_id FROM demande_people WHERE email = ",
        ") ORDER BY updated_at DESC, number DESC",
    ];
    let values = vec![Value::Text(Some(siret)), Value::Text(Some(email))];
    Statement::with(&text, values).select(DemandeColumns::record)
}

pub fn demandes_in<D: Dialect>(bouquet: &str) -> Select<'_, D, DemandeColumns<D>, DemandeRecord> {
    let head = format!("SELECT {DEMANDE_COLUMNS} FROM demandes WHERE bouquet = ");
    let text = [
        head.as_str(),
        " AND submitted_at IS NOT NULL ORDER BY submitted_at, number",
    ];
    Statement::with(&text, vec![Value::Text(Some(bouquet))]).select(DemandeColumns::record)
}

pub fn demande_people<'a, D: Dialect>(id: Uuid) -> Select<'a, D, (String, String), DemandePerson> {
    let text = [
        "SELECT email, role FROM demande_people WHERE demande_id = ",
        " ORDER BY role, email",
    ];
    Statement::with(&text, vec![Value::Uuid(Some(id))]).select(|(email, role)| Ok(DemandePerson { email, role }))
}

pub fn demande_events<'a, D: Dialect>(id: Uuid) -> Select<'a, D, EventColumns<D>, DemandeEvent> {
    let text = [
        "SELECT demande_id, seq, at, actor, kind, body FROM demande_events WHERE demande_id = ",
        " ORDER BY seq",
    ];
    Statement::with(&text, vec![Value::Uuid(Some(id))]).select(EventColumns::record)
}

const OUTBOX_COLUMNS: &str = "SELECT id, channel, dedup, body, created_at, attempts, next_at, done_at, dead_at, \
                              last_error FROM outbox";

pub fn due_outbox<'a, D: Dialect>(now: DateTime<Utc>, limit: u32) -> Select<'a, D, OutboxColumns<D>, OutboxItem> {
    let head = format!("{OUTBOX_COLUMNS} WHERE done_at IS NULL AND dead_at IS NULL AND next_at <= ");
    let text = [head.as_str(), " ORDER BY next_at, created_at LIMIT ", ""];
    let values = vec![Value::Time(Some(now)), Value::BigInt(limit.into())];
    Statement::with(&text, values).select(OutboxColumns::record)
}

pub fn outbox<D: Dialect>(channel: &str, limit: u32) -> Select<'_, D, OutboxColumns<D>, OutboxItem> {
    let head = format!("{OUTBOX_COLUMNS} WHERE channel = ");
    let text = [head.as_str(), " ORDER BY created_at DESC LIMIT ", ""];
    let values = vec![Value::Text(Some(channel)), Value::BigInt(limit.into())];
    Statement::with(&text, values).select(OutboxColumns::record)
}

pub fn settle_outbox<D: Dialect>(i: &OutboxItem) -> Statement<'_, D> {
    let text = [
        "UPDATE outbox SET attempts = ",
        ", next_at = ",
        ", done_at = ",
        ", dead_at = ",
        ", last_error = ",
        " WHERE id = ",
        "",
    ];
    let values = vec![
        Value::Int(Some(i.attempts)),
        Value::Time(Some(i.next_at)),
        Value::Time(i.done_at),
        Value::Time(i.dead_at),
        Value::Text(i.last_error.as_deref()),
        Value::Uuid(Some(i.id)),
    ];
    Statement::with(&text, values)
}

/// `i` pushed to `until` if still as read: due (`next_at` unchanged), neither done
/// nor dead. Changes one row or none.
pub fn claim_outbox<'a, D: Dialect>(i: &OutboxItem, until: DateTime<Utc>) -> Statement<'a, D> {
    let text = [
        "UPDATE outbox SET next_at = ",
        " WHERE id = ",
        " AND next_at = ",
        " AND done_at IS NULL AND dead_at IS NULL",
    ];
    let values = vec![
        Value::Time(Some(until)),
        Value::Uuid(Some(i.id)),
        Value::Time(Some(i.next_at)),
    ];
    Statement::with(&text, values)
}

pub fn put_session<D: Dialect>(s: &WebSession) -> Statement<'_, D> {
    let values = vec![
        Value::Text(Some(&s.id_hash)),
        Value::Text(Some(&s.body)),
        Value::Time(Some(s.expires_at)),
    ];
    let mut q = Statement::insert("INSERT INTO web_sessions (id_hash, body, expires_at)", [values]);
    q.push(" ON CONFLICT (id_hash) DO UPDATE SET body = excluded.body, expires_at = excluded.expires_at");
    q
}

pub fn session<'a, D: Dialect>(
    id_hash: &'a str,
    now: DateTime<Utc>,
) -> Select<'a, D, (String, String, DateTime<Utc>), WebSession> {
    let text = [
        "SELECT id_hash, body, expires_at FROM web_sessions WHERE id_hash = ",
        " AND expires_at > ",
        "",
    ];
    let values = vec![Value::Text(Some(id_hash)), Value::Time(Some(now))];
    Statement::with(&text, values).select(|(id_hash, body, expires_at)| {
        Ok(WebSession {
            id_hash,
            body,
            expires_at,
        })
    })
}

pub fn put_token_link<D: Dialect>(link: &TokenLink) -> Statement<'_, D> {
    let values = vec![
        Value::Text(Some(&link.code_hash)),
        Value::OwnedText(link.demande_id.to_string()),
        Value::OwnedText(link.jti.to_string()),
        Value::Text(Some(&link.recipient)),
        Value::Time(Some(link.created_at)),
        Value::Time(Some(link.expires_at)),
    ];
    let head = "INSERT INTO token_links (code_hash, demande_id, jti, recipient, created_at, expires_at)";
    Statement::insert(head, [values])
}

type LinkColumns = (String, String, String, String, DateTime<Utc>, DateTime<Utc>);

/// Marks the link opened, if it is still unopened and in time, and returns it: one
/// conditional update, so two openings at once never both get the token.
pub fn open_token_link<'a, D: Dialect>(
    code_hash: &'a str,
    now: DateTime<Utc>,
) -> Select<'a, D, LinkColumns, TokenLink> {
    let text = [
        "UPDATE token_links SET opened_at = ",
        " WHERE code_hash = ",
        " AND opened_at IS NULL AND expires_at > ",
        " RETURNING code_hash, demande_id, jti, recipient, created_at, expires_at",
    ];
    let values = vec![
        Value::Time(Some(now)),
        Value::Text(Some(code_hash)),
        Value::Time(Some(now)),
    ];
    Statement::with(&text, values).select(|(code_hash, demande, jti, recipient, created_at, expires_at)| {
        Ok(TokenLink {
            code_hash,
            demande_id: demande.parse()?,
            jti: jti.parse()?,
            recipient,
            created_at,
            expires_at,
        })
    })
}

pub fn drop_session<D: Dialect>(id_hash: &str) -> Statement<'_, D> {
    Statement::with(
        &["DELETE FROM web_sessions WHERE id_hash = ", ""],
        vec![Value::Text(Some(id_hash))],
    )
}

pub fn purge_sessions<'a, D: Dialect>(now: DateTime<Utc>) -> Statement<'a, D> {
    Statement::with(
        &["DELETE FROM web_sessions WHERE expires_at <= ", ""],
        vec![Value::Time(Some(now))],
    )
}
