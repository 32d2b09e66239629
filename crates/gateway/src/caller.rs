//! Who calls. On token routes, the layer `identify` checks the Passerelle token
//! (signature, record, revocation, expiry, IP) before the rate limit; on FranceConnect
//! routes it only takes the citizen's token, so that the rate limit (by the token's
//! hash) runs before FranceConnect is asked. The handler then extracts a `Caller`:
//! `Caller::Token`, or `Caller::Citizen` once the source has checked the token.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use passerelle_bouquet::Mode;
use passerelle_core::{codes, ApiError, Civility};
use passerelle_providers::france_connect::USER_ID;
use passerelle_store::CallerId;
use sha2::{Digest, Sha256};

use crate::auth;
use crate::concern::{self, concern, Inner, Next};
use crate::config::GatewayConfig;
use crate::error::Errors;
use crate::limits::Quota;
use crate::record::{Matched, Recorder};
use crate::throttle::{RateKey, Rates};
use crate::Served;

#[derive(Debug, Clone)]
pub enum Caller {
    Token(auth::Caller),
    Citizen(Box<Citizen>),
}

/// A person calling through FranceConnect: a key of their own (a salted hash of their
/// identity, so that two citizens' calls are told apart and neither is named), the
/// scopes of their FranceConnect token, and the identity the call is about.
#[derive(Debug, Clone)]
pub struct Citizen {
    pub id: String,
    pub scopes: HashSet<String>,
    pub identity: Identity,
}

/// The identity FranceConnect gave, checked; or, from a recorded source, as the
/// query parameters its cases are matched on.
#[derive(Debug, Clone)]
pub enum Identity {
    Checked(Civility),
    Recorded(Vec<(String, String)>),
}

/// What a source says of a FranceConnect token.
#[derive(Debug, Clone)]
pub struct CitizenCheck {
    pub scopes: HashSet<String>,
    pub identity: Identity,
}

impl Caller {
    /// Whether the caller holds `scope`.
    pub fn holds(&self, scope: &str) -> bool {
        match self {
            Caller::Token(token) => token.record.scopes.iter().any(|s| s == scope),
            Caller::Citizen(citizen) => citizen.scopes.contains(scope),
        }
    }

    pub fn id(&self) -> CallerId {
        match self {
            Caller::Token(token) => CallerId::Token(token.record.jti),
            Caller::Citizen(citizen) => CallerId::Citizen(citizen.id.clone()),
        }
    }

    /// Who upstreams are told asks: the token, or for every FranceConnect call the
    /// contract's one fixed user.
    pub fn upstream_id(&self) -> String {
        match self {
            Caller::Token(token) => token.record.jti.to_string(),
            Caller::Citizen(_) => USER_ID.to_string(),
        }
    }

    /// The key of this caller's in-flight locks.
    pub fn lock_key(&self) -> String {
        match self {
            Caller::Token(token) => token.record.jti.to_string(),
            Caller::Citizen(citizen) => format!("citizen:{}", citizen.id),
        }
    }
}

/// A FranceConnect token presented on a FranceConnect route, not yet checked.
#[derive(Clone)]
struct Presented(String);

concern!(
    /// Who calls.
    Identify = identify
);

