//! The catalog: queries (search, filters, sorting, paging) served from a cache that every item
//! change invalidates at once, and the operators' item editing.

pub(crate) mod admin;
pub mod cache;
mod query;

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

use api_types::{Item, major_units};

pub use cache::{CatalogCache, ItemEntry, Page, SaleBoundaries, TagList, spawn_version_listener};
pub use query::{DEFAULT_PER_PAGE, MAX_PER_PAGE, Query};

use crate::domain::Tags;
use crate::entity::items;
use crate::{Error, Result, Store};

type Moment = DateTime<Utc>;

/// What a bundle costs one shopper, and what buying it grants them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleQuote {
    pub owned_item_ids: Vec<i64>,
    pub missing_item_ids: Vec<i64>,
    pub price_cents: i64,
    /// The items the bundle would grant (`missing_item_ids`), for the checkout's checks.
    pub(crate) missing: Vec<items::Model>,
    /// Units of each of the bundle's items the shopper already holds.
    pub(crate) held: std::collections::HashMap<i64, i64>,
}

pub struct Catalog<'a> {
    store: &'a Store,
}

impl<'a> Catalog<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// The active catalog, filtered, sorted and paged; served from cache.
    pub async fn list(&self, query: &Query) -> Result<Arc<Page>> {
        let now = Utc::now();
        let key = format!("e{}:{}", self.sale_epoch(now).await?, query.cache_key());
        self.store
            .catalog_cache()
            .get_or_load(self.store.cache(), key, || self.load(query, now))
            .await
    }

    /// One item's JSON (archived items included), served from cache.
    pub async fn get_cached(&self, id: i64) -> Result<Bytes> {
        Ok(self.get_entry(id).await?.body.clone())
    }

    /// One item with its JSON (archived items included), served from cache.
    pub async fn get_entry(&self, id: i64) -> Result<Arc<ItemEntry>> {
        let key = format!("e{}:item:{id}", self.sale_epoch(Utc::now()).await?);
        self.store
            .catalog_cache()
            .get_or_load(self.store.cache(), key, || async move {
                ItemEntry::new(self.get(id).await?)
            })
            .await
    }

    /// What the catalog's rendered pages depend on: its version and the sale boundaries that
    /// have passed. `None` when the version cannot be read (nothing should then be cached).
    pub async fn generation(&self) -> Result<Option<String>> {
        let Some(version) = self.store.catalog_cache().version(self.store.cache()).await else {
            return Ok(None);
        };
        Ok(Some(format!(
            "v{version}e{}",
            self.sale_epoch(Utc::now()).await?
        )))
    }

    /// How many sale starts and ends have passed (see [`SaleBoundaries`]).
    async fn sale_epoch(&self, now: DateTime<Utc>) -> Result<usize> {
        let boundaries: Arc<SaleBoundaries> = self
            .store
            .catalog_cache()
            .get_or_load(self.store.cache(), "sale-boundaries".to_owned(), || async {
                let rows: Vec<(Option<Moment>, Option<Moment>)> = items::Entity::find()
                    .select_only()
                    .column(items::Column::SaleStartsAt)
                    .column(items::Column::SaleEndsAt)
                    .filter(items::Column::SaleStartsAt.is_not_null())
                    .into_tuple()
                    .all(self.store.db())
                    .await?;
                let mut all: Vec<DateTime<Utc>> = rows
                    .into_iter()
                    .flat_map(|(a, b)| [a, b])
                    .flatten()
                    .collect();
                all.sort_unstable();
                all.dedup();
                Ok(SaleBoundaries(all))
            })
            .await?;
        Ok(boundaries.epoch(now))
    }

    /// Every tag used by an active item, sorted (for the filter UI); served from cache.
    pub async fn tags(&self) -> Result<Vec<String>> {
        let tags: Arc<TagList> = self
            .store
            .catalog_cache()
            .get_or_load(self.store.cache(), "tags".to_owned(), || async {
                let rows: Vec<String> = items::Entity::find()
                    .select_only()
                    .column(items::Column::Tags)
                    .filter(items::Column::Active.eq(true))
                    .into_tuple()
                    .all(self.store.db())
                    .await?;
                let set: BTreeSet<String> =
                    rows.iter().flat_map(|t| Tags::from_column(t)).collect();
                Ok(TagList(set.into_iter().collect()))
            })
            .await?;
        Ok(tags.0.clone())
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

    async fn load(&self, query: &Query, now: DateTime<Utc>) -> Result<Page> {
        let select = query::filtered(query, now);
        let total = select.clone().count(self.store.db()).await?;
        let rows = query::sorted(select, query.sort, now)
            .offset(u64::from(query.page - 1) * u64::from(query.per_page))
            .limit(u64::from(query.per_page))
            .all(self.store.db())
            .await?;
        Page::new(rows.iter().map(to_item).collect(), total)
    }

    /// One item by id, archived ones included (past orders link to them).
    pub async fn get(&self, id: i64) -> Result<Item> {
        items::Entity::find_by_id(id)
            .one(self.store.db())
            .await?
            .map(|row| to_item(&row))
            .ok_or(Error::NotFound("item"))
    }

    /// Every item, archived included, active first: the operators' view.
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

    /// A bundle as one shopper sees it: which of its items they own, and what the rest costs
    /// them — the bundle's discount off the items they do not own yet ("complete the set").
    /// `None` for an item that is not a bundle.
    pub async fn bundle_quote(
        &self,
        user_id: uuid::Uuid,
        bundle: &items::Model,
    ) -> Result<Option<BundleQuote>> {
        if !bundle.is_bundle() {
            return Ok(None);
        }
        let ids = bundle.bundle_items();
        let parts = items::Entity::find()
            .filter(items::Column::Id.is_in(ids.iter().copied()))
            .all(self.store.db())
            .await?;
        let held = crate::orders::held_units(self.store.db(), user_id, &ids).await?;
        let now = Utc::now();
        let (owned, missing): (Vec<&items::Model>, Vec<&items::Model>) = parts
            .iter()
            .partition(|p| !p.consumable && held.get(&p.id).copied().unwrap_or(0) > 0);
        let gross: i64 = missing.iter().map(|p| p.price_at(now)).sum();
        let percent = i64::from(bundle.bundle_discount_percent.unwrap_or(0));
        Ok(Some(BundleQuote {
            owned_item_ids: owned.iter().map(|p| p.id).collect(),
            missing_item_ids: missing.iter().map(|p| p.id).collect(),
            // At least one minor unit, as the list price: 50 % off the ¥1 left of a bundle
            // rounded to a free order (an attacker's pass).
            price_cents: crate::domain::discount::mul_div_half_even(gross, 100 - percent, 100)
                .max(1),
            missing: missing.into_iter().cloned().collect(),
            held,
        }))
    }

    /// An item's JSON as `user` sees it: a bundle carries what they own of it and its price
    /// for them.
    pub async fn get_for(&self, user_id: uuid::Uuid, id: i64) -> Result<Item> {
        let row = items::Entity::find_by_id(id)
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("item"))?;
        let mut item = to_item(&row);
        if let Some(quote) = self.bundle_quote(user_id, &row).await? {
            item.owned_item_ids = Some(quote.owned_item_ids);
            item.price_for_you_cents = Some(quote.price_cents);
        }
        Ok(item)
    }

    /// Units of limited stock were taken or given back: what the catalog shows as available
    /// changed, on every replica.
    pub(crate) async fn stock_changed(&self) {
        self.invalidate().await;
    }

    /// Makes every cached catalog response stale, on every replica.
    async fn invalidate(&self) {
        self.store
            .catalog_cache()
            .invalidate(self.store.cache())
            .await;
    }
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
        stock: row.stock,
        max_per_user: row.max_per_user,
        available: row.available(),
        sale: match (row.sale_percent_off, row.sale_starts_at, row.sale_ends_at) {
            (Some(percent_off), Some(starts_at), Some(ends_at)) => Some(api_types::Sale {
                percent_off,
                starts_at,
                ends_at,
            }),
            _ => None,
        },
        sale_price_cents: row.sale_price_at(Utc::now()),
        sale_ends_at: row.sale_price_at(Utc::now()).and(row.sale_ends_at),
        bundle_item_ids: row.bundle_items(),
        bundle_discount_percent: row.bundle_discount_percent.filter(|_| row.is_bundle()),
        owned_item_ids: None,
        price_for_you_cents: None,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
