//! Every statement of the SQL backends, for either of them.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{
    CountColumns, Dialect, JournalColumns, PointColumns, SealColumns, Select, SpanColumns, Statement, TokenColumns,
    Value,
};
use crate::{
    CallCount, CallerId, ChainedRow, IpBan, JournalRow, PurgePoint, Seal, SigningKey, TimeRange, TokenRecord,
    WriterSpan,
};

/// The one value a row holds (`COUNT(*)`, a secret).
fn scalar<T>((value,): (T,)) -> anyhow::Result<T> {
    Ok(value)
}

// Keys and secrets.

pub fn signing_keys<'a, D: Dialect>() -> Select<'a, D, SigningKey, SigningKey> {
    let text = "SELECT kid, algorithm, purpose, private_der, public_der, created_at FROM signing_keys \
                ORDER BY created_at, kid";
    Statement::new(text).select(Ok)
}

pub fn insert_signing_key<D: Dialect>(key: &SigningKey) -> Statement<'_, D> {
    let values = vec![
        Value::Text(Some(&key.kid)),
        Value::Text(Some(&key.algorithm)),
        Value::Text(Some(&key.purpose)),
        Value::Bytes(&key.private_der),
        Value::Bytes(&key.public_der),
        Value::Time(Some(key.created_at)),
    ];
    Statement::insert(
        "INSERT INTO signing_keys (kid, algorithm, purpose, private_der, public_der, created_at)",
        [values],
    )
}

pub fn secret<D: Dialect>(name: &str) -> Select<'_, D, (Vec<u8>,), Vec<u8>> {
    let text = ["SELECT value FROM secrets WHERE name = ", ""];
    Statement::with(&text, vec![Value::Text(Some(name))]).select(scalar)
}

/// Stores the secret unless one of that name exists.
pub fn insert_secret<'a, D: Dialect>(name: &'a str, value: &'a [u8]) -> Statement<'a, D> {
    let mut q = Statement::insert(
        "INSERT INTO secrets (name, value)",
        [vec![Value::Text(Some(name)), Value::Bytes(value)]],
    );
    q.push(" ON CONFLICT (name) DO NOTHING");
    q
}

// Tokens.

pub fn insert_token<D: Dialect>(t: &TokenRecord) -> anyhow::Result<Statement<'_, D>> {
    let values = vec![
        Value::Uuid(Some(t.jti)),
        Value::Text(Some(&t.name)),
        Value::Text(Some(&t.siret)),
        Value::Text(Some(&t.bouquet)),
        Value::List(&t.scopes),
        Value::Time(Some(t.issued_at)),
        Value::Time(Some(t.expires_at)),
        Value::Time(t.revoked_at),
        Value::Int(t.rate_limit_per_minute.map(i32::try_from).transpose()?),
        Value::List(&t.allowed_ips),
        Value::Text(t.dpo_email.as_deref()),
    ];
    let head = "INSERT INTO tokens (jti, name, siret, bouquet, scopes, issued_at, expires_at, revoked_at, \
                rate_limit_per_minute, allowed_ips, dpo_email)";
    Ok(Statement::insert(head, [values]))
}

pub fn token<'a, D: Dialect>(jti: Uuid) -> Select<'a, D, TokenColumns<D>, TokenRecord> {
    let text = ["SELECT * FROM tokens WHERE jti = ", ""];
    Statement::with(&text, vec![Value::Uuid(Some(jti))]).select(TokenColumns::record)
}

pub fn tokens<'a, D: Dialect>() -> Select<'a, D, TokenColumns<D>, TokenRecord> {
    Statement::new("SELECT * FROM tokens ORDER BY issued_at, jti").select(TokenColumns::record)
}

/// Sets `column` (a time) of token `jti`.
fn set_token_time<'a, D: Dialect>(column: &str, jti: Uuid, at: DateTime<Utc>) -> Statement<'a, D> {
    let head = format!("UPDATE tokens SET {column} = ");
    let text = [head.as_str(), " WHERE jti = ", ""];
    Statement::with(&text, vec![Value::Time(Some(at)), Value::Uuid(Some(jti))])
}

/// The earliest revocation wins: a later one (a ban set for a date, reaching a token
/// already stopped) never brings a token back.
pub fn revoke_token<'a, D: Dialect>(jti: Uuid, at: DateTime<Utc>) -> Statement<'a, D> {
    let text = [
        "UPDATE tokens SET revoked_at = CASE WHEN revoked_at IS NULL OR revoked_at > ",
        " THEN ",
        " ELSE revoked_at END WHERE jti = ",
        "",
    ];
    Statement::with(
        &text,
        vec![Value::Time(Some(at)), Value::Time(Some(at)), Value::Uuid(Some(jti))],
    )
}

