//! The catalog: queries (search, filters, sorting, paging) served from a cache that every item
//! change invalidates at once, and the operators' item editing.
//!
//! Invalidation is by version number: every cache key carries the catalog version, and every
//! write bumps it. In embedded mode the version is a process-local counter; in production mode
//! it lives in Redis, so a write on one replica invalidates every replica's caches before its
//! response is sent. If Redis is unreachable the catalog is read from the database directly.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait as _, Func, LikeExpr};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, Condition, EntityTrait as _, PaginatorTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Select, Set, SqlErr,
};
use serde::{Deserialize, Serialize};

use api_types::{CatalogQuery, Item, Sort, major_units};

use crate::domain::{Description, ImageUrl, ItemName, Money, Sku, Tags};
use crate::entity::items;
use crate::{Cache, Error, Result, Store};

pub const DEFAULT_PER_PAGE: u32 = 20;
pub const MAX_PER_PAGE: u32 = 100;
const MAX_PAGE: u32 = 100_000;
const SHARED_TTL: Duration = Duration::from_secs(300);
const LOCAL_TTL: Duration = Duration::from_secs(300);
const LOCAL_MAX_ENTRIES: usize = 2048;
const VERSION_KEY: &str = "catalog:version";

/// A validated catalog query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Query {
    pub q: Option<String>,
    pub tag: Option<String>,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub sort: Sort,
    pub page: u32,
    pub per_page: u32,
}

impl Default for Query {
    fn default() -> Self {
        Self {
            q: None,
            tag: None,
            min_price: None,
            max_price: None,
            sort: Sort::default(),
            page: 1,
            per_page: DEFAULT_PER_PAGE,
        }
    }
}

fn present(raw: &Option<String>) -> Option<&str> {
    raw.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn whole<T: std::str::FromStr>(
    raw: &Option<String>,
    field: &'static str,
    what: &str,
) -> Result<Option<T>> {
    present(raw)
        .map(|s| {
            s.parse::<T>()
                .map_err(|_| Error::invalid(field, format!("{field} must be {what}")))
        })
        .transpose()
}

impl Query {
    pub fn parse(raw: &CatalogQuery) -> Result<Self> {
        for (field, value) in [
            ("q", &raw.q),
            ("tag", &raw.tag),
            ("min_price", &raw.min_price),
            ("max_price", &raw.max_price),
            ("sort", &raw.sort),
            ("page", &raw.page),
            ("per_page", &raw.per_page),
        ] {
            if let Some(value) = value {
                crate::domain::check_text(field, value, false)?;
            }
        }
        let q = present(&raw.q).map(str::to_owned);
        if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
            return Err(Error::invalid(
                "q",
                "search text must be at most 100 characters",
            ));
        }
        let tag = present(&raw.tag).map(str::to_ascii_lowercase);
        if let Some(tag) = &tag {
            Tags::check_one(tag).map_err(|_| {
                Error::invalid("tag", "tag must be 1–24 characters of a-z, 0-9 and '-'")
            })?;
        }
        let min_price: Option<i64> = whole(&raw.min_price, "min_price", "a whole number of cents")?;
        let max_price: Option<i64> = whole(&raw.max_price, "max_price", "a whole number of cents")?;
        if min_price.is_some_and(|p| p < 0) {
            return Err(Error::invalid(
                "min_price",
                "min_price must not be negative",
            ));
        }
        if max_price.is_some_and(|p| p < 0) {
            return Err(Error::invalid(
                "max_price",
                "max_price must not be negative",
            ));
        }
        if let (Some(min), Some(max)) = (min_price, max_price)
            && min > max
        {
            return Err(Error::invalid(
                "min_price",
                "min_price must not exceed max_price",
            ));
        }
        let sort = match present(&raw.sort) {
            None => Sort::default(),
            Some(s) => Sort::parse(s).ok_or_else(|| {
                Error::invalid("sort", "sort must be one of name, price, -price, newest")
            })?,
        };
        let page: u32 = whole(&raw.page, "page", "a whole number from 1")?.unwrap_or(1);
        if page == 0 || page > MAX_PAGE {
            return Err(Error::invalid("page", "page must be a whole number from 1"));
        }
        let per_page: u32 = whole(&raw.per_page, "per_page", "a whole number from 1 to 100")?
            .unwrap_or(DEFAULT_PER_PAGE);
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(Error::invalid(
                "per_page",
                "per_page must be between 1 and 100",
            ));
        }
        Ok(Self {
            q,
            tag,
            min_price,
            max_price,
            sort,
            page,
            per_page,
        })
    }

    /// The query string for this query at another page (for `Link` headers and page links),
    /// leaving out defaults so URLs stay short and canonical.
    pub fn to_query_string(&self, page: u32) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(q) = &self.q {
            pairs.push(("q", q.clone()));
        }
        if let Some(tag) = &self.tag {
            pairs.push(("tag", tag.clone()));
        }
        if let Some(p) = self.min_price {
            pairs.push(("min_price", p.to_string()));
        }
        if let Some(p) = self.max_price {
            pairs.push(("max_price", p.to_string()));
        }
        if self.sort != Sort::default() {
            pairs.push(("sort", self.sort.as_str().to_owned()));
        }
        if page != 1 {
            pairs.push(("page", page.to_string()));
        }
        if self.per_page != DEFAULT_PER_PAGE {
            pairs.push(("per_page", self.per_page.to_string()));
        }
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode_component(v)))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub fn page_count(&self, total: u64) -> u32 {
        Ord::max(total.div_ceil(u64::from(self.per_page)) as u32, 1)
    }

    fn cache_key(&self) -> String {
        format!("list:{}", self.to_query_string(self.page))
    }
}

fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Cached catalog content: a page of results (or one item) with its JSON body pre-rendered
/// for the REST API.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub items: Vec<Item>,
    /// For the tag list: every tag in use.
    pub tags: Vec<String>,
    pub total: u64,
    /// One item: `body` is that item's object rather than an array.
    pub single: bool,
    /// The JSON body, ready to send.
    pub body: Bytes,
}

#[derive(Serialize, Deserialize)]
struct StoredListing {
    total: u64,
    single: bool,
    items: Vec<Item>,
    #[serde(default)]
    tags: Vec<String>,
}

impl StoredListing {
    fn into_listing(self) -> Result<Listing> {
        if self.single {
            let item = self
                .items
                .into_iter()
                .next()
                .ok_or_else(|| Error::internal("empty cached item"))?;
            single(item)
        } else if !self.tags.is_empty() {
            tag_listing(self.tags)
        } else {
            listing(self.items, self.total)
        }
    }
}

/// The process-local (first-level) cache.
#[derive(Default)]
pub struct LocalCache {
    version: AtomicU64,
    listings: Mutex<HashMap<String, (Arc<Listing>, Instant)>>,
}

impl LocalCache {
    fn get(&self, key: &str) -> Option<Arc<Listing>> {
        let map = self.listings.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < LOCAL_TTL)
            .map(|(l, _)| l.clone())
    }

    fn put(&self, key: String, listing: Arc<Listing>) {
        let mut map = self.listings.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= LOCAL_MAX_ENTRIES {
            map.clear();
        }
        map.insert(key, (listing, Instant::now()));
    }
}

/// A new item, as an operator submits it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewItem {
    /// 2–64 of a-z 0-9 -, starting with a letter or digit.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{1,63}$")]
    pub sku: String,
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub description: String,
    /// Minor units (cents), 1 to 100,000,000.
    #[schema(minimum = 1, maximum = 100_000_000)]
    pub price_cents: i64,
    #[serde(default = "default_currency")]
    pub currency: String,
    #[serde(default)]
    pub image: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub consumable: bool,
}

fn default_currency() -> String {
    "USD".to_owned()
}

/// A partial update: fields that are present change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ItemPatch {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub price_cents: Option<i64>,
    pub currency: Option<String>,
    pub image: Option<String>,
    pub tags: Option<Vec<String>>,
    pub consumable: Option<bool>,
    pub active: Option<bool>,
}

pub struct Catalog<'a> {
    store: &'a Store,
}

