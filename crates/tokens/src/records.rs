//! Token records, the source of truth: issuing one (with the JWT that names it),
//! listing, revoking and prolonging them.

use chrono::{DateTime, Duration, Utc};
use passerelle_store::TokenRecord;
use uuid::Uuid;

use crate::{Backend, Claims, KeyRing};

/// What an operator asks for when issuing a token.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    pub name: String,
    pub siret: String,
    /// The bouquet whose routes the token opens (`particulier`).
    pub bouquet: String,
    pub scopes: Vec<String>,
    pub expires_in_days: i64,
    pub rate_limit_per_minute: Option<u32>,
    pub allowed_ips: Vec<String>,
    /// The address of the habilitation's data protection officer (délégué à la
    /// protection des données), shown to the citizens whose data it fetches.
    pub dpo_email: Option<String>,
}

/// The stores keep microseconds: a record returned is the one read back.
pub(crate) fn to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap_or(at)
}

/// 18 months, the contract's default lifetime.
pub const DEFAULT_DAYS: i64 = 548;

/// Stores the token's record and returns it with its JWT.
pub async fn issue(
    store: &Backend,
    keys: &KeyRing,
    request: TokenRequest,
    now: DateTime<Utc>,
) -> anyhow::Result<(TokenRecord, String)> {
    let now = to_micros(now);
    let record = TokenRecord {
        jti: Uuid::new_v4(),
        name: request.name,
        siret: request.siret,
        bouquet: request.bouquet,
        scopes: request.scopes,
        issued_at: now,
        expires_at: now + Duration::days(request.expires_in_days),
        revoked_at: None,
        rate_limit_per_minute: request.rate_limit_per_minute,
        allowed_ips: request.allowed_ips,
        dpo_email: request.dpo_email,
    };
    let jwt = keys.sign(&claims_of(&record))?;
    store.insert_token(&record).await?;
    Ok((record, jwt))
}

/// The token's JWT, signed again from its record by the newest key (Ed25519 signs
/// deterministically: the same record and key give the same string).
pub fn jwt_of(keys: &KeyRing, record: &TokenRecord) -> anyhow::Result<String> {
    keys.sign(&claims_of(record))
}

fn claims_of(record: &TokenRecord) -> Claims {
    Claims {
        uid: record.jti.to_string(),
        jti: record.jti.to_string(),
        scopes: record.scopes.clone(),
        sub: record.name.clone(),
        iat: record.issued_at.timestamp(),
        exp: record.expires_at.timestamp(),
        version: "1.0".into(),
    }
}

/// Every token record.
pub async fn list(store: &Backend) -> anyhow::Result<Vec<TokenRecord>> {
    store.tokens().await
}

/// Revokes the token as of `now`; an error when there is no such token.
pub async fn revoke(store: &Backend, jti: Uuid, now: DateTime<Utc>) -> anyhow::Result<()> {
    anyhow::ensure!(store.revoke_token(jti, now).await?, "no token {jti}");
    Ok(())
}

/// Makes the token expire `days` after `now` and returns the new expiry; an error when
/// there is no such token.
pub async fn prolong(store: &Backend, jti: Uuid, days: i64, now: DateTime<Utc>) -> anyhow::Result<DateTime<Utc>> {
    let until = now + Duration::days(days);
    anyhow::ensure!(store.set_token_expiry(jti, until).await?, "no token {jti}");
    Ok(until)
}

/// Where a token stands, as a listing shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    Active,
    Revoked,
    Expired,
}

impl TokenState {
    /// A revocation wins over an expiry, whatever their dates.
    pub fn of(record: &TokenRecord, now: DateTime<Utc>) -> TokenState {
        match (record.revoked_at, record.expires_at < now) {
            (Some(_), _) => TokenState::Revoked,
            (None, true) => TokenState::Expired,
            (None, false) => TokenState::Active,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TokenState::Active => "active",
            TokenState::Revoked => "revoked",
            TokenState::Expired => "expired",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{request, Scratch};

    #[tokio::test]
    async fn issue_stores_the_record_its_jwt_names() {
        let scratch = Scratch::new().await;
        let keys = scratch.keys().await;
        let now = to_micros(Utc::now());
        let (record, jwt) = issue(scratch.store(), &keys, request(), now).await.unwrap();
        assert_eq!(scratch.store().token(record.jti).await.unwrap().as_ref(), Some(&record));
        assert_eq!(record.expires_at, now + Duration::days(30));
        let claims = keys.verify(&jwt).unwrap();
        assert_eq!(claims, claims_of(&record));
        assert_eq!(
            (claims.sub.as_str(), claims.exp),
            ("Mairie de test", record.expires_at.timestamp())
        );
    }

    #[tokio::test]
    async fn revoke_prolong_and_list() {
        let scratch = Scratch::new().await;
        let keys = scratch.keys().await;
        let now = to_micros(Utc::now());
        let (record, _) = issue(scratch.store(), &keys, request(), now).await.unwrap();
        let until = prolong(scratch.store(), record.jti, 90, now).await.unwrap();
        assert_eq!(until, now + Duration::days(90));
        let listed = list(scratch.store()).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].expires_at, until);
        assert_eq!(TokenState::of(&listed[0], now), TokenState::Active);
        revoke(scratch.store(), record.jti, now).await.unwrap();
        let listed = list(scratch.store()).await.unwrap();
        assert_eq!(TokenState::of(&listed[0], now).as_str(), "revoked");
    }

    #[tokio::test]
    async fn revoking_or_prolonging_an_unknown_token_is_an_error() {
        let scratch = Scratch::new().await;
        let jti = Uuid::new_v4();
        let error = revoke(scratch.store(), jti, Utc::now()).await.unwrap_err();
        assert_eq!(error.to_string(), format!("no token {jti}"));
        assert!(prolong(scratch.store(), jti, 1, Utc::now()).await.is_err());
    }

    #[tokio::test]
    async fn a_revocation_wins_over_an_expiry() {
        let scratch = Scratch::new().await;
        let now = Utc::now();
        let (mut record, _) = issue(scratch.store(), &scratch.keys().await, request(), now)
            .await
            .unwrap();
        record.expires_at = now - Duration::seconds(1);
        assert_eq!(TokenState::of(&record, now), TokenState::Expired);
        record.revoked_at = Some(now + Duration::days(1));
        assert_eq!(TokenState::of(&record, now), TokenState::Revoked);
    }
}
