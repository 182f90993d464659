//! The cache and pub/sub seam: in-process in embedded mode, Redis (fred) in production mode.
//!
//! Callers see one small API (get/set with TTL, windowed counters, publish/subscribe); which
//! backend runs is chosen by `REDIS_URL`. Keys and channels are prefixed (`REDIS_KEY_PREFIX`) so
//! several stores or test runs can share one Redis. Redis failures surface as `CacheError`, and
//! callers degrade (the catalog falls back to the database) rather than fail the request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fred::clients::{Pool, SubscriberClient};
use fred::prelude::*;
use tokio::sync::broadcast;

use crate::Settings;

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

const HIT_SCRIPT: &str = r"
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if count == 1 or ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
";

const RELEASE_SCRIPT: &str = r"
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count > 0 then
  return redis.call('DECR', KEYS[1])
end
return 0
";

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
                    .eval(HIT_SCRIPT, vec![r.key(key)], vec![secs])
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
                    .eval(RELEASE_SCRIPT, vec![r.key(key)], Vec::<i64>::new())
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

/// The in-process backend: bounded maps and a broadcast channel.
pub struct Memory {
    entries: Mutex<HashMap<String, (Bytes, Instant)>>,
    counters: Mutex<HashMap<String, (i64, Instant)>>,
    bus: broadcast::Sender<BusMessage>,
}

const MEMORY_MAX_ENTRIES: usize = 10_000;

impl Memory {
    fn new() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
            bus: broadcast::channel(BUS_CAPACITY).0,
        }
    }

    fn get(&self, key: &str) -> Option<Bytes> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(key)
            .filter(|(_, expires)| *expires > Instant::now())
            .map(|(value, _)| value.clone())
    }

    fn set(&self, key: &str, value: Bytes, ttl: Duration) {
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

    fn delete(&self, key: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(key);
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        counters.remove(key);
    }

    fn hit(&self, key: &str, window: Duration) -> (i64, Duration) {
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

    fn release(&self, key: &str) {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if let Some(entry) = counters.get_mut(key)
            && entry.1 > now
            && entry.0 > 0
        {
            entry.0 -= 1;
        }
    }

    fn counter(&self, key: &str) -> (i64, Duration) {
        let counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        counters
            .get(key)
            .filter(|(_, expires)| *expires > now)
            .map_or((0, Duration::ZERO), |(count, expires)| {
                (*count, expires.saturating_duration_since(now))
            })
    }

    fn incr(&self, key: &str) -> i64 {
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        // Version counters never expire: a far-future deadline.
        let forever = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        let entry = counters.entry(key.to_owned()).or_insert((0, forever));
        entry.0 += 1;
        entry.0
    }
}

/// The Redis backend: a small connection pool for commands, one subscriber connection that
/// re-subscribes after reconnects, and a local broadcast channel fed by it.
pub struct Redis {
    pool: Pool,
    prefix: String,
    bus: broadcast::Sender<BusMessage>,
    _subscriber: SubscriberClient,
}

impl Redis {
    async fn connect(url: &str, prefix: &str) -> crate::Result<Self> {
        let config = Config::from_url(url).map_err(|e| crate::Error::Unavailable {
            code: "CACHE_UNAVAILABLE",
            message: format!("invalid REDIS_URL: {e}"),
        })?;
        let builder = {
            let mut b = Builder::from_config(config);
            b.with_connection_config(|c| {
                c.connection_timeout = Duration::from_secs(2);
                c.internal_command_timeout = Duration::from_secs(2);
            })
            .with_performance_config(|p| {
                p.default_command_timeout = Duration::from_millis(750);
            })
            .set_policy(ReconnectPolicy::new_exponential(0, 100, 5_000, 2));
            b
        };
        let pool = builder.build_pool(4).map_err(redis_unavailable)?;
        let subscriber = builder
            .build_subscriber_client()
            .map_err(redis_unavailable)?;

        for client in pool.clients() {
            watch_connection(client, "commands");
        }
        watch_connection(&subscriber, "pub/sub");

        pool.connect();
        subscriber.connect();
        let ready = async {
            pool.wait_for_connect().await?;
            subscriber.wait_for_connect().await
        };
        match tokio::time::timeout(Duration::from_secs(3), ready).await {
            Ok(Ok(())) => tracing::info!("connected to Redis"),
            Ok(Err(e)) => tracing::error!(error = %e, "Redis is unreachable; running degraded"),
            Err(_) => tracing::error!("Redis did not answer in 3 s; running degraded"),
        }

        let (bus, _) = broadcast::channel(BUS_CAPACITY);
        let _resubscribe = subscriber.manage_subscriptions();
        let channel_names: Vec<String> = channels::ALL
            .iter()
            .map(|c| format!("{prefix}{c}"))
            .collect();
        if let Err(e) = subscriber.subscribe(channel_names.clone()).await {
            tracing::error!(error = %e, "cannot subscribe yet; will subscribe after reconnecting");
        }
        forward_messages(&subscriber, prefix.to_owned(), bus.clone());

        Ok(Self {
            pool,
            prefix: prefix.to_owned(),
            bus,
            _subscriber: subscriber,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

fn redis_unavailable(e: fred::error::Error) -> crate::Error {
    crate::Error::Unavailable {
        code: "CACHE_UNAVAILABLE",
        message: format!("cannot set up the Redis client: {e}"),
    }
}

fn watch_connection(client: &impl EventInterface, role: &'static str) {
    let mut errors = client.error_rx();
    let mut reconnects = client.reconnect_rx();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                e = errors.recv() => match e {
                    Ok((error, _server)) => tracing::warn!(role, error = %error, "Redis connection error"),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                r = reconnects.recv() => match r {
                    Ok(server) => tracing::info!(role, %server, "reconnected to Redis"),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
    });
}

fn forward_messages(
    subscriber: &SubscriberClient,
    prefix: String,
    bus: broadcast::Sender<BusMessage>,
) {
    let mut messages = subscriber.message_rx();
    tokio::spawn(async move {
        loop {
            match messages.recv().await {
                Ok(message) => {
                    let channel = message.channel.to_string();
                    let Some(channel) = channel.strip_prefix(&prefix) else {
                        continue;
                    };
                    let Some(payload) = message.value.as_string() else {
                        continue;
                    };
                    let _ = bus.send(BusMessage {
                        channel: channel.to_owned(),
                        payload,
                    });
                }
                Err(broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!(skipped = n, "pub/sub consumer lagged");
                }
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    });
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
