//! The link to the Redis server that the replicas share. Every operation has a time
//! budget of a few milliseconds; an error or a late answer switches this replica to its
//! local state (limits, cache and locks in memory) until a background check finds Redis
//! answering in time again. Redis trouble never turns into an error for the caller.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, RedisResult};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use sha2::{Digest, Sha256};

use serde::{Deserialize, Serialize};

use crate::telemetry::{self, Backend};

/// How often the link checks Redis (and, while it is down, tries to reconnect).
const CHECK_EVERY: Duration = Duration::from_millis(500);
/// Time allowed to open a connection, which happens only in the background check.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Late answers in a row that make Redis "slow": one late answer is more often this
/// replica's CPU being busy than Redis being in trouble.
const LATE_IN_A_ROW: u32 = 3;

/// Runs `shared` on Redis when this replica has a link and Redis answers; otherwise
/// `local`. Says which of the two answered.
pub async fn shared_or_local<'a, T, Fut>(
    redis: Option<&'a Arc<RedisLink>>,
    shared: impl FnOnce(&'a Arc<RedisLink>) -> Fut,
    local: impl FnOnce() -> T,
) -> (T, Backend)
where
    Fut: Future<Output = Option<T>>,
{
    if let Some(redis) = redis {
        if let Some(value) = shared(redis).await {
            return (value, Backend::Redis);
        }
    }
    (local(), Backend::Local)
}

/// The Redis server shared by the replicas (limits, cache, in-flight lock).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct RedisConfig {
    /// `redis://host:port/db`; none: every replica keeps its own state in memory.
    pub url: Option<String>,
    /// Put before every key, so that several deployments (or tests) can share one server.
    pub key_prefix: String,
    /// Time allowed to one Redis operation, in milliseconds: past it the replica
    /// falls back to its local state until Redis answers in time again.
    pub budget_ms: u64,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            url: None,
            key_prefix: "passerelle:".into(),
            budget_ms: 5,
        }
    }
}

pub struct RedisLink {
    client: Client,
    /// The live connection; none while Redis is down or slow.
    connection: RwLock<Option<MultiplexedConnection>>,
    prefix: String,
    budget: Duration,
    salt: Vec<u8>,
    /// Seals the values that hold personal data (cached answers) before they leave.
    sealing: LessSafeKey,
    /// Late answers since the last one in time.
    late: AtomicU32,
}

impl RedisLink {
    /// Opens the link and starts its background check; none when no URL is configured.
    /// An unreachable server is not an error: the replica starts on its local state.
    pub async fn start(config: &RedisConfig, salt: &[u8]) -> anyhow::Result<Option<Arc<RedisLink>>> {
        let Some(url) = &config.url else {
            return Ok(None);
        };
        // The URL may hold a password: the error names the problem, not the URL.
        let client = Client::open(url.as_str()).map_err(|e| anyhow::anyhow!("invalid Redis URL: {}", e.category()))?;
        // The key comes from the store's secret salt, which every replica shares.
        let mut derived = Sha256::new();
        derived.update(b"passerelle redis values v1:");
        derived.update(salt);
        let sealing = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &derived.finalize()).map_err(|_| anyhow::anyhow!("sealing key"))?,
        );
        let link = Arc::new(RedisLink {
            client,
            sealing,
            late: AtomicU32::new(0),
            connection: RwLock::new(None),
            prefix: config.key_prefix.clone(),
            budget: Duration::from_millis(config.budget_ms.max(1)),
            salt: salt.to_vec(),
        });
        telemetry::redis_up(false);
        if !link.check().await {
            tracing::warn!("Redis unreachable at start: this replica serves on its local limits, cache and locks");
        }
        tokio::spawn(watch(Arc::downgrade(&link)));
        Ok(Some(link))
    }

    /// The Redis key of `name` in `kind`. Names hold token ids and identities: keys
    /// carry their salted hash (the salt is in the shared store), never the name itself.
    pub fn key(&self, kind: &str, name: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(&self.salt);
        hasher.update(b":");
        hasher.update(name.as_bytes());
        format!("{}{kind}:{}", self.prefix, hex::encode(hasher.finalize()))
    }

    /// `value` encrypted (AES-256-GCM, random nonce first) and bound to `key`, so that
    /// whoever reads Redis learns nothing and cannot move a value to another key.
    pub fn seal(&self, key: &str, value: &[u8]) -> Vec<u8> {
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let mut sealed = value.to_vec();
        let nonce = Nonce::assume_unique_for_key(nonce_bytes);
        // Fails only past gigabytes of data, which no cached answer comes near.
        if self
            .sealing
            .seal_in_place_append_tag(nonce, Aad::from(key.as_bytes()), &mut sealed)
            .is_err()
        {
            return Vec::new();
        }
        let mut out = nonce_bytes.to_vec();
        out.append(&mut sealed);
        out
    }

    /// The value sealed under `key`; none if it was not sealed by this deployment.
    pub fn unseal(&self, key: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut body = body.to_vec();
        let plain = self
            .sealing
            .open_in_place(nonce, Aad::from(key.as_bytes()), &mut body)
            .ok()?;
        Some(plain.to_vec())
    }

    pub fn is_up(&self) -> bool {
        self.connection.read().expect("redis connection").is_some()
    }

    /// Runs `op` within the budget. None when Redis is down, failed or late: the caller
    /// then answers from its local state (counted under `what`).
    pub async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> Option<T>
    where
        F: FnOnce(MultiplexedConnection) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let Some(connection) = self.connection.read().expect("redis connection").clone() else {
            telemetry::redis_fallback(what);
            return None;
        };
        match tokio::time::timeout(self.budget, op(connection)).await {
            Ok(Ok(value)) => {
                self.late.store(0, Ordering::Relaxed);
                return Some(value);
            }
            // Lost connection: down at once. An error answer (Redis is there, this
            // operation failed): only this call falls back.
            Ok(Err(e))
                if e.is_io_error() || e.is_connection_dropped() || e.is_connection_refusal() || e.is_timeout() =>
            {
                self.mark_down(e.category())
            }
            Ok(Err(e)) => tracing::debug!(operation = what, error = e.category(), "Redis refused an operation"),
            Err(_) => {
                if self.late.fetch_add(1, Ordering::Relaxed) + 1 >= LATE_IN_A_ROW {
                    self.mark_down("over budget");
                }
            }
        }
        telemetry::redis_fallback(what);
        None
    }

    fn mark_down(&self, reason: &str) {
        self.late.store(0, Ordering::Relaxed);
        let was_up = self.connection.write().expect("redis connection").take().is_some();
        if was_up {
            tracing::warn!(
                reason,
                "Redis unavailable: this replica falls back to its local limits, cache and locks"
            );
            telemetry::redis_up(false);
        }
    }

    /// Pings Redis (connecting first when down); true when it answered within the budget.
    async fn check(&self) -> bool {
        let current = self.connection.read().expect("redis connection").clone();
        let connection = match current {
            Some(connection) => connection,
            None => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(Some(CONNECT_TIMEOUT));
                match self.client.get_multiplexed_async_connection_with_config(&config).await {
                    Ok(connection) => connection,
                    Err(_) => return false,
                }
            }
        };
        let mut pinged = connection.clone();
        let ping = redis::cmd("PING");
        match tokio::time::timeout(self.budget, ping.query_async::<String>(&mut pinged)).await {
            Ok(Ok(_)) => {
                let mut slot = self.connection.write().expect("redis connection");
                if slot.is_none() {
                    *slot = Some(connection);
                    tracing::info!("Redis answers: limits, cache and locks are shared again");
                    telemetry::redis_up(true);
                }
                true
            }
            Ok(Err(e)) => {
                self.mark_down(e.category());
                false
            }
            Err(_) => {
                self.mark_down("ping over budget");
                false
            }
        }
    }
}

