//! The response cache: provider answers before masking, keyed by endpoint and
//! parameters (never by caller), so that masks still apply per token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Default)]
pub struct ResponseCache {
    entries: Mutex<HashMap<String, (Value, Instant)>>,
}

impl ResponseCache {
    pub fn new() -> Self {
        ResponseCache::default()
    }

    /// The cached value and the seconds it has left.
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
