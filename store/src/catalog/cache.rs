//! The catalog cache: what is kept, under which key, and how every replica learns that it is
//! stale.
//!
//! Invalidation is by version number: every key carries the catalog version, and every write
//! bumps it. In embedded mode the version is a process-local counter. In production mode it
//! lives in Redis (`INCR`), and each replica keeps a copy in memory so that a read costs no
//! round trip: a write publishes the new version on the `catalog` channel, which every replica's
//! listener applies at once (typically within a millisecond), and a copy older than
//! [`VERSION_STALENESS`] is read again from Redis, so a lost message (a reconnect) is made good
//! within that bound. Each replica keeps a bounded LRU of entries in memory (`moka`), in front of
//! the entries shared through Redis. If Redis is unreachable the catalog is read from the
//! database directly.

use std::future::Future;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use api_types::Item;

use crate::{Cache, Error, Result};

const SHARED_TTL: Duration = Duration::from_secs(300);
const LOCAL_TTL: Duration = Duration::from_secs(300);
/// Entries each replica keeps in memory per kind, least recently used evicted first.
const LOCAL_CAPACITY: u64 = 2048;
const VERSION_KEY: &str = "catalog:version";
/// The longest a replica answers from its copy of the production catalog version without
/// asking Redis: the bound on staleness if a `catalog` message is lost.
pub const VERSION_STALENESS: Duration = Duration::from_secs(1);

/// One page of the catalog, with its JSON body ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub items: Vec<Item>,
    /// Matching items in all pages.
    pub total: u64,
    pub body: Bytes,
    /// `body` gzipped, made on first use and kept with it.
    gzipped: OnceLock<Bytes>,
}

impl Page {
    pub fn new(items: Vec<Item>, total: u64) -> Result<Self> {
        let body = Bytes::from(serde_json::to_vec(&items).map_err(Error::internal)?);
        Ok(Self {
            items,
            total,
            body,
            gzipped: OnceLock::new(),
        })
    }

    /// The JSON body gzipped (compressed once per cached page, not per request).
    pub fn gzipped(&self) -> &Bytes {
        self.gzipped.get_or_init(|| {
            let mut encoder = flate2::write::GzEncoder::new(
                Vec::with_capacity(self.body.len() / 4),
                flate2::Compression::default(),
            );
            // Writing to a Vec cannot fail.
            let _ = encoder.write_all(&self.body);
            Bytes::from(encoder.finish().unwrap_or_default())
        })
    }
}

/// One item (archived ones included), with its JSON body ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemEntry {
    pub item: Item,
    pub body: Bytes,
}

impl ItemEntry {
    pub fn new(item: Item) -> Result<Self> {
        let body = Bytes::from(serde_json::to_vec(&item).map_err(Error::internal)?);
        Ok(Self { item, body })
    }
}

/// Every tag in use by an active item, sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct TagList(pub Vec<String>);

/// Every moment a timed sale starts or ends, sorted. How many of them have passed is part of
/// every price-bearing cache key, so at the moment a sale starts or ends every replica stops
/// serving the old prices, with no message to send or lose.
#[derive(Debug, Clone, PartialEq)]
pub struct SaleBoundaries(pub Vec<chrono::DateTime<chrono::Utc>>);

impl SaleBoundaries {
    /// How many boundaries lie at or before `now`.
    pub fn epoch(&self, now: chrono::DateTime<chrono::Utc>) -> usize {
        self.0.partition_point(|b| *b <= now)
    }
}

impl Cached for SaleBoundaries {
    type Stored = Vec<chrono::DateTime<chrono::Utc>>;
    fn to_stored(&self) -> Self::Stored {
        self.0.clone()
    }
    fn from_stored(boundaries: Self::Stored) -> Result<Self> {
        Ok(SaleBoundaries(boundaries))
    }
}

impl Kind for SaleBoundaries {
    fn local(cache: &CatalogCache) -> &Local<Self> {
        &cache.boundaries
    }
}

/// What a cached value is in Redis: its data without the pre-rendered body, which is rebuilt
/// on the way in.
pub trait Cached: Sized + Send + Sync + 'static {
    type Stored: Serialize + DeserializeOwned;
    fn to_stored(&self) -> Self::Stored;
    fn from_stored(stored: Self::Stored) -> Result<Self>;
}

