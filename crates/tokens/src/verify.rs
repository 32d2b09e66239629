//! The check of a presented JWT: our signature (once per token string), a lower-case
//! UUID `jti`, its record (through the cache), revocation, expiry and the record's IP
//! allow-list.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use passerelle_store::TokenRecord;
use uuid::Uuid;

use crate::cache::RecordCache;
use crate::{ip_allowed, Backend, KeyRing};

/// Why a presented token is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Not signed by one of our keys, a `jti` that is not a lower-case UUID, or no record.
    Invalid,
    /// A token of ours, revoked (its id: the refusal is its holders' to see).
    Revoked(Uuid),
    Expired(Uuid),
    /// The caller's address is not on the token's allow-list.
    IpRefused(Uuid),
    /// The record could not be read (the store's error): the token is neither good nor bad.
    StoreUnavailable(String),
}

impl Rejection {
    /// The token refused, when it is one of ours (its signature and record are good).
    pub fn token(&self) -> Option<Uuid> {
        match self {
            Rejection::Revoked(jti) | Rejection::Expired(jti) | Rejection::IpRefused(jti) => Some(*jti),
            Rejection::Invalid | Rejection::StoreUnavailable(_) => None,
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Invalid => f.write_str("invalid token"),
            Rejection::Revoked(_) => f.write_str("revoked token"),
            Rejection::Expired(_) => f.write_str("expired token"),
            Rejection::IpRefused(_) => f.write_str("address not allowed for this token"),
            Rejection::StoreUnavailable(why) => write!(f, "token store unavailable: {why}"),
        }
    }
}

impl std::error::Error for Rejection {}

/// Checks presented tokens against the key ring and the store.
pub struct Verifier {
    keys: KeyRing,
    records: RecordCache,
    signed: SignedTokens,
}

/// Token strings whose signature holds, with their `jti`. A token's signature never
/// stops holding (the ring only gains keys), so it is checked once: the Ed25519 check
/// was the dearest step of a call. What can change — revocation, expiry, the
/// allow-list — is the record's, read through its own cache at every call.
/// Keyed by the whole token (kilobytes): hashed with foldhash, several times faster
/// than the default SipHash there. Only tokens whose signature held are inserted, so
/// no one can choose keys that collide.
#[derive(Default)]
struct SignedTokens(RwLock<HashMap<String, Uuid, foldhash::fast::RandomState>>);

/// At most this many tokens are remembered (a few megabytes); past it, all are
/// forgotten and checked again.
const SIGNED_TOKENS_MAX: usize = 4096;

impl SignedTokens {
    fn jti(&self, jwt: &str) -> Option<Uuid> {
        self.0.read().expect("signed tokens").get(jwt).copied()
    }

    fn keep(&self, jwt: &str, jti: Uuid) {
        let mut tokens = self.0.write().expect("signed tokens");
        if tokens.len() >= SIGNED_TOKENS_MAX {
            tokens.clear();
        }
        tokens.insert(jwt.to_string(), jti);
    }
}

impl Verifier {
    /// `ttl`: how long a record read from the store is trusted, hence how late a
    /// revocation made elsewhere may be seen.
    pub fn new(store: Arc<Backend>, keys: KeyRing, ttl: Duration) -> Verifier {
        Verifier {
            keys,
            records: RecordCache::new(store, ttl),
            signed: SignedTokens::default(),
        }
    }

    /// The ring the tokens are checked with (and may be signed with).
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The record of the token `jwt`, presented from `ip`, if the token is good now.
    pub async fn verify(&self, jwt: &str, ip: IpAddr) -> Result<Arc<TokenRecord>, Rejection> {
        let jti = match self.signed.jti(jwt) {
            Some(jti) => jti,
            None => {
                let claims = self.keys.verify(jwt).ok_or(Rejection::Invalid)?;
                let jti = parse_lowercase_uuid(&claims.jti).ok_or(Rejection::Invalid)?;
                self.signed.keep(jwt, jti);
                jti
            }
        };
        self.record(jti, ip).await
    }

