//! The in-process backend: bounded maps and a broadcast channel.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::broadcast;

use super::{BUS_CAPACITY, BusMessage};

pub struct Memory {
    entries: Mutex<HashMap<String, (Bytes, Instant)>>,
    counters: Mutex<Counters>,
    pub(super) bus: broadcast::Sender<BusMessage>,
}

/// Windowed counters (throttles) and version counters, with when expired ones were last swept.
struct Counters {
    map: HashMap<String, (i64, Instant)>,
    swept: Instant,
}

const MEMORY_MAX_ENTRIES: usize = 10_000;
/// Past this many live counters a new one is not made, and its first hit counts as over any
/// limit (a throttle fails closed). Live counters come only from attempts that were really
/// evaluated (a counter given back to zero is removed), which the password-hashing gate holds
/// to tens a second: about 72,000 in a 15-minute window at most.
const MEMORY_MAX_COUNTERS: usize = 200_000;
/// Expired counters are swept at most this often once there are many, so that a hit never
/// scans the whole map each time.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

impl Memory {
    pub(super) fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            counters: Mutex::new(Counters {
                map: HashMap::new(),
                swept: Instant::now(),
            }),
            bus: broadcast::channel(BUS_CAPACITY).0,
        }
    }

    pub(super) fn get(&self, key: &str) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(value, _)| value.clone())
    }

    pub(super) fn set(&self, key: &str, value: Bytes, ttl: Duration) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if entries.len() >= MEMORY_MAX_ENTRIES {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MEMORY_MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key.to_owned(), (value, now + ttl));
    }

    pub(super) fn delete(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(key);
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.map.remove(key);
    }

    pub(super) fn hit(&self, key: &str, window: Duration) -> (i64, Duration) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if counters.map.len() >= MEMORY_MAX_ENTRIES
            && now.duration_since(counters.swept) >= SWEEP_EVERY
        {
            counters.map.retain(|_, (_, expires)| *expires > now);
            counters.swept = now;
        }
        if counters.map.len() >= MEMORY_MAX_COUNTERS && !counters.map.contains_key(key) {
            return (i64::MAX, window);
        }
        let entry = counters
            .map
            .entry(key.to_owned())
            .or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        (entry.0, entry.1.saturating_duration_since(now))
    }

    /// Takes one back; a counter back at zero is removed, so attempts given back (refused
    /// before they were evaluated) leave nothing behind.
    pub(super) fn release(&self, key: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(entry) = counters.map.get_mut(key)
            && entry.1 > now
            && entry.0 > 0
        {
            entry.0 -= 1;
            if entry.0 == 0 {
                counters.map.remove(key);
            }
        }
    }

    pub(super) fn counter(&self, key: &str) -> (i64, Duration) {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        counters
            .map
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map_or((0, Duration::ZERO), |(count, expires)| {
                (*count, expires.saturating_duration_since(now))
            })
    }

    pub(super) fn incr(&self, key: &str) -> i64 {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        // Version counters never expire: a far-future deadline.
        let forever = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        let entry = counters.map.entry(key.to_owned()).or_insert((0, forever));
        entry.0 += 1;
        entry.0
    }

    #[cfg(test)]
    fn counters_kept(&self) -> usize {
        self.counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .map
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_counter_given_back_to_zero_leaves_nothing_behind() {
        let memory = Memory::new();
        let window = Duration::from_secs(900);
        for i in 0..1_000 {
            let key = format!("login:user:{i}");
            assert_eq!(memory.hit(&key, window).0, 1);
            memory.release(&key);
        }
        assert_eq!(memory.counters_kept(), 0);
        memory.hit("login:addr:a", window);
        memory.hit("login:addr:a", window);
        memory.release("login:addr:a");
        assert_eq!(memory.counter("login:addr:a").0, 1, "one is still counted");
        assert_eq!(memory.counters_kept(), 1);
    }

    #[test]
    fn past_the_cap_a_new_counter_is_over_any_limit_and_old_ones_still_count() {
        let memory = Memory::new();
        let window = Duration::from_secs(900);
        {
            let mut counters = memory.counters.lock().expect("lock");
            let expires = Instant::now() + window;
            for i in 0..MEMORY_MAX_COUNTERS {
                counters.map.insert(format!("k{i}"), (1, expires));
            }
        }
        assert_eq!(memory.hit("new", window).0, i64::MAX, "fails closed");
        assert_eq!(memory.counters_kept(), MEMORY_MAX_COUNTERS, "nothing made");
        assert_eq!(
            memory.hit("k7", window).0,
            2,
            "existing counters go on counting"
        );
    }
}
