//! Token records through a short cache: most calls cost no query, and a revocation
//! reaches the check within the cache's TTL (at once with `forget`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use passerelle_store::TokenRecord;
use uuid::Uuid;

use crate::Backend;

/// A record (or its absence) and when it was read; shared, so that a call's copy
/// costs no allocation.
type Cached = (Option<Arc<TokenRecord>>, Instant);

/// Past this many entries, the stale ones are swept at the next insert.
const SWEEP_ABOVE: usize = 100_000;

pub(crate) struct RecordCache {
    store: Arc<Backend>,
    ttl: Duration,
    entries: Mutex<HashMap<Uuid, Cached>>,
}

impl RecordCache {
    pub(crate) fn new(store: Arc<Backend>, ttl: Duration) -> RecordCache {
        RecordCache {
            store,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The token's record (unknown tokens are cached too, so they cost no query).
    pub(crate) async fn get(&self, jti: Uuid) -> anyhow::Result<Option<Arc<TokenRecord>>> {
        if let Some(record) = self.fresh(jti) {
            return Ok(record);
        }
        let record = self.store.token(jti).await?.map(Arc::new);
        self.keep(jti, record.clone());
        Ok(record)
    }

    pub(crate) fn forget(&self, jti: Uuid) {
        self.entries.lock().expect("token cache").remove(&jti);
    }

    fn fresh(&self, jti: Uuid) -> Option<Option<Arc<TokenRecord>>> {
        let entries = self.entries.lock().expect("token cache");
        let (record, at) = entries.get(&jti)?;
        (at.elapsed() < self.ttl).then(|| record.clone())
    }

    fn keep(&self, jti: Uuid, record: Option<Arc<TokenRecord>>) {
        let mut entries = self.entries.lock().expect("token cache");
        if entries.len() > SWEEP_ABOVE {
            entries.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        entries.insert(jti, (record, Instant::now()));
    }
}
