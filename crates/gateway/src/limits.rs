//! Per-token rate limit by GCRA (generic cell rate algorithm): one timestamp per key,
//! smooth refill, bursts up to the limit. Shared through Redis when configured.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use redis::Script;

use crate::redis_link::{shared_or_local, RedisLink};
use crate::telemetry;

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

/// The limiter of the v3 pipeline: GCRA in Redis when the replicas share one, this
/// replica's own table otherwise or while Redis is down.
pub struct Limiter {
    local: LocalLimiter,
    redis: Option<Arc<RedisLink>>,
}

impl Limiter {
    pub fn new(redis: Option<Arc<RedisLink>>) -> Self {
        Limiter {
            local: LocalLimiter::new(),
            redis,
        }
    }

    /// Counts a call against `key`; `limit` names the kind of limit in the metrics
    /// (`token`, `ip`, `ip_refusals`, `download`).
    pub async fn check(&self, limit: &'static str, key: &str, quota: Quota) -> Decision {
        let (decision, backend) = shared_or_local(
            self.redis.as_ref(),
            |redis| check_in_redis(redis, key, quota),
            || self.local.check(key, quota),
        )
        .await;
        telemetry::rate_limit(limit, decision.allowed, backend);
        decision
    }
}

/// GCRA on the Redis server's clock, read and written in one atomic script, so that
/// every replica sees the same theoretical arrival time. Times are in microseconds.
/// Returns: allowed (1/0), time used of the period, overshoot, the server's epoch second.
const GCRA: &str = r"
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local interval = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
if tat < now then tat = now end
local next = tat + interval
local allowed = next - now <= period
local settled = tat
if allowed then
  settled = next
  redis.call('SET', KEYS[1], string.format('%.0f', next), 'PX', math.max(1, math.ceil((next - now) / 1000)))
end
return {allowed and 1 or 0, settled - now, next - now - period, tonumber(clock[1])}
";

async fn check_in_redis(redis: &RedisLink, key: &str, quota: Quota) -> Option<Decision> {
    static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(GCRA));
    let redis_key = redis.key("rate", key);
    // At least 1 µs: limits above a million calls per second are no limit anyway.
    let interval = (quota.interval().as_micros() as u64).max(1);
    let period = quota.period.as_micros() as u64;
    let (allowed, used, over, epoch): (u8, i64, i64, u64) = redis
        .run("rate_limit", |mut connection| async move {
            SCRIPT
                .key(redis_key)
                .arg(interval)
                .arg(period)
                .invoke_async(&mut connection)
                .await
        })
        .await?;
    let micros = |n: i64| Duration::from_micros(n.max(0) as u64);
    Some(decide(quota, allowed == 1, micros(used), micros(over), epoch))
}

/// This replica's own GCRA table.
pub struct LocalLimiter {
    /// Theoretical arrival time of the next call, per key. Keys are caller-influenced
    /// (IPs): foldhash is seeded per process, and cheaper than SipHash on every call.
    tat: Mutex<HashMap<String, Instant, foldhash::fast::RandomState>>,
}

impl Default for LocalLimiter {
    fn default() -> Self {
        LocalLimiter::new()
    }
}

impl LocalLimiter {
    pub fn new() -> Self {
        LocalLimiter {
            tat: Mutex::new(HashMap::default()),
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
            match table.get_mut(key) {
                Some(kept) => *kept = next,
                None => {
                    table.insert(key.to_string(), next);
                }
            }
        }
        let settled = if allowed { next } else { tat };
        let over = next.duration_since(now).saturating_sub(quota.period);
        decide(quota, allowed, settled.duration_since(now), over, epoch_now())
    }
}

/// The answer and its headers, from how much of the period is used once this call is
/// counted, and by how much a refused call overshoots it.
fn decide(quota: Quota, allowed: bool, used: Duration, over: Duration, epoch: u64) -> Decision {
    let interval = quota.interval();
    let remaining = quota.period.saturating_sub(used).as_nanos() / interval.as_nanos().max(1);
    Decision {
        allowed,
        limit: quota.limit,
        remaining: u32::try_from(remaining).unwrap_or(u32::MAX).min(quota.limit),
        reset: epoch + ceil_secs(used),
        retry_after: (!allowed).then(|| ceil_secs(over).max(1)),
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
        let limiter = LocalLimiter::new();
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
        let limiter = LocalLimiter::new();
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
        let limiter = LocalLimiter::new();
        let now = Instant::now();
        let quota = Quota::per_minute(1);
        assert!(limiter.check_at("a", quota, now).allowed);
        assert!(limiter.check_at("b", quota, now).allowed);
        let refused = limiter.check_at("a", quota, now);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after, Some(60));
    }

    #[tokio::test]
    async fn redis_gcra_answers_like_the_local_one() {
        let Some(link) = crate::redis_link::test_link().await else {
            return;
        };
        let shared = Limiter::new(Some(link.clone()));
        let local = LocalLimiter::new();
        // Per minute, so that the few milliseconds the calls take refill nothing.
        let quota = Quota::per_minute(20);
        for n in 1..=21u32 {
            let (redis, mine) = (shared.check("test", "t", quota).await, local.check("t", quota));
            assert_eq!(
                (redis.allowed, redis.limit, redis.remaining, redis.retry_after.is_some()),
                (mine.allowed, mine.limit, mine.remaining, mine.retry_after.is_some()),
                "call {n}"
            );
            assert!(redis.reset.abs_diff(mine.reset) <= 1, "call {n}");
        }
        let refused = shared.check("test", "t", quota).await;
        assert!(
            !refused.allowed && (1..=3).contains(&refused.retry_after.unwrap()),
            "{refused:?}"
        );
        assert!(
            shared.check("test", "other", quota).await.allowed,
            "keys are independent"
        );
        // A limit so high that its interval is under a microsecond still works in Redis.
        let huge = Quota::per_minute(600_000_000);
        assert!(check_in_redis(&link, "huge", huge).await.is_some_and(|d| d.allowed));
        assert!(link.is_up());
    }
}
