//! Pacing from the gateway's `RateLimit-*` headers, and the retry policy.
//!
//! The gateway limits by GCRA: a burst of `limit` calls, then one call per
//! `period / limit`. Its headers say the limit, the calls left in the burst, and the
//! epoch second at which the burst is full again (`reset`). While calls are left we go;
//! at zero, the next call opens after one interval, which we estimate from `reset`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng;
use reqwest::header::HeaderMap;

/// What the last answer's `RateLimit-*` headers said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: u64,
    pub remaining: u64,
    /// Epoch second.
    pub reset: u64,
}

impl RateLimit {
    pub fn from_headers(headers: &HeaderMap) -> Option<RateLimit> {
        Some(RateLimit {
            limit: number(headers, "ratelimit-limit")?,
            remaining: number(headers, "ratelimit-remaining")?,
            reset: number(headers, "ratelimit-reset")?,
        })
    }

    /// How long to wait before the next call, `now` being epoch seconds.
    pub fn delay(&self, now: f64) -> Duration {
        if self.remaining > 0 || self.limit == 0 {
            return Duration::ZERO;
        }
        // `reset` is rounded up to the second and our clock may be a second behind the
        // gateway's: one more second, spread over the burst, and a margin.
        let until_full = (self.reset as f64 - now + 1.0).max(0.0);
        Duration::from_secs_f64(until_full / self.limit as f64 * 1.05)
    }
}

/// `Retry-After`, in seconds (the gateway sends seconds, never a date).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    number(headers, "retry-after").map(Duration::from_secs)
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

pub fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// Bounded exponential backoff with jitter, for 502/503/504 and connection errors.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Attempts in all, the first call included.
    pub max_attempts: u32,
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            max_attempts: 5,
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
        }
    }
}

impl Backoff {
    /// The wait after failed attempt number `attempt` (1 for the first call): half the
    /// doubled delay plus a random half, so that clients do not retry in step.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doubled = self.base.saturating_mul(1 << attempt.saturating_sub(1).min(20));
        let ceiling = doubled.min(self.cap);
        let half = ceiling / 2;
        half + half.mul_f64(rand::thread_rng().gen::<f64>())
    }
}

/// Statuses worth another attempt: the upstream or the gateway may answer later.
pub fn transient(status: u16) -> bool {
    matches!(status, 502..=504)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn headers_are_read() {
        let mut headers = HeaderMap::new();
        headers.insert("ratelimit-limit", HeaderValue::from_static("150"));
        headers.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("ratelimit-reset", HeaderValue::from_static("1000060"));
        headers.insert("retry-after", HeaderValue::from_static("2"));
        let rate = RateLimit::from_headers(&headers).unwrap();
        assert_eq!(
            rate,
            RateLimit {
                limit: 150,
                remaining: 0,
                reset: 1_000_060
            }
        );
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        assert_eq!(RateLimit::from_headers(&HeaderMap::new()), None);
    }

    #[test]
    fn no_wait_while_calls_are_left_one_interval_at_zero() {
        let rate = |remaining| RateLimit {
            limit: 60,
            remaining,
            reset: 1_000_060,
        };
        assert_eq!(rate(3).delay(1_000_000.0), Duration::ZERO);
        // A full minute to refill 60 calls: about one second per call.
        let wait = rate(0).delay(1_000_000.5);
        assert!(
            wait > Duration::from_millis(1000) && wait < Duration::from_millis(1100),
            "{wait:?}"
        );
        // A reset in the past: no wait beyond the margin.
        assert!(rate(0).delay(2_000_000.0) == Duration::ZERO);
    }

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let backoff = Backoff {
            max_attempts: 10,
            base: Duration::from_millis(100),
            cap: Duration::from_millis(1000),
        };
        for _ in 0..50 {
            let first = backoff.delay(1);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = backoff.delay(3);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = backoff.delay(30);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1000));
        }
        assert!(transient(503) && transient(502) && transient(504));
        assert!(!transient(500) && !transient(404) && !transient(429));
    }
}