    /// The record of the token with id `jti` (named in a link its call produced), if
    /// the token is good now for `ip`.
    pub async fn holder(&self, jti: &str, ip: IpAddr) -> Result<Arc<TokenRecord>, Rejection> {
        let jti = parse_lowercase_uuid(jti).ok_or(Rejection::Invalid)?;
        self.record(jti, ip).await
    }

    async fn record(&self, jti: Uuid, ip: IpAddr) -> Result<Arc<TokenRecord>, Rejection> {
        let record = self
            .records
            .get(jti)
            .await
            .map_err(|e| Rejection::StoreUnavailable(e.to_string()))?
            .ok_or(Rejection::Invalid)?;
        admit(record, Utc::now(), ip)
    }

    /// Drops the cached record of `jti`: its next check reads the store.
    pub fn forget(&self, jti: Uuid) {
        self.records.forget(jti);
    }
}

fn admit(record: Arc<TokenRecord>, now: DateTime<Utc>, ip: IpAddr) -> Result<Arc<TokenRecord>, Rejection> {
    if record.revoked_at.is_some_and(|at| at <= now) {
        return Err(Rejection::Revoked(record.jti));
    }
    if record.expires_at <= now {
        return Err(Rejection::Expired(record.jti));
    }
    if !ip_allowed(&record.allowed_ips, ip) {
        return Err(Rejection::IpRefused(record.jti));
    }
    Ok(record)
}

