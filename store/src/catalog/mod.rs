//! The catalog: queries (search, filters, sorting, paging) served from a cache that every item
//! change invalidates at once, and the operators' item editing.

mod admin;
pub mod cache;
mod query;

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _,
};

use api_types::{Item, major_units};

pub use cache::{CatalogCache, ItemEntry, Page, TagList};
pub use query::{DEFAULT_PER_PAGE, MAX_PER_PAGE, Query};

use crate::domain::Tags;
use crate::entity::items;
use crate::{Error, Result, Store};

pub struct Catalog<'a> {
    store: &'a Store,
}

impl<'a> Catalog<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// The active catalog, filtered, sorted and paged; served from cache.
    pub async fn list(&self, query: &Query) -> Result<Arc<Page>> {
        self.store
            .catalog_cache()
            .get_or_load(self.store.cache(), query.cache_key(), || self.load(query))
            .await
    }

    /// One item's JSON (archived items included), served from cache.
    pub async fn get_cached(&self, id: i64) -> Result<Bytes> {
        let entry: Arc<ItemEntry> = self
            .store
            .catalog_cache()
            .get_or_load(self.store.cache(), format!("item:{id}"), || async move {
                ItemEntry::new(self.get(id).await?)
            })
            .await?;
        Ok(entry.body.clone())
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

    async fn load(&self, query: &Query) -> Result<Page> {
        let select = query::filtered(query);
        let total = select.clone().count(self.store.db()).await?;
        let rows = query::sorted(select, query.sort)
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
        created_at: row.created_at,
        updated_at: row.updated_at,
    }
}