impl Cached for Page {
    type Stored = (Vec<Item>, u64);
    fn to_stored(&self) -> Self::Stored {
        (self.items.clone(), self.total)
    }
    fn from_stored((items, total): Self::Stored) -> Result<Self> {
        Page::new(items, total)
    }
}

impl Cached for ItemEntry {
    type Stored = Item;
    fn to_stored(&self) -> Self::Stored {
        self.item.clone()
    }
    fn from_stored(item: Self::Stored) -> Result<Self> {
        ItemEntry::new(item)
    }
}

impl Cached for TagList {
    type Stored = Vec<String>;
    fn to_stored(&self) -> Self::Stored {
        self.0.clone()
    }
    fn from_stored(tags: Self::Stored) -> Result<Self> {
        Ok(TagList(tags))
    }
}

type Local<T> = moka::sync::Cache<String, Arc<T>>;

fn local<T: Send + Sync + 'static>() -> Local<T> {
    moka::sync::Cache::builder()
        .max_capacity(LOCAL_CAPACITY)
        .time_to_live(LOCAL_TTL)
        .build()
}

/// The process-local half of the catalog cache, one per `Store`.
pub struct CatalogCache {
    version: AtomicU64,
    /// Production mode: this replica's copy of the Redis version, and when it was last
    /// confirmed (microseconds since `epoch`; 0: never).
    shared_version: AtomicU64,
    confirmed_at: AtomicU64,
    epoch: Instant,
    pages: Local<Page>,
    items: Local<ItemEntry>,
    tags: Local<TagList>,
    boundaries: Local<SaleBoundaries>,
}

impl Default for CatalogCache {
    fn default() -> Self {
        Self {
            version: AtomicU64::new(0),
            shared_version: AtomicU64::new(0),
            confirmed_at: AtomicU64::new(0),
            epoch: Instant::now(),
            pages: local(),
            items: local(),
            tags: local(),
            boundaries: local(),
        }
    }
}

/// Which of the local caches a kind of entry lives in.
pub trait Kind: Cached {
    fn local(cache: &CatalogCache) -> &Local<Self>;
}

impl Kind for Page {
    fn local(cache: &CatalogCache) -> &Local<Self> {
        &cache.pages
    }
}

impl Kind for ItemEntry {
    fn local(cache: &CatalogCache) -> &Local<Self> {
        &cache.items
    }
}

impl Kind for TagList {
    fn local(cache: &CatalogCache) -> &Local<Self> {
        &cache.tags
    }
}