fn parse_lowercase_uuid(raw: &str) -> Option<Uuid> {
    let uuid = Uuid::parse_str(raw).ok()?;
    (uuid.hyphenated().to_string() == raw).then_some(uuid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{claims, request, Scratch};
    use crate::{issue, revoke, TokenRequest};

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    async fn verifier(scratch: &Scratch, ttl: Duration) -> Verifier {
        Verifier::new(scratch.arc(), scratch.keys().await, ttl)
    }

    async fn issued(scratch: &Scratch, verifier: &Verifier) -> (TokenRecord, String) {
        issue(scratch.store(), verifier.keys(), request(), Utc::now())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_good_token_gives_its_record() {
        let scratch = Scratch::new().await;
        let verifier = verifier(&scratch, Duration::from_secs(4)).await;
        let (record, jwt) = issued(&scratch, &verifier).await;
        assert_eq!(verifier.verify(&jwt, HOME).await, Ok(Arc::new(record)));
    }

    #[tokio::test]
    async fn garbage_foreign_keys_and_unknown_records_are_invalid() {
        let (scratch, other) = (Scratch::new().await, Scratch::new().await);
        let verifier = verifier(&scratch, Duration::from_secs(4)).await;
        let foreign = issue(other.store(), &other.keys().await, request(), Utc::now())
            .await
            .unwrap()
            .1;
        let unknown = verifier.keys().sign(&claims(&Uuid::new_v4().to_string())).unwrap();
        for jwt in ["", "not-a-jwt", "a.b.c", &foreign, &unknown] {
            assert_eq!(verifier.verify(jwt, HOME).await, Err(Rejection::Invalid), "{jwt}");
        }
    }

    /// A token whose signature was checked once is known by its exact string: a forged
    /// copy (one character changed) is checked, and refused; a revocation still counts.
    #[tokio::test]
    async fn a_remembered_signature_covers_its_exact_token_only() {
        let scratch = Scratch::new().await;
        let verifier = verifier(&scratch, Duration::ZERO).await;
        let (record, jwt) = issued(&scratch, &verifier).await;
        for _ in 0..2 {
            assert_eq!(verifier.verify(&jwt, HOME).await, Ok(Arc::new(record.clone())));
        }
        assert_eq!(verifier.signed.jti(&jwt), Some(record.jti));
        let mut forged = jwt.clone();
        let last = forged.pop().unwrap();
        forged.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(verifier.verify(&forged, HOME).await, Err(Rejection::Invalid));
        assert_eq!(verifier.signed.jti(&forged), None, "refused tokens are not remembered");
        revoke(scratch.store(), record.jti, Utc::now()).await.unwrap();
        assert!(matches!(verifier.verify(&jwt, HOME).await, Err(Rejection::Revoked(_))));
    }

    #[test]
    fn remembered_signatures_stay_bounded() {
        let signed = SignedTokens::default();
        for i in 0..SIGNED_TOKENS_MAX + 10 {
            signed.keep(&format!("token-{i}"), Uuid::nil());
        }
        assert!(signed.0.read().unwrap().len() <= SIGNED_TOKENS_MAX);
        assert_eq!(
            signed.jti(&format!("token-{}", SIGNED_TOKENS_MAX + 9)),
            Some(Uuid::nil())
        );
    }

    #[tokio::test]
    async fn the_jti_must_be_a_lower_case_uuid() {
        let scratch = Scratch::new().await;
        let verifier = verifier(&scratch, Duration::from_secs(4)).await;
        let (record, _) = issued(&scratch, &verifier).await;
        let upper = verifier
            .keys()
            .sign(&claims(&record.jti.to_string().to_uppercase()))
            .unwrap();
        assert_eq!(verifier.verify(&upper, HOME).await, Err(Rejection::Invalid));
        let lower = verifier.keys().sign(&claims(&record.jti.to_string())).unwrap();
        assert_eq!(verifier.verify(&lower, HOME).await, Ok(Arc::new(record)));
        assert!(parse_lowercase_uuid("nope").is_none());
    }

    #[tokio::test]
    async fn an_expired_token_is_refused() {
        let scratch = Scratch::new().await;
        let verifier = verifier(&scratch, Duration::ZERO).await;
        let (record, jwt) = issued(&scratch, &verifier).await;
        let past = Utc::now() - chrono::Duration::seconds(1);
        scratch.store().set_token_expiry(record.jti, past).await.unwrap();
        assert!(matches!(verifier.verify(&jwt, HOME).await, Err(Rejection::Expired(_))));
    }

    #[tokio::test]
    async fn a_revocation_is_seen_once_the_cached_record_is_stale() {
        let scratch = Scratch::new().await;
        let verifier = verifier(&scratch, Duration::from_millis(300)).await;
        let (record, jwt) = issued(&scratch, &verifier).await;
        assert!(verifier.verify(&jwt, HOME).await.is_ok());
        revoke(scratch.store(), record.jti, Utc::now()).await.unwrap();
        assert!(verifier.verify(&jwt, HOME).await.is_ok(), "still cached");
        tokio::time::sleep(Duration::from_millis(350)).await;
        assert!(matches!(verifier.verify(&jwt, HOME).await, Err(Rejection::Revoked(_))));
    }

    #[tokio::test]
    async fn forget_makes_a_revocation_seen_at_once() {
        let scratch = Scratch::new().await;
        let verifier = verifier(&scratch, Duration::from_secs(3600)).await;
        let (record, jwt) = issued(&scratch, &verifier).await;
        assert!(verifier.verify(&jwt, HOME).await.is_ok());
        revoke(scratch.store(), record.jti, Utc::now()).await.unwrap();
        assert!(verifier.verify(&jwt, HOME).await.is_ok(), "still cached");
        verifier.forget(record.jti);
        assert!(matches!(verifier.verify(&jwt, HOME).await, Err(Rejection::Revoked(_))));
    }

    #[tokio::test]
    async fn the_allow_list_is_checked_against_the_callers_address() {
        let scratch = Scratch::new().await;
        let verifier = verifier(&scratch, Duration::from_secs(4)).await;
        let allowed = TokenRequest {
            allowed_ips: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()],
            dpo_email: None,
            ..request()
        };
        let (_, jwt) = issue(scratch.store(), verifier.keys(), allowed, Utc::now())
            .await
            .unwrap();
        for inside in ["10.1.2.3", "::ffff:10.9.9.9", "2001:db8::7"] {
            assert!(verifier.verify(&jwt, inside.parse().unwrap()).await.is_ok(), "{inside}");
        }
        for outside in ["192.0.2.1", "2001:db9::1"] {
            let refused = verifier.verify(&jwt, outside.parse().unwrap()).await;
            assert!(matches!(refused, Err(Rejection::IpRefused(_))), "{outside}");
        }
    }
}