impl<'a> Catalog<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// The active catalog, filtered, sorted and paged; served from cache.
    pub async fn list(&self, query: &Query) -> Result<Arc<Listing>> {
        self.cached(query.cache_key(), || self.load(query)).await
    }

    /// One item's JSON (archived items included), served from cache.
    pub async fn get_cached(&self, id: i64) -> Result<Bytes> {
        let listing = self
            .cached(format!("item:{id}"), || async move {
                let item = self.get(id).await?;
                single(item)
            })
            .await?;
        Ok(listing.body.clone())
    }

    /// The name of the item with this SKU, if any (for cover art).
    pub async fn name_for_sku(&self, sku: &str) -> Result<Option<String>> {
        Ok(items::Entity::find()
            .select_only()
            .column(items::Column::Name)
            .filter(items::Column::Sku.eq(sku))
            .into_tuple()
            .one(self.store.db())
            .await?)
    }

    /// Looks `key` up in the local cache, then (production mode) in Redis, and only then
    /// calls `load`, filling both. The key is qualified by the catalog version, so entries
    /// from before any write are never seen again.
    async fn cached<F, Fut>(&self, key: String, load: F) -> Result<Arc<Listing>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<Listing>>,
    {
        let Some(version) = self.version().await else {
            count_cache("bypass");
            return Ok(Arc::new(load().await?));
        };
        let key = format!("catalog:v{version}:{key}");
        let local = self.store.catalog_cache();
        if let Some(hit) = local.get(&key) {
            count_cache("local_hit");
            return Ok(hit);
        }
        let shared = self.store.cache();
        let redis = matches!(shared, Cache::Redis(_));
        if redis {
            match shared.get(&key).await {
                Ok(Some(bytes)) => {
                    if let Ok(stored) = serde_json::from_slice::<StoredListing>(&bytes) {
                        count_cache("shared_hit");
                        let listing = Arc::new(stored.into_listing()?);
                        local.put(key, listing.clone());
                        return Ok(listing);
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "catalog cache unavailable; reading the database");
                    count_cache("bypass");
                    return Ok(Arc::new(load().await?));
                }
            }
        }
        count_cache("miss");
        let fresh = Arc::new(load().await?);
        if redis {
            let stored = StoredListing {
                total: fresh.total,
                single: fresh.single,
                items: fresh.items.clone(),
                tags: fresh.tags.clone(),
            };
            if let Ok(bytes) = serde_json::to_vec(&stored)
                && let Err(e) = shared.set(&key, Bytes::from(bytes), SHARED_TTL).await
            {
                tracing::warn!(error = %e, "cannot fill the catalog cache");
            }
        }
        local.put(key, fresh.clone());
        Ok(fresh)
    }

    /// The current catalog version, or `None` when the shared cache cannot be asked.
    async fn version(&self) -> Option<u64> {
        match self.store.cache() {
            Cache::Memory(_) => Some(self.store.catalog_cache().version.load(Ordering::Acquire)),
            cache @ Cache::Redis(_) => match cache.get(VERSION_KEY).await {
                Ok(Some(raw)) => std::str::from_utf8(&raw).ok()?.parse().ok(),
                Ok(None) => Some(0),
                Err(e) => {
                    tracing::warn!(error = %e, "catalog version unavailable; bypassing the cache");
                    None
                }
            },
        }
    }

    /// Makes every cached catalog response stale, on every replica.
    async fn invalidate(&self) {
        self.store
            .catalog_cache()
            .version
            .fetch_add(1, Ordering::AcqRel);
        if let Cache::Redis(_) = self.store.cache()
            && let Err(e) = self.store.cache().incr(VERSION_KEY).await
        {
            tracing::error!(error = %e, "catalog version not bumped; other replicas may serve stale pages for up to 5 minutes");
        }
    }

    async fn load(&self, query: &Query) -> Result<Listing> {
        let select = filtered(query);
        let total = select.clone().count(self.store.db()).await?;
        let rows = sorted(select, query.sort)
            .offset(u64::from(query.page - 1) * u64::from(query.per_page))
            .limit(u64::from(query.per_page))
            .all(self.store.db())
            .await?;
        listing(rows.iter().map(to_item).collect(), total)
    }

    /// Every tag used by an active item, sorted (for the filter UI); served from cache.
    pub async fn tags(&self) -> Result<Vec<String>> {
        let listing = self
            .cached("tags".to_owned(), || async {
                let rows: Vec<String> = items::Entity::find()
                    .select_only()
                    .column(items::Column::Tags)
                    .filter(items::Column::Active.eq(true))
                    .into_tuple()
                    .all(self.store.db())
                    .await?;
                let set: BTreeSet<String> =
                    rows.iter().flat_map(|t| Tags::from_column(t)).collect();
                tag_listing(set.into_iter().collect())
            })
            .await?;
        Ok(listing.tags.clone())
    }

    /// One item by id, archived ones included (past orders link to them).
    pub async fn get(&self, id: i64) -> Result<Item> {
        items::Entity::find_by_id(id)
            .one(self.store.db())
            .await?
            .map(|row| to_item(&row))
            .ok_or(Error::NotFound("item"))
    }

    /// Every item, archived included, newest first: the operators' view.
    pub async fn list_all(&self) -> Result<Vec<Item>> {
        Ok(items::Entity::find()
            .order_by_desc(items::Column::Active)
            .order_by_asc(items::Column::Name)
            .all(self.store.db())
            .await?
            .iter()
            .map(to_item)
            .collect())
    }

    pub async fn create(&self, new: NewItem) -> Result<Item> {
        let sku = Sku::parse(&new.sku)?;
        let name = ItemName::parse(&new.name)?;
        let description = Description::parse(&new.description)?;
        let price = Money::parse(new.price_cents, &new.currency)?;
        let tags = Tags::parse(&new.tags)?;
        let image = match new
            .image
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(raw) => ImageUrl::parse(raw)?.as_str().to_owned(),
            None => format!("/covers/{}.svg", sku.as_str()),
        };
        let now = Utc::now();
        let row = items::ActiveModel {
            sku: Set(sku.as_str().to_owned()),
            name: Set(name.as_str().to_owned()),
            description: Set(description.as_str().to_owned()),
            price_cents: Set(price.cents()),
            currency: Set(price.currency().to_owned()),
            image: Set(image),
            tags: Set(tags.to_column()),
            consumable: Set(new.consumable),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        }
        .insert(self.store.db())
        .await
        .map_err(sku_conflict)?;
        self.invalidate().await;
        Ok(to_item(&row))
    }

    pub async fn update(&self, id: i64, patch: ItemPatch) -> Result<Item> {
        let current = items::Entity::find_by_id(id)
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("item"))?;
        let mut row: items::ActiveModel = current.clone().into();
        if let Some(sku) = &patch.sku {
            row.sku = Set(Sku::parse(sku)?.as_str().to_owned());
        }
        if let Some(name) = &patch.name {
            row.name = Set(ItemName::parse(name)?.as_str().to_owned());
        }
        if let Some(description) = &patch.description {
            row.description = Set(Description::parse(description)?.as_str().to_owned());
        }
        if patch.price_cents.is_some() || patch.currency.is_some() {
            let price = Money::parse(
                patch.price_cents.unwrap_or(current.price_cents),
                patch.currency.as_deref().unwrap_or(&current.currency),
            )?;
            row.price_cents = Set(price.cents());
            row.currency = Set(price.currency().to_owned());
        }
        if let Some(image) = &patch.image {
            row.image = Set(ImageUrl::parse(image)?.as_str().to_owned());
        }
        if let Some(tags) = &patch.tags {
            row.tags = Set(Tags::parse(tags)?.to_column());
        }
        if let Some(consumable) = patch.consumable {
            row.consumable = Set(consumable);
        }
        if let Some(active) = patch.active {
            row.active = Set(active);
        }
        row.updated_at = Set(Utc::now());
        let updated = row.update(self.store.db()).await.map_err(sku_conflict)?;
        self.invalidate().await;
        Ok(to_item(&updated))
    }

    /// Hides an item from the catalog; past orders still show it.
    pub async fn archive(&self, id: i64) -> Result<Item> {
        self.update(
            id,
            ItemPatch {
                active: Some(false),
                ..Default::default()
            },
        )
        .await
    }
}

