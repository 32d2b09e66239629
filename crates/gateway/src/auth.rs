//! Who is calling: the bearer JWT, then its record in the store (through a short
//! cache, so that a revocation takes effect within `token_cache_ms`).

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use chrono::Utc;
use passerelle_core::{codes, ApiError};
use passerelle_store::{Store, TokenRecord};
use uuid::Uuid;

use crate::keys::KeyRing;

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    pub record: TokenRecord,
    pub scopes: HashSet<String>,
}

type Cached = (Option<TokenRecord>, Instant);

pub struct TokenLookup {
    store: Arc<dyn Store>,
    ttl: Duration,
    cache: Mutex<HashMap<Uuid, Cached>>,
}

impl TokenLookup {
    pub fn new(store: Arc<dyn Store>, ttl: Duration) -> Self {
        TokenLookup {
            store,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The token's record (unknown tokens are cached too, so they cost no query).
    pub async fn get(&self, jti: Uuid) -> Result<Option<TokenRecord>, ApiError> {
        if let Some((record, at)) = self.cache.lock().expect("token cache").get(&jti) {
            if at.elapsed() < self.ttl {
                return Ok(record.clone());
            }
        }
        let record = self.store.token(jti).await.map_err(|e| {
            tracing::error!(error = %e, "token lookup failed");
            ApiError::gateway(codes::JOURNAL_UNAVAILABLE)
        })?;
        let mut cache = self.cache.lock().expect("token cache");
        if cache.len() > 100_000 {
            cache.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        cache.insert(jti, (record.clone(), Instant::now()));
        Ok(record)
    }
}

/// The bearer token (or `X-Api-Key`, which legacy clients send).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let from_authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")));
    from_authorization
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Checks the caller's token: signature, record, revocation, expiry, IP allow-list.
pub async fn authenticate(
    keys: &KeyRing,
    lookup: &TokenLookup,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Caller, ApiError> {
    let token = bearer(headers).ok_or_else(|| ApiError::gateway(codes::TOKEN_INVALID))?;
    let claims = keys.verify(token).ok_or_else(|| ApiError::gateway(codes::TOKEN_INVALID))?;
    let jti = parse_lowercase_uuid(&claims.jti).ok_or_else(|| ApiError::gateway(codes::TOKEN_INVALID))?;
    let record = lookup.get(jti).await?.ok_or_else(|| ApiError::gateway(codes::TOKEN_INVALID))?;
    let now = Utc::now();
    if record.revoked_at.is_some_and(|at| at <= now) {
        return Err(ApiError::gateway(codes::TOKEN_REVOKED));
    }
    if record.expires_at <= now {
        return Err(ApiError::gateway(codes::TOKEN_EXPIRED));
    }
    if !ip_allowed(&record.allowed_ips, ip) {
        return Err(ApiError::gateway(codes::IP_REFUSED));
    }
    let scopes = record.scopes.iter().cloned().collect();
    Ok(Caller { record, scopes })
}

fn parse_lowercase_uuid(raw: &str) -> Option<Uuid> {
    let uuid = Uuid::parse_str(raw).ok()?;
    (uuid.hyphenated().to_string() == raw).then_some(uuid)
}

/// An empty list allows any address; entries are addresses or CIDR blocks.
pub fn ip_allowed(allowed: &[String], ip: IpAddr) -> bool {
    allowed.is_empty() || allowed.iter().any(|entry| cidr_contains(entry, ip))
}

fn cidr_contains(entry: &str, ip: IpAddr) -> bool {
    let (network, bits) = match entry.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (entry, None),
    };
    let Ok(network) = network.trim().parse::<IpAddr>() else {
        return false;
    };
    let ip = match (network, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        _ => ip,
    };
    match (network, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(
            u128::from(u32::from(n)),
            u128::from(u32::from(a)),
            bits.unwrap_or(32),
            32,
        ),
        (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(u128::from(n), u128::from(a), bits.unwrap_or(128), 128),
        _ => false,
    }
}

fn prefix_eq(network: u128, addr: u128, bits: u32, width: u32) -> bool {
    if bits > width {
        return false;
    }
    let shift = width - bits;
    shift >= 128 || (network >> shift) == (addr >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allow_lists() {
        let list = vec![
            "10.0.0.0/8".to_string(),
            "192.168.1.7".to_string(),
            "2001:db8::/32".to_string(),
        ];
        assert!(ip_allowed(&[], ip("1.2.3.4")));
        assert!(ip_allowed(&list, ip("10.200.3.4")));
        assert!(ip_allowed(&list, ip("192.168.1.7")));
        assert!(!ip_allowed(&list, ip("192.168.1.8")));
        assert!(ip_allowed(&list, ip("2001:db8::1")));
        assert!(ip_allowed(&list, ip("::ffff:10.1.1.1")));
        assert!(!ip_allowed(&list, ip("11.0.0.1")));
        assert!(ip_allowed(&["0.0.0.0/0".to_string()], ip("8.8.8.8")));
        assert!(!ip_allowed(&["garbage".to_string()], ip("8.8.8.8")));
    }

    #[test]
    fn jti_must_be_a_lowercase_uuid() {
        assert!(parse_lowercase_uuid("6f1c1a4e-2b6e-4b7a-9d1e-0c1b2a3d4e5f").is_some());
        assert!(parse_lowercase_uuid("6F1C1A4E-2B6E-4B7A-9D1E-0C1B2A3D4E5F").is_none());
        assert!(parse_lowercase_uuid("nope").is_none());
    }
}
