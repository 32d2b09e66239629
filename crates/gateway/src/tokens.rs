//! Issuing tokens: a store record (the source of truth) and the JWT that names it.

use chrono::{DateTime, Duration, Utc};
use passerelle_store::{Store, TokenRecord};
use uuid::Uuid;

use crate::keys::{Claims, KeyRing};

/// What an operator asks for when issuing a token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub name: String,
    pub siret: String,
    pub scopes: Vec<String>,
    pub expires_in_days: i64,
    pub rate_limit_per_minute: Option<u32>,
    pub allowed_ips: Vec<String>,
}

/// 18 months, the contract's default lifetime.
pub const DEFAULT_DAYS: i64 = 548;

pub async fn issue(
    store: &dyn Store,
    keys: &KeyRing,
    request: TokenRequest,
    now: DateTime<Utc>,
) -> anyhow::Result<(TokenRecord, String)> {
    let record = TokenRecord {
        jti: Uuid::new_v4(),
        name: request.name,
        siret: request.siret,
        bouquet: "particulier".into(),
        scopes: request.scopes,
        issued_at: now,
        expires_at: now + Duration::days(request.expires_in_days),
        revoked_at: None,
        rate_limit_per_minute: request.rate_limit_per_minute,
        allowed_ips: request.allowed_ips,
    };
    let claims = Claims {
        uid: record.jti.to_string(),
        jti: record.jti.to_string(),
        scopes: record.scopes.clone(),
        sub: record.name.clone(),
        iat: record.issued_at.timestamp(),
        exp: record.expires_at.timestamp(),
        version: "1.0".into(),
    };
    let jwt = keys.sign(&claims)?;
    store.insert_token(&record).await?;
    Ok((record, jwt))
}
