//! What several upstream clients share: a daily maintenance window, in Paris time
//! (§25.5: calls inside it fail before reaching the upstream, saying when to come
//! back), and the lifetime of a JWT an upstream hands us.

use chrono::{DateTime, NaiveTime, Utc};
use chrono_tz::Europe::Paris;

/// A daily maintenance window.
pub struct DailyWindow {
    /// Hours and minutes, Paris time; the end is excluded.
    pub start: (u32, u32),
    pub end: (u32, u32),
    /// As the error's detail says it (`22:04 à 22:08`).
    pub label: &'static str,
}

impl DailyWindow {
    /// The seconds left in the window when `now` falls in it.
    pub fn retry_in(&self, now: DateTime<Utc>) -> Option<u64> {
        let local = now.with_timezone(&Paris).time();
        let at = |(h, m)| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        let (start, end) = (at(self.start), at(self.end));
        (start <= local && local < end).then(|| (end - local).num_seconds().unsigned_abs())
    }
}

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
    use chrono::TimeZone;

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

    #[test]
    fn a_window_holds_its_start_not_its_end_in_paris_time_all_year() {
        let window = DailyWindow {
            start: (22, 4),
            end: (22, 8),
            label: "22:04 à 22:08",
        };
        // 21:05 UTC in winter is 22:05 in Paris; 20:05 UTC in summer too.
        let winter = Utc.with_ymd_and_hms(2026, 1, 15, 21, 5, 0).unwrap();
        let summer = Utc.with_ymd_and_hms(2026, 7, 15, 20, 5, 0).unwrap();
        assert_eq!(window.retry_in(winter), Some(180));
        assert_eq!(window.retry_in(summer), Some(180));
        assert_eq!(
            window.retry_in(Utc.with_ymd_and_hms(2026, 1, 15, 21, 4, 0).unwrap()),
            Some(240)
        );
        assert_eq!(
            window.retry_in(Utc.with_ymd_and_hms(2026, 1, 15, 21, 8, 0).unwrap()),
            None
        );
        assert_eq!(
            window.retry_in(Utc.with_ymd_and_hms(2026, 1, 15, 21, 3, 59).unwrap()),
            None
        );
    }
}