pub fn set_token_expiry<'a, D: Dialect>(jti: Uuid, expires_at: DateTime<Utc>) -> Statement<'a, D> {
    set_token_time("expires_at", jti, expires_at)
}

// IP bans.

pub fn insert_ip_ban<D: Dialect>(ban: &IpBan) -> Statement<'_, D> {
    let values = vec![
        Value::Text(Some(&ban.ip)),
        Value::Time(Some(ban.banned_at)),
        Value::Time(Some(ban.until)),
        Value::Text(Some(&ban.reason)),
        Value::Time(ban.lifted_at),
    ];
    Statement::insert(
        "INSERT INTO ip_bans (ip, banned_at, until, reason, lifted_at)",
        [values],
    )
}

pub fn ip_bans<'a, D: Dialect>(at: Option<DateTime<Utc>>) -> Select<'a, D, IpBan, IpBan> {
    let head = "SELECT ip, banned_at, until, reason, lifted_at FROM ip_bans";
    let order = " ORDER BY banned_at DESC, id DESC";
    match at {
        None => Statement::new(&format!("{head}{order}")).select(Ok),
        Some(at) => {
            let where_ = format!("{head} WHERE lifted_at IS NULL AND until > ");
            Statement::with(&[where_.as_str(), order], vec![Value::Time(Some(at))]).select(Ok)
        }
    }
}

pub fn lift_ip_ban<'a, D: Dialect>(ip: &'a str, at: DateTime<Utc>) -> Statement<'a, D> {
    let text = [
        "UPDATE ip_bans SET lifted_at = ",
        " WHERE ip = ",
        " AND lifted_at IS NULL AND until > ",
        "",
    ];
    Statement::with(
        &text,
        vec![Value::Time(Some(at)), Value::Text(Some(ip)), Value::Time(Some(at))],
    )
}

// The journal.

const JOURNAL_INSERT: &str = "INSERT INTO journal (request_id, at, format, bouquet, jti, citizen, purpose, endpoint, \
                              status, duration_ms, params_hash, cached, body_sha256, subject, writer, seq, prev_hash, hash)";
const JOURNAL_COLUMNS: usize = 18;

fn journal_values(c: &ChainedRow) -> Vec<Value<'_>> {
    let r = &c.row;
    let (jti, citizen) = match &r.caller {
        Some(CallerId::Token(jti)) => (Some(*jti), None),
        Some(CallerId::Citizen(hash)) => (None, Some(hash.as_str())),
        None => (None, None),
    };
    // A map of text to text always serializes.
    let purpose = serde_json::to_string(&r.purpose).unwrap_or_default();
    vec![
        Value::Text(Some(&r.request_id)),
        Value::Time(Some(r.at)),
        Value::Int(Some(c.format.number())),
        Value::Text(Some(&r.bouquet)),
        Value::Uuid(jti),
        Value::Text(citizen),
        Value::OwnedText(purpose),
        Value::Text(Some(&r.endpoint)),
        Value::Int(Some(i32::from(r.status))),
        Value::Real(r.duration_ms),
        Value::Text(r.params_hash.as_deref()),
        Value::Flag(r.cached),
        Value::Text(r.body_sha256.as_deref()),
        Value::Text(r.subject.as_deref()),
        Value::Uuid(Some(c.writer)),
        Value::BigInt(c.seq),
        Value::Text(Some(&c.prev_hash)),
        Value::Text(Some(&c.hash)),
    ]
}

fn insert_seal<D: Dialect>(seal: &Seal) -> Statement<'_, D> {
    let values = vec![
        Value::Text(Some(seal.kind.as_str())),
        Value::Uuid(Some(seal.writer)),
        Value::BigInt(seal.seq),
        Value::Text(Some(&seal.hash)),
        Value::Time(Some(seal.at)),
        Value::Text(Some(&seal.kid)),
        Value::Text(Some(&seal.signature)),
    ];
    Statement::insert(
        "INSERT INTO journal_seals (kind, writer, seq, hash, at, kid, signature)",
        [values],
    )
}

/// The rows' `INSERT`s, each under `max_params` bound values, then the seal's: one
/// transaction's statements.
pub fn append<'a, D: Dialect>(
    rows: &'a [ChainedRow],
    seal: Option<&'a Seal>,
    max_params: usize,
) -> Vec<Statement<'a, D>> {
    let mut statements: Vec<_> = rows
        .chunks(max_params / JOURNAL_COLUMNS)
        .map(|chunk| Statement::insert(JOURNAL_INSERT, chunk.iter().map(journal_values)))
        .collect();
    statements.extend(seal.map(insert_seal));
    statements
}

pub fn recent_journal<'a, D: Dialect>(limit: u32) -> Select<'a, D, JournalColumns<D>, JournalRow> {
    let text = ["SELECT * FROM journal ORDER BY id DESC LIMIT ", ""];
    Statement::with(&text, vec![Value::BigInt(limit.into())]).select(JournalColumns::row)
}

