//! The statements of the back-office's tables, for either backend.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use uuid::Uuid;

use super::audit::within;
use super::habilitation::{DemandeColumns, DEMANDE_COLUMNS};
use super::{Dialect, Select, Statement, TokenColumns, Value};
use crate::{DemandeChange, DemandeRecord, OperatorAction, TokenRecord};

#[derive(FromRow)]
pub struct ActionColumns<D: Dialect> {
    id: D::Uuid,
    at: DateTime<Utc>,
    admin: String,
    action: String,
    agent: Option<String>,
    demande_id: Option<D::Uuid>,
    jti: Option<D::Uuid>,
    path: String,
}

impl<D: Dialect> ActionColumns<D> {
    fn record(self) -> anyhow::Result<OperatorAction> {
        Ok(OperatorAction {
            id: self.id.into(),
            at: self.at,
            admin: self.admin,
            action: self.action,
            agent: self.agent,
            demande_id: self.demande_id.map(Into::into),
            jti: self.jti.map(Into::into),
            path: self.path,
        })
    }
}

pub fn insert_operator_action<D: Dialect>(a: &OperatorAction) -> Statement<'_, D> {
    let values = vec![
        Value::Uuid(Some(a.id)),
        Value::Time(Some(a.at)),
        Value::Text(Some(&a.admin)),
        Value::Text(Some(&a.action)),
        Value::Text(a.agent.as_deref()),
        Value::Uuid(a.demande_id),
        Value::Uuid(a.jti),
        Value::Text(Some(&a.path)),
    ];
    Statement::insert(
        "INSERT INTO operator_actions (id, at, admin, action, agent, demande_id, jti, path)",
        [values],
    )
}

pub fn operator_actions<'a, D: Dialect>(limit: u32) -> Select<'a, D, ActionColumns<D>, OperatorAction> {
    let text = [
        "SELECT id, at, admin, action, agent, demande_id, jti, path FROM operator_actions \
         ORDER BY at DESC, seq DESC LIMIT ",
        "",
    ];
    Statement::with(&text, vec![Value::BigInt(i64::from(limit))]).select(ActionColumns::record)
}

/// `change`'s statements (the guarded demande write first), then the replacement
/// token and the action.
pub fn commit_operator<'a, D: Dialect>(
    change: &'a DemandeChange,
    issued: Option<&'a TokenRecord>,
    action: &'a OperatorAction,
) -> anyhow::Result<Vec<Statement<'a, D>>> {
    let mut statements = super::commit_demande(change)?;
    if let Some(token) = issued {
        statements.push(super::insert_token(token)?);
    }
    statements.push(insert_operator_action(action));
    Ok(statements)
}

pub fn all_demandes<'a, D: Dialect>() -> Select<'a, D, DemandeColumns<D>, DemandeRecord> {
    let text = format!("SELECT {DEMANDE_COLUMNS} FROM demandes ORDER BY updated_at DESC, number DESC");
    Statement::new(&text).select(DemandeColumns::record)
}

pub fn organisation_demandes<D: Dialect>(siret: &str) -> Select<'_, D, DemandeColumns<D>, DemandeRecord> {
    let head = format!("SELECT {DEMANDE_COLUMNS} FROM demandes WHERE siret = ");
    let text = [head.as_str(), " ORDER BY updated_at DESC, number DESC"];
    Statement::with(&text, vec![Value::Text(Some(siret))]).select(DemandeColumns::record)
}

pub fn demande_numbered<'a, D: Dialect>(number: i64) -> Select<'a, D, DemandeColumns<D>, DemandeRecord> {
    let head = format!("SELECT {DEMANDE_COLUMNS} FROM demandes WHERE number = ");
    Statement::with(&[head.as_str(), ""], vec![Value::BigInt(number)]).select(DemandeColumns::record)
}

pub fn tokens_in<'a, D: Dialect>(jtis: &[Uuid]) -> Select<'a, D, TokenColumns<D>, TokenRecord> {
    let mut q = Statement::new("SELECT * FROM tokens WHERE jti IN (");
    within(&mut q, jtis.iter().map(|jti| Value::Uuid(Some(*jti))));
    q.push(")");
    q.select(TokenColumns::record)
}