async fn identify<S: Inner>(served: Arc<Served>, mut request: Request, next: Next<S>) -> Response {
    let Some(peer) = concern::peer(&request) else {
        return Errors::from(ApiError::gateway(codes::INTERNAL)).into_response();
    };
    let Some(matched) = request.extensions().get::<Matched>().cloned() else {
        return Errors::from(ApiError::gateway(codes::INTERNAL)).into_response();
    };
    let config = &served.app.config;
    let headers = request.headers();
    let mut sunset = None;
    let (rate, presented) = if matched.endpoint.mode == Mode::FranceConnect {
        let Some(token) = auth::bearer(headers) else {
            return Errors::from(ApiError::gateway(codes::TOKEN_INVALID)).into_response();
        };
        let rate = Rates(vec![RateKey {
            key: token_hash(token),
            quota: Quota::per_second(config.limits.per_second),
        }]);
        (rate, Some(Presented(token.to_string())))
    } else {
        let ip = match request.extensions().get::<ClientIp>() {
            Some(ClientIp(ip)) => *ip,
            None => client_ip(config, headers, peer),
        };
        let caller = match auth::authenticate_or_name(&served.app.tokens, headers, ip).await {
            // A token opens the routes of its own bouquet only.
            Ok(caller) if caller.record.bouquet == served.bouquet.name => caller,
            Ok(_) => return Errors::from(ApiError::gateway(codes::TOKEN_INVALID)).into_response(),
            Err((e, refused)) => {
                // Its holders see the refusals of their own token in the portal.
                if let (Some(jti), Some(recorder)) = (refused, request.extensions().get::<Recorder>()) {
                    recorder.update(|r| r.caller = Some(CallerId::Token(jti)));
                }
                return Errors::from(e).into_response();
            }
        };
        served.app.addresses.saw(caller.record.jti, ip);
        let rate = token_rate(&served, &matched, &caller);
        sunset = sunset_of(caller.record.expires_at, Utc::now());
        if let Some(recorder) = request.extensions().get::<Recorder>() {
            recorder.update(|r| r.caller = Some(CallerId::Token(caller.record.jti)));
        }
        request.extensions_mut().insert(Caller::Token(caller));
        (rate, None)
    };
    request.extensions_mut().insert(rate);
    if let Some(presented) = presented {
        request.extensions_mut().insert(presented);
    }
    let mut response = next.run(request).await;
    if let Some(value) = sunset {
        response.headers_mut().insert(SUNSET, value);
    }
    response
}

/// RFC 8594's header: the date after which the token will be refused.
const SUNSET: HeaderName = HeaderName::from_static("sunset");
/// A token's last days, when every answer says when it ends (integrators learn of an
/// expiry from their own logs, not from a failure in production).
pub const SUNSET_DAYS: i64 = 30;

/// `Sunset: <HTTP-date>` for a token in its last `SUNSET_DAYS`.
fn sunset_of(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> Option<HeaderValue> {
    if expires_at - now > chrono::Duration::days(SUNSET_DAYS) {
        return None;
    }
    HeaderValue::from_str(&expires_at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()).ok()
}

/// A token's quotas. Where the bouquet groups endpoints (API Entreprise): the group's,
/// then the habilitation's own per-minute limit over all its calls when it has one.
/// Elsewhere: its own per-minute limit, else the gateway's default per second.
fn token_rate(served: &Served, matched: &Matched, caller: &auth::Caller) -> Rates {
    let jti = caller.record.jti;
    let own = caller.record.rate_limit_per_minute.map(|per_minute| RateKey {
        key: jti.to_string(),
        quota: Quota::per_minute(per_minute),
    });
    if let Some(group) = (served.bouquet.throttle)(matched.endpoint) {
        let group = RateKey {
            key: format!("{jti}|{}", group.name),
            quota: Quota::per_minute(group.per_minute),
        };
        return Rates(std::iter::once(group).chain(own).collect());
    }
    // Legacy calls have their own budget, as the contract gives v2 keys theirs.
    let suffix = if matched.legacy.is_some() { "|legacy" } else { "" };
    let default = || RateKey {
        key: format!("{jti}{suffix}"),
        quota: Quota::per_second(served.app.config.limits.per_second),
    };
    Rates(vec![own.unwrap_or_else(default)])
}

impl FromRequestParts<Arc<Served>> for Caller {
    type Rejection = Errors;

    async fn from_request_parts(parts: &mut Parts, served: &Arc<Served>) -> Result<Caller, Errors> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let (Some(Presented(token)), Some(matched)) =
            (parts.extensions.get::<Presented>(), parts.extensions.get::<Matched>())
        else {
            return Err(ApiError::gateway(codes::TOKEN_INVALID).into());
        };
        let check = served.app.source.citizen(matched.endpoint, token).await?;
        let citizen = Citizen {
            id: citizen_id(&served.app.salt, &check.identity),
            scopes: check.scopes,
            identity: check.identity,
        };
        if let Some(recorder) = parts.extensions.get::<Recorder>() {
            recorder.update(|r| r.caller = Some(CallerId::Citizen(citizen.id.clone())));
        }
        Ok(Caller::Citizen(Box::new(citizen)))
    }
}

