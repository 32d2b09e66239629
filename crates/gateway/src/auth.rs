//! Who is calling: the bearer token, checked by `passerelle_tokens`, whose refusals
//! become the contract's error codes.

use std::net::IpAddr;
use std::sync::Arc;

use axum::http::HeaderMap;
use passerelle_core::{codes, ApiError};
use passerelle_store::TokenRecord;
use passerelle_tokens::{Rejection, Verifier};

/// An authenticated caller: its token's record as cached (cloned for nothing).
#[derive(Debug, Clone)]
pub struct Caller {
    pub record: Arc<TokenRecord>,
}

/// The bearer token (or `X-Api-Key`, which legacy clients send).
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let from_authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            // RFC 7235: the scheme's case does not matter.
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then_some(token)
        });
    from_authorization
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Checks the caller's token: signature, record, revocation, expiry, IP allow-list.
pub async fn authenticate(tokens: &Verifier, headers: &HeaderMap, ip: IpAddr) -> Result<Caller, ApiError> {
    authenticate_or_name(tokens, headers, ip)
        .await
        .map_err(|(error, _)| error)
}

/// `authenticate`; a refusal also names the token refused when it is one of ours
/// (revoked, expired, from an address it does not allow), for its holders' usage.
pub async fn authenticate_or_name(
    tokens: &Verifier,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Caller, (ApiError, Option<uuid::Uuid>)> {
    let token = bearer(headers).ok_or_else(|| (ApiError::gateway(codes::TOKEN_INVALID), None))?;
    let record = tokens.verify(token, ip).await.map_err(|r| {
        let jti = r.token();
        (refusal(r), jti)
    })?;
    Ok(Caller { record })
}

pub(crate) fn refusal(rejection: Rejection) -> ApiError {
    let code = match rejection {
        Rejection::Invalid => codes::TOKEN_INVALID,
        Rejection::Revoked(_) => codes::TOKEN_REVOKED,
        Rejection::Expired(_) => codes::TOKEN_EXPIRED,
        Rejection::IpRefused(_) => codes::IP_REFUSED,
        Rejection::StoreUnavailable(why) => {
            tracing::error!(error = %why, "token lookup failed");
            codes::JOURNAL_UNAVAILABLE
        }
    };
    ApiError::gateway(code)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_or_api_key() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert("x-api-key", HeaderValue::from_static(" legacy "));
        assert_eq!(bearer(&headers), Some("legacy"));
        headers.insert("authorization", HeaderValue::from_static("bearer jwt"));
        assert_eq!(bearer(&headers), Some("jwt"));
        headers.insert("authorization", HeaderValue::from_static("BEARER jwt2"));
        assert_eq!(bearer(&headers), Some("jwt2"));
        headers.insert("authorization", HeaderValue::from_static("Basic jwt3"));
        assert_eq!(bearer(&headers), Some("legacy"), "another scheme is no bearer");
        headers.insert("authorization", HeaderValue::from_static("Bearer  "));
        assert_eq!(bearer(&headers), None);
    }

    #[test]
    fn refusals_map_to_the_contract_codes() {
        let cases = [
            (Rejection::Invalid, "00101", 401),
            (Rejection::Revoked(uuid::Uuid::nil()), "00105", 401),
            (Rejection::Expired(uuid::Uuid::nil()), "00103", 401),
            (Rejection::IpRefused(uuid::Uuid::nil()), "00107", 403),
            (Rejection::StoreUnavailable("down".into()), "00503", 503),
        ];
        for (rejection, code, status) in cases {
            let error = refusal(rejection);
            assert_eq!((error.code.as_str(), error.status()), (code, status));
        }
    }
}
