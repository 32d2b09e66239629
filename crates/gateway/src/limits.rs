//! Per-token rate limit by GCRA (generic cell rate algorithm): one timestamp per key,
//! smooth refill, bursts up to the limit.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub period: Duration,
}

impl Quota {
    pub fn per_second(limit: u32) -> Quota {
        Quota {
            limit: limit.max(1),
            period: Duration::from_secs(1),
        }
    }

    pub fn per_minute(limit: u32) -> Quota {
        Quota {
            limit: limit.max(1),
            period: Duration::from_secs(60),
        }
    }

    fn interval(&self) -> Duration {
        self.period / self.limit
    }
}

/// The limiter's answer, with what the `RateLimit-*` headers need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Epoch second at which the full burst is available again.
    pub reset: u64,
    /// Seconds to wait before retrying, when refused.
    pub retry_after: Option<u64>,
}

pub struct Limiter {
    /// Theoretical arrival time of the next call, per key.
    tat: Mutex<HashMap<String, Instant>>,
}

impl Default for Limiter {
    fn default() -> Self {
        Limiter::new()
    }
}

impl Limiter {
    pub fn new() -> Self {
        Limiter {
            tat: Mutex::new(HashMap::new()),
        }
    }

    pub fn check(&self, key: &str, quota: Quota) -> Decision {
        self.check_at(key, quota, Instant::now())
    }

    pub fn check_at(&self, key: &str, quota: Quota, now: Instant) -> Decision {
        let interval = quota.interval();
        let mut table = self.tat.lock().expect("limiter table");
        if table.len() > 100_000 {
            table.retain(|_, tat| *tat > now);
        }
        let tat = table.get(key).copied().filter(|t| *t > now).unwrap_or(now);
        let next = tat + interval;
        let allowed = next.duration_since(now) <= quota.period;
        if allowed {
            table.insert(key.to_string(), next);
        }
        let settled = if allowed { next } else { tat };
        let used = settled.duration_since(now);
        let remaining = quota.period.saturating_sub(used).as_nanos() / interval.as_nanos().max(1);
        let retry_after = (!allowed).then(|| ceil_secs(next.duration_since(now).saturating_sub(quota.period)).max(1));
        Decision {
            allowed,
            limit: quota.limit,
            remaining: u32::try_from(remaining).unwrap_or(u32::MAX).min(quota.limit),
            reset: epoch_now() + ceil_secs(used),
            retry_after,
        }
    }
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

fn epoch_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_a_burst_of_limit_then_refuses() {
        let limiter = Limiter::new();
        let now = Instant::now();
        let quota = Quota::per_second(20);
        let decisions: Vec<_> = (0..21).map(|_| limiter.check_at("t", quota, now)).collect();
        assert!(decisions[..20].iter().all(|d| d.allowed));
        assert_eq!(decisions[0].remaining, 19);
        assert_eq!(decisions[19].remaining, 0);
        assert!(!decisions[20].allowed);
        assert_eq!(decisions[20].retry_after, Some(1));
    }

    #[test]
    fn refills_smoothly() {
        let limiter = Limiter::new();
        let now = Instant::now();
        let quota = Quota::per_second(20);
        for _ in 0..20 {
            limiter.check_at("t", quota, now);
        }
        assert!(!limiter.check_at("t", quota, now + Duration::from_millis(10)).allowed);
        assert!(limiter.check_at("t", quota, now + Duration::from_millis(50)).allowed);
        assert!(!limiter.check_at("t", quota, now + Duration::from_millis(51)).allowed);
    }

    #[test]
    fn keys_are_independent() {
        let limiter = Limiter::new();
        let now = Instant::now();
        let quota = Quota::per_minute(1);
        assert!(limiter.check_at("a", quota, now).allowed);
        assert!(limiter.check_at("b", quota, now).allowed);
        let refused = limiter.check_at("a", quota, now);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Some(60));
    }
}