/// The calls about one person (rows naming a caller: not the person's own reads of
/// their record), newest first.
pub fn calls_about<'a, D: Dialect>(subject: &'a str, limit: u32) -> Select<'a, D, JournalColumns<D>, JournalRow> {
    let text = [
        "SELECT * FROM journal WHERE subject = ",
        " AND (jti IS NOT NULL OR citizen IS NOT NULL) ORDER BY at DESC, id DESC LIMIT ",
        "",
    ];
    Statement::with(&text, vec![Value::Text(Some(subject)), Value::BigInt(limit.into())]).select(JournalColumns::row)
}

/// A token's last calls, newest first.
pub fn token_calls<'a, D: Dialect>(jti: Uuid, limit: u32) -> Select<'a, D, JournalColumns<D>, JournalRow> {
    let text = ["SELECT * FROM journal WHERE jti = ", " ORDER BY id DESC LIMIT ", ""];
    Statement::with(&text, vec![Value::Uuid(Some(jti)), Value::BigInt(limit.into())]).select(JournalColumns::row)
}

pub fn journal_page<'a, D: Dialect>(
    range: TimeRange,
    after: i64,
    limit: u32,
) -> Select<'a, D, JournalColumns<D>, (i64, ChainedRow)> {
    let mut q = Statement::new("SELECT * FROM journal");
    q.range(range).push(" AND id > ").bind(Value::BigInt(after));
    q.push(" ORDER BY id LIMIT ").bind(Value::BigInt(limit.into()));
    q.select(JournalColumns::numbered)
}

pub fn journal_count<'a, D: Dialect>(range: TimeRange) -> Select<'a, D, (i64,), i64> {
    let mut q = Statement::new("SELECT COUNT(*) FROM journal");
    q.range(range);
    q.select(scalar)
}

pub fn journal_writers<'a, D: Dialect>() -> Select<'a, D, SpanColumns<D>, WriterSpan> {
    let text = "SELECT writer, MIN(seq) AS first_seq, MAX(seq) AS last_seq, COUNT(*) AS n FROM journal \
                GROUP BY writer ORDER BY MIN(id)";
    Statement::new(text).select(SpanColumns::span)
}

pub fn writer_rows<'a, D: Dialect>(
    writer: Uuid,
    after: i64,
    limit: u32,
) -> Select<'a, D, JournalColumns<D>, ChainedRow> {
    let values = vec![
        Value::Uuid(Some(writer)),
        Value::BigInt(after),
        Value::BigInt(limit.into()),
    ];
    let text = [
        "SELECT * FROM journal WHERE writer = ",
        " AND seq > ",
        " ORDER BY seq LIMIT ",
        "",
    ];
    Statement::with(&text, values).select(JournalColumns::chained)
}

pub fn journal_seals<'a, D: Dialect>() -> Select<'a, D, SealColumns<D>, Seal> {
    Statement::new("SELECT * FROM journal_seals ORDER BY writer, seq, id").select(SealColumns::seal)
}

pub fn purge_points<'a, D: Dialect>(before: DateTime<Utc>) -> Select<'a, D, PointColumns<D>, PurgePoint> {
    let text = [
        "WITH spans AS ( \
           SELECT writer, MIN(seq) AS first, \
                  COALESCE(MIN(seq) FILTER (WHERE at >= ",
        ") - 1, MAX(seq)) AS cut \
           FROM journal GROUP BY writer) \
         SELECT j.writer, j.seq, j.hash FROM spans s \
         JOIN journal j ON j.writer = s.writer AND j.seq = s.cut \
         WHERE s.cut >= s.first",
    ];
    Statement::with(&text, vec![Value::Time(Some(before))]).select(PointColumns::point)
}

/// Deletes the seals `anchor` replaces, stores it, then deletes the rows it covers:
/// one transaction's statements, the last one counting the rows.
pub fn purge<D: Dialect>(anchor: &Seal) -> Vec<Statement<'_, D>> {
    let covered = |table: &str| {
        let head = format!("DELETE FROM {table} WHERE writer = ");
        let text = [head.as_str(), " AND seq <= ", ""];
        Statement::with(&text, vec![Value::Uuid(Some(anchor.writer)), Value::BigInt(anchor.seq)])
    };
    vec![covered("journal_seals"), insert_seal(anchor), covered("journal")]
}

pub fn call_counts<'a, D: Dialect>(range: TimeRange) -> Select<'a, D, CountColumns<D>, CallCount> {
    let mut q = Statement::new("SELECT bouquet, jti, citizen, endpoint, status, COUNT(*) AS calls FROM journal");
    q.range(range);
    q.push(" GROUP BY bouquet, jti, citizen, endpoint, status ORDER BY calls DESC, endpoint, status");
    q.select(CountColumns::count)
}
