//! The in-flight lock behind 409 `00015`: one token may not run the same call twice
//! at the same time. In Redis when the replicas share one (a key set if absent, with a
//! random token and an expiry, so that a replica that dies does not hold it for ever),
//! in memory otherwise or while Redis is down.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use redis::Script;

use crate::redis_link::{shared_or_local, RedisLink};
use crate::telemetry;

pub struct InFlight {
    local: LocalInFlight,
    redis: Option<Arc<RedisLink>>,
    /// How long a Redis lock outlives a replica that died holding it.
    expiry: Duration,
}

/// Held while the call runs; dropping it frees the lock, whatever happened.
pub enum Guard {
    Local(LocalGuard),
    Redis {
        redis: Arc<RedisLink>,
        key: String,
        token: String,
    },
}

/// Deletes the lock only if it still holds our token: a lock that expired and was
/// taken by another call is not ours to free.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

impl InFlight {
    pub fn new(redis: Option<Arc<RedisLink>>, expiry: Duration) -> Self {
        InFlight {
            local: LocalInFlight::default(),
            redis,
            expiry,
        }
    }

    pub async fn try_acquire(&self, key: String) -> Option<Guard> {
        let (guard, backend) = shared_or_local(
            self.redis.as_ref(),
            |redis| acquire_in_redis(redis, &key, self.expiry),
            || self.local.try_acquire(key.clone()).map(Guard::Local),
        )
        .await;
        if guard.is_none() {
            telemetry::inflight_refused(backend);
        }
        guard
    }
}

/// The outer `None`: Redis did not answer; the inner one: the call is already running.
async fn acquire_in_redis(redis: &Arc<RedisLink>, key: &str, expiry: Duration) -> Option<Option<Guard>> {
    let redis_key = redis.key("inflight", key);
    let token = uuid::Uuid::new_v4().simple().to_string();
    let (k, t) = (redis_key.clone(), token.clone());
    let set: Option<String> = redis
        .run("inflight_acquire", |mut connection| async move {
            redis::cmd("SET")
                .arg(k)
                .arg(t)
                .arg("NX")
                .arg("PX")
                .arg(expiry.as_millis() as u64)
                .query_async(&mut connection)
                .await
        })
        .await?;
    Some(set.map(|_| Guard::Redis {
        redis: redis.clone(),
        key: redis_key,
        token,
    }))
}

impl Drop for Guard {
    fn drop(&mut self) {
        let Guard::Redis { redis, key, token } = self else {
            return;
        };
        let (redis, key, token) = (redis.clone(), std::mem::take(key), std::mem::take(token));
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        // Freed in the background; if that fails, the lock expires by itself.
        runtime.spawn(async move {
            static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(RELEASE));
            redis
                .run("inflight_release", |mut connection| async move {
                    SCRIPT.key(key).arg(token).invoke_async::<i64>(&mut connection).await
                })
                .await;
        });
    }
}

/// The keys of the calls running here. Caller-influenced: foldhash is seeded per
/// process, and cheaper than SipHash twice a call.
type Running = Arc<Mutex<HashSet<String, foldhash::fast::RandomState>>>;

/// This replica's own set of running calls.
#[derive(Default, Clone)]
pub struct LocalInFlight {
    keys: Running,
}

pub struct LocalGuard {
    keys: Running,
    key: String,
}

impl LocalInFlight {
    pub fn try_acquire(&self, key: String) -> Option<LocalGuard> {
        let inserted = self.keys.lock().expect("in-flight set").insert(key.clone());
        inserted.then(|| LocalGuard {
            keys: self.keys.clone(),
            key,
        })
    }
}

impl Drop for LocalGuard {
    fn drop(&mut self) {
        self.keys.lock().expect("in-flight set").remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_waits_for_the_first_to_end() {
        let set = LocalInFlight::default();
        let guard = set.try_acquire("k".into()).unwrap();
        assert!(set.try_acquire("k".into()).is_none());
        drop(guard);
        assert!(set.try_acquire("k".into()).is_some());
    }
}
