//! The cache and pub/sub seam: in-process in embedded mode, Redis (fred) in production mode.
//!
//! Callers see one small API (get/set with TTL, windowed counters, publish/subscribe); which
//! backend runs is chosen by `REDIS_URL`. Keys and channels are prefixed (`REDIS_KEY_PREFIX`) so
//! several stores or test runs can share one Redis. Redis failures surface as `CacheError`, and
//! callers degrade (the catalog falls back to the database) rather than fail the request.

mod memory;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use fred::prelude::*;
use tokio::sync::broadcast;

use crate::Settings;
pub use memory::Memory;
pub use redis::Redis;

/// Messages on the internal bus: the channel name (unprefixed) and its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusMessage {
    pub channel: String,
    pub payload: String,
}

/// Channels the store publishes on.
pub mod channels {
    /// Live purchase notifications and session revocations (see `live`).
    pub const LIVE: &str = "live";
    /// Catalog changes, so every replica drops its local catalog cache.
    pub const CATALOG: &str = "catalog";
    pub const ALL: [&str; 2] = [LIVE, CATALOG];
}

#[derive(Debug, thiserror::Error)]
#[error("cache unavailable: {0}")]
pub struct CacheError(String);

impl From<fred::error::Error> for CacheError {
    fn from(e: fred::error::Error) -> Self {
        CacheError(e.to_string())
    }
}

#[derive(Clone)]
pub enum Cache {
    Memory(Arc<Memory>),
    Redis(Arc<Redis>),
}

const BUS_CAPACITY: usize = 4096;

impl Cache {
    /// The in-process backend.
    pub fn memory() -> Self {
        Cache::Memory(Arc::new(Memory::new()))
    }

