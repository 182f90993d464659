//! The in-process backend: bounded maps and a broadcast channel.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::broadcast;

use super::{BUS_CAPACITY, BusMessage};

pub struct Memory {
    entries: Mutex<HashMap<String, (Bytes, Instant)>>,
    counters: Mutex<HashMap<String, (i64, Instant)>>,
    pub(super) bus: broadcast::Sender<BusMessage>,
}

const MEMORY_MAX_ENTRIES: usize = 10_000;

impl Memory {
    pub(super) fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
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
        counters.remove(key);
    }

    pub(super) fn hit(&self, key: &str, window: Duration) -> (i64, Duration) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if counters.len() >= MEMORY_MAX_ENTRIES {
            counters.retain(|_, (_, expires)| *expires > now);
        }
        let entry = counters.entry(key.to_owned()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        (entry.0, entry.1.saturating_duration_since(now))
    }

    pub(super) fn release(&self, key: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(entry) = counters.get_mut(key)
            && entry.1 > now
            && entry.0 > 0
        {
            entry.0 -= 1;
        }
    }

    pub(super) fn counter(&self, key: &str) -> (i64, Duration) {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        counters
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
        let entry = counters.entry(key.to_owned()).or_insert((0, forever));
        entry.0 += 1;
        entry.0
    }
}