impl CatalogCache {
    /// Looks `key` up in this replica's memory, then (production mode) in Redis, and only then
    /// calls `load`, filling both. The key is qualified by the catalog version, so entries from
    /// before any write are never seen again.
    pub async fn get_or_load<T, F, Fut>(
        &self,
        shared: &Cache,
        key: String,
        load: F,
    ) -> Result<Arc<T>>
    where
        T: Kind,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let Some(version) = self.version(shared).await else {
            count("bypass");
            return Ok(Arc::new(load().await?));
        };
        let key = format!("catalog:v{version}:{key}");
        let local = T::local(self);
        if let Some(hit) = local.get(&key) {
            count("local_hit");
            return Ok(hit);
        }
        let redis = matches!(shared, Cache::Redis(_));
        if redis {
            match shared.get(&key).await {
                Ok(Some(bytes)) => {
                    if let Ok(stored) = serde_json::from_slice::<T::Stored>(&bytes) {
                        count("shared_hit");
                        let value = Arc::new(T::from_stored(stored)?);
                        local.insert(key, value.clone());
                        return Ok(value);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "catalog cache unavailable; reading the database");
                    count("bypass");
                    return Ok(Arc::new(load().await?));
                }
            }
        }
        count("miss");
        let fresh = Arc::new(load().await?);
        if redis
            && let Ok(bytes) = serde_json::to_vec(&fresh.to_stored())
            && let Err(e) = shared.set(&key, Bytes::from(bytes), SHARED_TTL).await
        {
            tracing::warn!(error = %e, "cannot fill the catalog cache");
        }
        local.insert(key, fresh.clone());
        Ok(fresh)
    }

    fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The current catalog version, or `None` when the shared cache cannot be asked. In
    /// production mode this replica's copy answers while it is younger than
    /// [`VERSION_STALENESS`]; then Redis is asked again.
    pub async fn version(&self, shared: &Cache) -> Option<u64> {
        match shared {
            Cache::Memory(_) => Some(self.version.load(Ordering::Acquire)),
            Cache::Redis(_) => {
                let confirmed = self.confirmed_at.load(Ordering::Acquire);
                let fresh_for = VERSION_STALENESS.as_micros() as u64;
                if confirmed != 0 && self.now_us().saturating_sub(confirmed) < fresh_for {
                    return Some(self.shared_version.load(Ordering::Acquire));
                }
                let version = match shared.get(VERSION_KEY).await {
                    Ok(Some(raw)) => std::str::from_utf8(&raw).ok()?.parse().ok()?,
                    Ok(None) => 0,
                    Err(e) => {
                        tracing::warn!(error = %e, "catalog version unavailable; bypassing the cache");
                        return None;
                    }
                };
                count("version_read");
                Some(self.learn(version))
            }
        }
    }

    /// Takes `version` as the shared version (from Redis or a `catalog` message), unless a
    /// newer one is already known, and counts it as confirmed now. Returns the version in force.
    pub fn learn(&self, version: u64) -> u64 {
        let previous = self.shared_version.fetch_max(version, Ordering::AcqRel);
        self.confirmed_at.store(self.now_us(), Ordering::Release);
        previous.max(version)
    }

    /// Makes every cached catalog response stale, on every replica: the version goes up in
    /// Redis, and the new one is announced on the `catalog` channel.
    pub async fn invalidate(&self, shared: &Cache) {
        self.version.fetch_add(1, Ordering::AcqRel);
        if let Cache::Redis(_) = shared {
            match shared.incr(VERSION_KEY).await {
                Ok(version) => {
                    let version = u64::try_from(version).unwrap_or(0);
                    self.learn(version);
                    if let Err(e) = shared
                        .publish(crate::cache::channels::CATALOG, version.to_string())
                        .await
                    {
                        tracing::warn!(error = %e, "catalog change not announced; other replicas catch up within a second");
                    }
                }
                Err(e) => {
                    // Nobody can be told: make this replica re-read the version at once.
                    self.confirmed_at.store(0, Ordering::Release);
                    tracing::error!(error = %e, "catalog version not bumped; other replicas may serve stale pages for up to 5 minutes");
                }
            }
        }
    }
}

/// Applies the versions other replicas announce on the `catalog` channel, for as long as the
/// process runs.
pub fn spawn_version_listener(store: crate::Store) -> tokio::task::JoinHandle<()> {
    let mut bus = store.cache().subscribe();
    tokio::spawn(async move {
        loop {
            match bus.recv().await {
                Ok(msg) if msg.channel == crate::cache::channels::CATALOG => {
                    if let Ok(version) = msg.payload.parse::<u64>() {
                        store.catalog_cache().learn(version);
                    }
                }
                Ok(_) => {}
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    // Messages were missed: ask Redis on the next read.
                    store
                        .catalog_cache()
                        .confirmed_at
                        .store(0, Ordering::Release);
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    })
}

fn count(result: &'static str) {
    metrics::counter!("gamestore_catalog_cache_total", "result" => result).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entries_are_served_from_memory_until_a_write() {
        let cache = CatalogCache::default();
        let shared = Cache::memory();
        let loads = AtomicU64::new(0);
        let load = || async {
            loads.fetch_add(1, Ordering::Relaxed);
            Ok(TagList(vec!["fire".to_owned()]))
        };
        let first: Arc<TagList> = cache
            .get_or_load(&shared, "tags".into(), load)
            .await
            .expect("loads");
        let again: Arc<TagList> = cache
            .get_or_load(&shared, "tags".into(), load)
            .await
            .expect("hits");
        assert_eq!(first, again);
        assert_eq!(loads.load(Ordering::Relaxed), 1);
        cache.invalidate(&shared).await;
        let _: Arc<TagList> = cache
            .get_or_load(&shared, "tags".into(), load)
            .await
            .expect("reloads");
        assert_eq!(loads.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn pages_rebuild_their_body_from_what_redis_keeps() {
        let page = Page::new(vec![], 7).expect("page");
        let stored = serde_json::to_vec(&page.to_stored()).expect("json");
        let back = Page::from_stored(serde_json::from_slice(&stored).expect("json")).expect("page");
        assert_eq!(back, page);
        assert_eq!(&back.body[..], b"[]");
    }
}