/// The background check, for as long as the link lives.
async fn watch(link: Weak<RedisLink>) {
    let mut ticks = tokio::time::interval(CHECK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(link) = link.upgrade() else { return };
        link.check().await;
    }
}

/// The machine's Redis for unit tests (`PASSERELLE_TEST_REDIS_URL`, by default
/// 127.0.0.1:6379) under a key prefix of its own; none (skipped) when it does not answer,
/// except under CI where that fails.
#[cfg(test)]
pub async fn test_link() -> Option<Arc<RedisLink>> {
    let url = std::env::var("PASSERELLE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let config = RedisConfig {
        url: Some(url.clone()),
        key_prefix: format!("passerelle-test:{}:", uuid::Uuid::new_v4().simple()),
        budget_ms: 500,
    };
    let link = RedisLink::start(&config, b"test salt").await.unwrap()?;
    if link.is_up() {
        return Some(link);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI: Redis does not answer at {url}"
    );
    eprintln!("Redis does not answer at {url}: test skipped");
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn open_link(salt: &[u8]) -> Arc<RedisLink> {
        let config = RedisConfig {
            url: Some("redis://127.0.0.1:1".into()),
            ..RedisConfig::default()
        };
        RedisLink::start(&config, salt).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn sealed_values_open_only_under_their_key_and_salt() {
        let link = open_link(b"salt").await;
        let sealed = link.seal("k", b"{\"nom\":\"MARTIN\"}");
        assert!(!String::from_utf8_lossy(&sealed).contains("MARTIN"));
        assert_eq!(link.unseal("k", &sealed).unwrap(), b"{\"nom\":\"MARTIN\"}");
        assert_eq!(link.unseal("other", &sealed), None);
        assert_eq!(open_link(b"another salt").await.unseal("k", &sealed), None);
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(link.unseal("k", &tampered), None);
        assert_ne!(link.seal("k", b"x"), link.seal("k", b"x"), "a fresh nonce each time");
    }

    #[tokio::test]
    async fn keys_hold_a_salted_hash_of_the_name() {
        let link = open_link(b"salt").await;
        let id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        let key = link.key("rate", id);
        assert!(
            key.starts_with("passerelle:rate:") && !key.contains("0f8fad5b"),
            "{key}"
        );
        assert_ne!(key, open_link(b"another salt").await.key("rate", id));
        assert!(!link.is_up(), "nothing listens on port 1");
    }
}
