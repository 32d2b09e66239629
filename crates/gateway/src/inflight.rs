//! The in-flight lock behind 409 `00015`: one token may not run the same call twice
//! at the same time.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

#[derive(Default, Clone)]
pub struct InFlight {
    keys: Arc<Mutex<HashSet<String>>>,
}

/// Held while the call runs; dropping it frees the key, whatever happened.
pub struct Guard {
    keys: Arc<Mutex<HashSet<String>>>,
    key: String,
}

impl InFlight {
    pub fn try_acquire(&self, key: String) -> Option<Guard> {
        let inserted = self.keys.lock().expect("in-flight set").insert(key.clone());
        inserted.then(|| Guard {
            keys: self.keys.clone(),
            key,
        })
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.keys.lock().expect("in-flight set").remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_acquire_waits_for_the_first_to_end() {
        let set = InFlight::default();
        let guard = set.try_acquire("k".into()).unwrap();
        assert!(set.try_acquire("k".into()).is_none());
        drop(guard);
        assert!(set.try_acquire("k".into()).is_some());
    }
}
