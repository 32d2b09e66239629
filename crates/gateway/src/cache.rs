//! The response cache: provider answers before masking, keyed by endpoint and
//! parameters (never by caller), so that masks still apply per token. In Redis when the
//! replicas share one (so that a call answered by one replica is cached for all; values
//! are sealed, as they hold personal data), in memory otherwise or while Redis is down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::redis_link::{shared_or_local, RedisLink};
use crate::telemetry;

pub struct ResponseCache {
    local: LocalCache,
    redis: Option<Arc<RedisLink>>,
}

impl ResponseCache {
    pub fn new(redis: Option<Arc<RedisLink>>) -> Self {
        ResponseCache {
            local: LocalCache::default(),
            redis,
        }
    }

    /// The cached value and the seconds it has left.
    pub async fn get(&self, key: &str) -> Option<(Value, u64)> {
        let (found, backend) = shared_or_local(
            self.redis.as_ref(),
            |redis| get_in_redis(redis, key),
            || self.local.get(key),
        )
        .await;
        telemetry::cache(found.is_some(), backend);
        found
    }

    pub async fn put(&self, key: String, value: Value, ttl: Duration) {
        shared_or_local(
            self.redis.as_ref(),
            |redis| put_in_redis(redis, &key, &value, ttl),
            || self.local.put(key.clone(), value.clone(), ttl),
        )
        .await;
    }
}

/// The value (JSON text) and its time to live, read together. The outer `None`: Redis
/// did not answer; the inner one: not cached.
async fn get_in_redis(redis: &RedisLink, key: &str) -> Option<Option<(Value, u64)>> {
    let redis_key = redis.key("cache", key);
    let k = redis_key.clone();
    let (sealed, ttl_ms): (Option<Vec<u8>>, i64) = redis
        .run("cache_get", |mut connection| async move {
            redis::pipe()
                .atomic()
                .get(&k)
                .pttl(&k)
                .query_async(&mut connection)
                .await
        })
        .await?;
    let value = sealed
        .and_then(|sealed| redis.unseal(&redis_key, &sealed))
        .and_then(|text| serde_json::from_slice(&text).ok());
    Some(value.filter(|_| ttl_ms > 0).map(|v| (v, (ttl_ms as u64 / 1000).max(1))))
}

async fn put_in_redis(redis: &RedisLink, key: &str, value: &Value, ttl: Duration) -> Option<()> {
    let redis_key = redis.key("cache", key);
    let sealed = redis.seal(&redis_key, value.to_string().as_bytes());
    let ttl_ms = ttl.as_millis() as u64;
    redis
        .run("cache_put", |mut connection| async move {
            redis::cmd("SET")
                .arg(redis_key)
                .arg(sealed)
                .arg("PX")
                .arg(ttl_ms)
                .query_async::<()>(&mut connection)
                .await
        })
        .await
}

/// This replica's own cache.
#[derive(Default)]
pub struct LocalCache {
    entries: Mutex<HashMap<String, (Value, Instant)>>,
}

impl LocalCache {
    pub fn get(&self, key: &str) -> Option<(Value, u64)> {
        let entries = self.entries.lock().expect("cache");
        let (value, until) = entries.get(key)?;
        let left = until.checked_duration_since(Instant::now())?;
        Some((value.clone(), left.as_secs().max(1)))
    }

    pub fn put(&self, key: String, value: Value, ttl: Duration) {
        let now = Instant::now();
        let mut entries = self.entries.lock().expect("cache");
        if entries.len() > 50_000 {
            entries.retain(|_, (_, until)| *until > now);
        }
        entries.insert(key, (value, now + ttl));
    }
}