fn count_cache(result: &'static str) {
    metrics::counter!("gamestore_catalog_cache_total", "result" => result).increment(1);
}

fn sku_conflict(e: sea_orm::DbErr) -> Error {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        Error::conflict("SKU_TAKEN", "another item already has that SKU")
    } else {
        e.into()
    }
}

fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn filtered(query: &Query) -> Select<items::Entity> {
    let mut select = items::Entity::find().filter(items::Column::Active.eq(true));
    if let Some(q) = &query.q {
        let pattern = format!("%{}%", escape_like(&q.to_lowercase()));
        let like = |col: items::Column| {
            Expr::expr(Func::lower(Expr::col((items::Entity, col))))
                .like(LikeExpr::new(pattern.clone()).escape('\\'))
        };
        select = select.filter(
            Condition::any()
                .add(like(items::Column::Name))
                .add(like(items::Column::Description)),
        );
    }
    if let Some(tag) = &query.tag {
        // Tags are validated to [a-z0-9-], so they need no LIKE escaping.
        select = select.filter(items::Column::Tags.like(format!("%,{tag},%")));
    }
    if let Some(min) = query.min_price {
        select = select.filter(items::Column::PriceCents.gte(min));
    }
    if let Some(max) = query.max_price {
        select = select.filter(items::Column::PriceCents.lte(max));
    }
    select
}

