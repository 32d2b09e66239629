//! What several upstream clients share: the lifetime of a JWT an upstream hands us.

use chrono::Utc;

/// How long a JWT bearer may be kept: until ten seconds before its `exp` (read, not
/// verified: it is the upstream's own token to us); `None` when it has no readable `exp`
/// or is already past it.
pub fn jwt_lifetime(token: &str) -> Option<std::time::Duration> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let claims = token.split('.').nth(1)?;
    let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    let exp = claims.get("exp")?.as_u64()?;
    let now = u64::try_from(Utc::now().timestamp()).ok()?;
    Some(std::time::Duration::from_secs(exp.checked_sub(now)?.saturating_sub(10)))
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    fn jwt(claims: &str) -> String {
        format!("eyJhbGciOiJSUzI1NiJ9.{}.c2ln", URL_SAFE_NO_PAD.encode(claims))
    }

    #[test]
    fn the_lifetime_comes_from_exp_less_ten_seconds() {
        let now = Utc::now().timestamp();
        let left = jwt_lifetime(&jwt(&format!("{{\"exp\": {}}}", now + 3600))).unwrap();
        assert!(left.as_secs() <= 3590 && left.as_secs() >= 3580);
        assert_eq!(jwt_lifetime(&jwt(&format!("{{\"exp\": {}}}", now - 5))), None);
        assert_eq!(jwt_lifetime(&jwt("{\"iat\": 1}")), None);
        assert_eq!(jwt_lifetime("not-a-jwt"), None);
    }
}
