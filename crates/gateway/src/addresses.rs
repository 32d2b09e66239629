//! The addresses each token calls from, for its holders ("the IPs actually used") and
//! their new-address alerts. The journal keeps no client address and its chained rows
//! stay as they are: each replica notes in memory the (token, address) pairs of the
//! calls it accepts, and every few seconds adds them to the store (`token_addresses`:
//! first and last seen, calls) in one statement, off the calls' path. An IPv6 client
//! counts for its whole /64, as one subscriber holds it.
//!
//! A replica that stops loses at most its last few seconds of sightings; the next call
//! from the same address notes it again.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use chrono::{DateTime, Utc};
use passerelle_store::{Store, TokenAddress};
use uuid::Uuid;

/// How often the pairs seen are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(5);

/// Pairs kept between two flushes at most: past this, new pairs wait for the next
/// flush (known pairs still count), so a flood of addresses cannot grow the memory.
const MAX_PENDING: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Sighting {
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    calls: i64,
}

/// The pairs seen since the last flush.
pub struct AddressBook {
    store: Arc<dyn Store>,
    pending: Mutex<HashMap<(Uuid, IpAddr), Sighting>>,
}

impl AddressBook {
    /// A book flushed every `every` until it is dropped.
    pub fn start(store: Arc<dyn Store>, every: Duration) -> Arc<AddressBook> {
        let book = Arc::new(AddressBook {
            store,
            pending: Mutex::new(HashMap::new()),
        });
        tokio::spawn(flush_loop(Arc::downgrade(&book), every));
        book
    }

    /// Notes a call of `jti` from `ip`: a lock and a map update, nothing else.
    pub fn saw(&self, jti: Uuid, ip: IpAddr) {
        let now = Utc::now();
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let full = pending.len() >= MAX_PENDING;
        let key = (jti, network(ip));
        if let Some(seen) = pending.get_mut(&key) {
            seen.last = now;
            seen.calls += 1;
        } else if !full {
            let seen = Sighting {
                first: now,
                last: now,
                calls: 1,
            };
            pending.insert(key, seen);
        }
    }

    /// Writes the pairs seen since the last flush. On failure they are kept for the
    /// next one.
    pub async fn flush(&self) -> anyhow::Result<()> {
        let taken = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        if taken.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.store.record_addresses(&rows(&taken)).await {
            self.put_back(taken);
            return Err(e);
        }
        Ok(())
    }

    fn put_back(&self, taken: HashMap<(Uuid, IpAddr), Sighting>) {
        let mut pending = self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        for (key, old) in taken {
            match pending.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(old);
                }
                Entry::Occupied(mut slot) => {
                    let seen = slot.get_mut();
                    seen.first = seen.first.min(old.first);
                    seen.calls += old.calls;
                }
            }
        }
    }
}

/// The rows to write, ordered by token and address: replicas flushing at the same
/// time then lock PostgreSQL's rows in the same order, and never deadlock.
fn rows(taken: &HashMap<(Uuid, IpAddr), Sighting>) -> Vec<TokenAddress> {
    let mut rows: Vec<TokenAddress> = taken
        .iter()
        .map(|((jti, ip), seen)| TokenAddress {
            jti: *jti,
            address: written(*ip),
            first_seen: seen.first,
            last_seen: seen.last,
            calls: seen.calls,
        })
        .collect();
    rows.sort_unstable_by(|a, b| (a.jti, &a.address).cmp(&(b.jti, &b.address)));
    rows
}

async fn flush_loop(book: Weak<AddressBook>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(book) = book.upgrade() else {
            return;
        };
        if let Err(e) = book.flush().await {
            tracing::warn!(
                error = format!("{e:#}"),
                "tokens' addresses not written; the next flush retries"
            );
        }
    }
}

/// The address as counted: an IPv4 address (an IPv4-mapped IPv6 one included), or
/// an IPv6 address's /64.
pub fn network(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
    }
}

/// How the store and the pages write it: `192.0.2.7`, `2001:db8:1:2::/64`.
pub fn written(network: IpAddr) -> String {
    match network {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("{v6}/64"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(ip: &str) -> String {
        written(network(ip.parse().unwrap()))
    }

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(counted("192.0.2.7"), "192.0.2.7");
        assert_eq!(counted("2001:db8:1:2:aaaa::9"), "2001:db8:1:2::/64");
        assert_eq!(counted("2001:db8:1:2::1"), counted("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(counted("2001:db8:1:2::1"), counted("2001:db8:1:3::1"));
        assert_eq!(counted("::ffff:192.0.2.7"), "192.0.2.7");
    }

    #[test]
    fn rows_are_written_in_token_then_address_order() {
        let now = Utc::now();
        let seen = Sighting {
            first: now,
            last: now,
            calls: 1,
        };
        let (a, b) = (Uuid::from_u128(1), Uuid::from_u128(2));
        let mut taken = HashMap::new();
        for (jti, ip) in [(b, "192.0.2.1"), (a, "192.0.2.9"), (b, "10.0.0.1"), (a, "192.0.2.10")] {
            taken.insert((jti, ip.parse().unwrap()), seen);
        }
        let order: Vec<(Uuid, String)> = rows(&taken).into_iter().map(|r| (r.jti, r.address)).collect();
        let expected = [(a, "192.0.2.10"), (a, "192.0.2.9"), (b, "10.0.0.1"), (b, "192.0.2.1")];
        assert_eq!(order, expected.map(|(j, s)| (j, s.to_string())));
    }
}