fn sorted(select: Select<items::Entity>, sort: Sort) -> Select<items::Entity> {
    match sort {
        Sort::Name => select
            .order_by_asc(items::Column::Name)
            .order_by_asc(items::Column::Id),
        Sort::Price => select
            .order_by_asc(items::Column::PriceCents)
            .order_by_asc(items::Column::Name)
            .order_by_asc(items::Column::Id),
        Sort::PriceDesc => select
            .order_by_desc(items::Column::PriceCents)
            .order_by_asc(items::Column::Name)
            .order_by_asc(items::Column::Id),
        Sort::Newest => select
            .order_by_desc(items::Column::CreatedAt)
            .order_by_desc(items::Column::Id),
    }
}

fn listing(items: Vec<Item>, total: u64) -> Result<Listing> {
    let body = serde_json::to_vec(&items).map_err(Error::internal)?;
    Ok(Listing {
        items,
        tags: Vec::new(),
        total,
        single: false,
        body: Bytes::from(body),
    })
}

fn tag_listing(tags: Vec<String>) -> Result<Listing> {
    let body = serde_json::to_vec(&tags).map_err(Error::internal)?;
    Ok(Listing {
        items: Vec::new(),
        total: tags.len() as u64,
        tags,
        single: false,
        body: Bytes::from(body),
    })
}

fn single(item: Item) -> Result<Listing> {
    let body = serde_json::to_vec(&item).map_err(Error::internal)?;
    Ok(Listing {
        items: vec![item],
        tags: Vec::new(),
        total: 1,
        single: true,
        body: Bytes::from(body),
    })
}

pub(crate) fn to_item(row: &items::Model) -> Item {
    Item {
        id: row.id,
        sku: row.sku.clone(),
        name: row.name.clone(),
        description: row.description.clone(),
        price: major_units(row.price_cents, &row.currency),
        price_cents: row.price_cents,
        currency: row.currency.clone(),
        image: row.image.clone(),
        tags: Tags::from_column(&row.tags),
        consumable: row.consumable,
        active: row.active,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> CatalogQuery {
        let mut r = CatalogQuery::default();
        for (k, v) in pairs {
            let v = Some((*v).to_owned());
            match *k {
                "q" => r.q = v,
                "tag" => r.tag = v,
                "min_price" => r.min_price = v,
                "max_price" => r.max_price = v,
                "sort" => r.sort = v,
                "page" => r.page = v,
                "per_page" => r.per_page = v,
                _ => unreachable!(),
            }
        }
        r
    }

    fn field_of(pairs: &[(&str, &str)]) -> Option<String> {
        Query::parse(&raw(pairs))
            .err()
            .and_then(|e| e.field().map(str::to_owned))
    }

    #[test]
    fn blank_parameters_mean_defaults() {
        let q = Query::parse(&raw(&[("q", " "), ("tag", ""), ("page", "")])).expect("valid");
        assert_eq!(q, Query::default());
    }

    #[test]
    fn invalid_parameters_name_their_field() {
        assert_eq!(field_of(&[("page", "0")]).as_deref(), Some("page"));
        assert_eq!(field_of(&[("page", "x")]).as_deref(), Some("page"));
        assert_eq!(
            field_of(&[("per_page", "101")]).as_deref(),
            Some("per_page")
        );
        assert_eq!(field_of(&[("sort", "cheap")]).as_deref(), Some("sort"));
        assert_eq!(
            field_of(&[("min_price", "-1")]).as_deref(),
            Some("min_price")
        );
        assert_eq!(
            field_of(&[("max_price", "9.99")]).as_deref(),
            Some("max_price")
        );
        assert_eq!(
            field_of(&[("min_price", "500"), ("max_price", "100")]).as_deref(),
            Some("min_price")
        );
        assert_eq!(field_of(&[("tag", "a b")]).as_deref(), Some("tag"));
        assert_eq!(field_of(&[("q", &"x".repeat(101))]).as_deref(), Some("q"));
        assert_eq!(field_of(&[("q", "sword\0")]).as_deref(), Some("q"));
        assert_eq!(field_of(&[("sort", "name\0")]).as_deref(), Some("sort"));
    }

    #[test]
    fn query_strings_are_canonical() {
        let q = Query::parse(&raw(&[
            ("q", "dragon sword"),
            ("sort", "-price"),
            ("per_page", "20"),
        ]))
        .expect("valid");
        assert_eq!(q.to_query_string(1), "q=dragon%20sword&sort=-price");
        assert_eq!(q.to_query_string(3), "q=dragon%20sword&sort=-price&page=3");
        assert_eq!(Query::default().to_query_string(1), "");
    }

    #[test]
    fn like_patterns_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
    }
}
