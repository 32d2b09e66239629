//! The statements of delegations to editors and their tokens, for either backend.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::{Dialect, Select, Statement, Value};
use crate::{DelegatedToken, Delegation, DelegationWrite, DemandeChange};

#[derive(FromRow)]
pub struct DelegationColumns<D: Dialect> {
    id: D::Uuid,
    demande_id: D::Uuid,
    editor: String,
    granted_by: String,
    granted_at: DateTime<Utc>,
    revoked_by: Option<String>,
    revoked_at: Option<DateTime<Utc>>,
}

impl<D: Dialect> DelegationColumns<D> {
    fn record(self) -> anyhow::Result<Delegation> {
        Ok(Delegation {
            id: self.id.into(),
            demande_id: self.demande_id.into(),
            editor: self.editor,
            granted_by: self.granted_by,
            granted_at: self.granted_at,
            revoked_by: self.revoked_by,
            revoked_at: self.revoked_at,
        })
    }
}

#[derive(FromRow)]
pub struct DelegatedTokenColumns<D: Dialect> {
    jti: D::Uuid,
    delegation_id: D::Uuid,
    label: String,
    taken_by: String,
    taken_at: DateTime<Utc>,
}

impl<D: Dialect> DelegatedTokenColumns<D> {
    fn record(self) -> anyhow::Result<DelegatedToken> {
        Ok(DelegatedToken {
            jti: self.jti.into(),
            delegation_id: self.delegation_id.into(),
            label: self.label,
            taken_by: self.taken_by,
            taken_at: self.taken_at,
        })
    }
}

const DELEGATION: &str =
    "SELECT id, demande_id, editor, granted_by, granted_at, revoked_by, revoked_at FROM delegations";

/// The demande's statements (its guarded write first), then the delegation's.
pub fn commit_delegation<'a, D: Dialect>(
    change: &'a DemandeChange,
    write: &'a DelegationWrite,
) -> anyhow::Result<Vec<Statement<'a, D>>> {
    let mut statements = super::commit_demande(change)?;
    match write {
        DelegationWrite::Grant(d) => statements.push(insert_delegation(d)),
        DelegationWrite::Revoke { id, by, at } => statements.push(revoke_delegation(*id, by, *at)),
        DelegationWrite::Take { token, record } => {
            statements.push(super::insert_token(record)?);
            statements.push(insert_delegated_token(token));
        }
    }
    Ok(statements)
}

fn insert_delegation<D: Dialect>(d: &Delegation) -> Statement<'_, D> {
    let values = vec![
        Value::Uuid(Some(d.id)),
        Value::Uuid(Some(d.demande_id)),
        Value::Text(Some(&d.editor)),
        Value::Text(Some(&d.granted_by)),
        Value::Time(Some(d.granted_at)),
        Value::Text(d.revoked_by.as_deref()),
        Value::Time(d.revoked_at),
    ];
    let head = "INSERT INTO delegations (id, demande_id, editor, granted_by, granted_at, revoked_by, revoked_at)";
    Statement::insert(head, [values])
}

fn revoke_delegation<'a, D: Dialect>(id: Uuid, by: &'a str, at: DateTime<Utc>) -> Statement<'a, D> {
    let text = [
        "UPDATE delegations SET revoked_by = ",
        ", revoked_at = ",
        " WHERE id = ",
        " AND revoked_at IS NULL",
    ];
    let values = vec![Value::Text(Some(by)), Value::Time(Some(at)), Value::Uuid(Some(id))];
    Statement::with(&text, values)
}

fn insert_delegated_token<D: Dialect>(t: &DelegatedToken) -> Statement<'_, D> {
    let values = vec![
        Value::Uuid(Some(t.jti)),
        Value::Uuid(Some(t.delegation_id)),
        Value::Text(Some(&t.label)),
        Value::Text(Some(&t.taken_by)),
        Value::Time(Some(t.taken_at)),
    ];
    let head = "INSERT INTO delegated_tokens (jti, delegation_id, label, taken_by, taken_at)";
    Statement::insert(head, [values])
}

pub fn delegations_of<'a, D: Dialect>(demande: Uuid) -> Select<'a, D, DelegationColumns<D>, Delegation> {
    let head = format!("{DELEGATION} WHERE demande_id = ");
    let text = [head.as_str(), " ORDER BY granted_at DESC, id"];
    Statement::with(&text, vec![Value::Uuid(Some(demande))]).select(DelegationColumns::record)
}

pub fn delegations_to<D: Dialect>(editor: &str) -> Select<'_, D, DelegationColumns<D>, Delegation> {
    let head = format!("{DELEGATION} WHERE editor = ");
    let text = [head.as_str(), " AND revoked_at IS NULL ORDER BY granted_at DESC, id"];
    Statement::with(&text, vec![Value::Text(Some(editor))]).select(DelegationColumns::record)
}

pub fn delegated_tokens<'a, D: Dialect>(delegation: Uuid) -> Select<'a, D, DelegatedTokenColumns<D>, DelegatedToken> {
    let text = [
        "SELECT jti, delegation_id, label, taken_by, taken_at FROM delegated_tokens WHERE delegation_id = ",
        " ORDER BY taken_at DESC, jti",
    ];
    Statement::with(&text, vec![Value::Uuid(Some(delegation))]).select(DelegatedTokenColumns::record)
}