    /// Picks the backend from the settings. A Redis that does not answer at start-up is logged
    /// and retried in the background; the store runs degraded meanwhile.
    pub async fn connect(settings: &Settings) -> crate::Result<Self> {
        match &settings.redis_url {
            None => Ok(Self::memory()),
            Some(url) => Ok(Cache::Redis(Arc::new(
                Redis::connect(url, &settings.redis_prefix).await?,
            ))),
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Cache::Memory(_) => "in-process",
            Cache::Redis(_) => "redis",
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.get(key)),
            Cache::Redis(r) => Ok(r.pool.get::<Option<Bytes>, _>(r.key(key)).await?),
        }
    }

    pub async fn set(&self, key: &str, value: Bytes, ttl: Duration) -> Result<(), CacheError> {
        match self {
            Cache::Memory(m) => {
                m.set(key, value, ttl);
                Ok(())
            }
            Cache::Redis(r) => {
                let secs = ttl.as_secs().max(1) as i64;
                r.pool
                    .set::<(), _, _>(r.key(key), value, Some(Expiration::EX(secs)), None, false)
                    .await?;
                Ok(())
            }
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), CacheError> {
        match self {
            Cache::Memory(m) => {
                m.delete(key);
                Ok(())
            }
            Cache::Redis(r) => {
                r.pool.del::<(), _>(r.key(key)).await?;
                Ok(())
            }
        }
    }

    /// Adds one to a counter that lives for `window` from its first increment; returns the new
    /// count and the time left in the window. Atomic: concurrent hits each see their own count.
    pub async fn hit(&self, key: &str, window: Duration) -> Result<(i64, Duration), CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.hit(key, window)),
            Cache::Redis(r) => {
                let secs = window.as_secs().max(1) as i64;
                // One round trip: count, start the window on the first hit (or if its expiry
                // was ever lost), and read what is left of it.
                let (count, ttl): (i64, i64) = r
                    .pool
                    .eval(redis::HIT_SCRIPT, vec![r.key(key)], vec![secs])
                    .await?;
                Ok((count, Duration::from_secs(ttl.max(1) as u64)))
            }
        }
    }

    /// Takes one back from a windowed counter (a throttled attempt that turned out fine); never
    /// below zero, and never creates the counter.
    pub async fn release(&self, key: &str) -> Result<(), CacheError> {
        match self {
            Cache::Memory(m) => {
                m.release(key);
                Ok(())
            }
            Cache::Redis(r) => {
                let _: i64 = r
                    .pool
                    .eval(redis::RELEASE_SCRIPT, vec![r.key(key)], Vec::<i64>::new())
                    .await?;
                Ok(())
            }
        }
    }

    /// The current value of a counter and the time left in its window (0 when absent).
    pub async fn counter(&self, key: &str) -> Result<(i64, Duration), CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.counter(key)),
            Cache::Redis(r) => {
                let key = r.key(key);
                let count: Option<i64> = r.pool.get(&key).await?;
                let ttl: i64 = r.pool.ttl(&key).await?;
                Ok((count.unwrap_or(0), Duration::from_secs(ttl.max(0) as u64)))
            }
        }
    }

    /// Atomically increments a plain counter (no expiry); used for version numbers.
    pub async fn incr(&self, key: &str) -> Result<i64, CacheError> {
        match self {
            Cache::Memory(m) => Ok(m.incr(key)),
            Cache::Redis(r) => Ok(r.pool.incr(r.key(key)).await?),
        }
    }

    pub async fn publish(&self, channel: &str, payload: String) -> Result<(), CacheError> {
        match self {
            Cache::Memory(m) => {
                // No subscriber is not an error: nobody is listening yet.
                let _ = m.bus.send(BusMessage {
                    channel: channel.to_owned(),
                    payload,
                });
                Ok(())
            }
            Cache::Redis(r) => {
                r.pool
                    .next()
                    .publish::<(), _, _>(r.key(channel), payload)
                    .await?;
                Ok(())
            }
        }
    }

    /// Every message published on any of `channels::ALL`, by any replica.
    pub fn subscribe(&self) -> broadcast::Receiver<BusMessage> {
        match self {
            Cache::Memory(m) => m.bus.subscribe(),
            Cache::Redis(r) => r.bus.subscribe(),
        }
    }

    pub async fn ping(&self) -> Result<(), CacheError> {
        match self {
            Cache::Memory(_) => Ok(()),
            Cache::Redis(r) => {
                let _: String = r.pool.next().ping(None).await?;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_backend_expires_entries() {
        let cache = Cache::memory();
        cache
            .set("a", Bytes::from_static(b"1"), Duration::from_millis(30))
            .await
            .expect("memory never fails");
        assert_eq!(
            cache.get("a").await.ok().flatten(),
            Some(Bytes::from_static(b"1"))
        );
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get("a").await.ok().flatten(), None);
    }

    #[tokio::test]
    async fn memory_counters_count_within_a_window() {
        let cache = Cache::memory();
        let w = Duration::from_millis(50);
        assert_eq!(cache.hit("k", w).await.map(|r| r.0).ok(), Some(1));
        assert_eq!(cache.hit("k", w).await.map(|r| r.0).ok(), Some(2));
        assert_eq!(cache.counter("k").await.map(|r| r.0).ok(), Some(2));
        cache.release("k").await.expect("memory never fails");
        assert_eq!(cache.counter("k").await.map(|r| r.0).ok(), Some(1));
        cache.release("absent").await.expect("memory never fails");
        assert_eq!(cache.counter("absent").await.map(|r| r.0).ok(), Some(0));
        assert_eq!(cache.hit("k", w).await.map(|r| r.0).ok(), Some(2));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(cache.counter("k").await.map(|r| r.0).ok(), Some(0));
        assert_eq!(cache.hit("k", w).await.map(|r| r.0).ok(), Some(1));
        assert_eq!(cache.incr("v").await.ok(), Some(1));
        assert_eq!(cache.incr("v").await.ok(), Some(2));
    }

    #[tokio::test]
    async fn memory_bus_delivers_to_every_subscriber() {
        let cache = Cache::memory();
        let mut a = cache.subscribe();
        let mut b = cache.subscribe();
        cache
            .publish(channels::LIVE, "hello".into())
            .await
            .expect("memory never fails");
        for rx in [&mut a, &mut b] {
            let msg = rx.recv().await.expect("delivered");
            assert_eq!(msg.channel, "live");
            assert_eq!(msg.payload, "hello");
        }
    }
}