/// A citizen's key: the store's secret salt and their identity, hashed. The same
/// person gets the same key on every replica; without the salt it names nobody.
pub fn citizen_id(salt: &[u8], identity: &Identity) -> String {
    let canonical = match identity {
        Identity::Checked(civility) => civility.canonical(),
        Identity::Recorded(pairs) => {
            let mut pairs = pairs.clone();
            pairs.sort();
            pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        }
    };
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(b":citizen:");
    hasher.update(canonical.as_bytes());
    hex::encode(&hasher.finalize()[..16])
}

/// The rate-limit key of a FranceConnect token: its hash, so the token itself is kept
/// nowhere.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The caller's IP as the per-IP guard found it, for the inner layers.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// The caller's IP: the peer, or, when the peer is a trusted proxy, the last
/// `X-Forwarded-For` hop that is not one.
pub fn client_ip(config: &GatewayConfig, headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    forwarded_ip(&config.trusted_proxies, headers, peer)
}

/// `client_ip` for a list of trusted proxies (the web pages' own rate limits).
pub fn forwarded_ip(trusted_proxies: &[String], headers: &HeaderMap, peer: SocketAddr) -> IpAddr {
    let trusted = |ip: IpAddr| passerelle_tokens::ip_listed(trusted_proxies, ip);
    let mut ip = peer.ip();
    if !trusted(ip) {
        return ip;
    }
    // From the nearest hop back: every trusted proxy passes the call on, the first
    // address that is not one is the caller. A hop that is no address ends the walk.
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(hop) => {
                ip = hop;
                if !trusted(hop) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    ip
}

#[cfg(test)]
mod client_ip_tests {
    use axum::http::HeaderValue;

    use super::*;

    fn ip_of(trusted: &[&str], peer: &str, forwarded: Option<&str>) -> String {
        let config = GatewayConfig {
            trusted_proxies: trusted.iter().map(|s| s.to_string()).collect(),
            ..GatewayConfig::default()
        };
        let mut headers = HeaderMap::new();
        if let Some(f) = forwarded {
            headers.insert("x-forwarded-for", HeaderValue::from_str(f).unwrap());
        }
        let peer: SocketAddr = format!("{peer}:4000").parse().unwrap();
        client_ip(&config, &headers, peer).to_string()
    }

    #[test]
    fn the_header_counts_only_from_a_trusted_proxy() {
        assert_eq!(ip_of(&[], "10.0.0.5", Some("203.0.113.7")), "10.0.0.5");
        assert_eq!(ip_of(&["10.0.0.0/8"], "192.0.2.9", Some("203.0.113.7")), "192.0.2.9");
        assert_eq!(ip_of(&["10.0.0.0/8"], "10.0.0.5", Some("203.0.113.7")), "203.0.113.7");
        assert_eq!(ip_of(&["10.0.0.0/8"], "10.0.0.5", None), "10.0.0.5");
    }

    #[test]
    fn the_caller_is_the_last_hop_no_trusted_proxy_added() {
        // A client forging the start of the chain does not choose its address.
        let chain = "198.51.100.1, 203.0.113.7, 10.0.0.4";
        assert_eq!(ip_of(&["10.0.0.0/8"], "10.0.0.5", Some(chain)), "203.0.113.7");
        assert_eq!(
            ip_of(&["10.0.0.0/8"], "10.0.0.5", Some("garbage, 10.0.0.4")),
            "10.0.0.4"
        );
        assert_eq!(ip_of(&["10.0.0.0/8"], "10.0.0.5", Some("2001:db8::1")), "2001:db8::1");
    }
}
