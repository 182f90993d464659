//! The operators' item writes: create, edit, archive. Every write makes the cached catalog
//! stale on every replica (see `cache`).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    QuerySelect as _, Set, SqlErr,
};
use serde_json::json;

use api_types::{Item, ItemPatch, NewItem};

use super::{Catalog, to_item};
use crate::accounts::CurrentUser;
use crate::audit::{self, Actor, Entry};
use crate::domain::{Description, ImageUrl, ItemName, Money, Sku, Tags};
use crate::entity::items;
use crate::entity::items::ids_to_column;
use crate::{Error, Result};

impl Catalog<'_> {
    pub async fn create(&self, actor: &CurrentUser, new: NewItem) -> Result<Item> {
        actor.require_admin()?;
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
        let bundle = self
            .check_bundle(
                None,
                &new.bundle_item_ids,
                new.bundle_discount_percent,
                price.currency(),
            )
            .await?;
        let (price_cents, consumable) = match &bundle {
            Some(b) => (b.price_cents, false),
            None => (price.cents(), new.consumable),
        };
        if bundle.is_some() && new.sale.is_some() {
            return Err(bundle_sale());
        }
        let sale = check_sale(new.sale.as_ref(), price_cents)?;
        let row = items::ActiveModel {
            sku: Set(sku.as_str().to_owned()),
            name: Set(name.as_str().to_owned()),
            description: Set(description.as_str().to_owned()),
            price_cents: Set(price_cents),
            currency: Set(price.currency().to_owned()),
            image: Set(image),
            tags: Set(tags.to_column()),
            consumable: Set(consumable),
            sale_percent_off: Set(sale.map(|s| s.0)),
            sale_starts_at: Set(new.sale.as_ref().map(|s| s.starts_at)),
            sale_ends_at: Set(new.sale.as_ref().map(|s| s.ends_at)),
            sale_price_cents: Set(sale.map(|s| s.1)),
            bundle_item_ids: Set(bundle
                .as_ref()
                .map(|b| ids_to_column(&b.ids))
                .unwrap_or_default()),
            bundle_discount_percent: Set(bundle.as_ref().map(|b| b.percent)),
            sellouts: Set(0),
            active: Set(true),
            stock: Set(check_stock(new.stock)?),
            committed: Set(0),
            max_per_user: Set(check_max_per_user(new.max_per_user)?),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = crate::db::begin_write(self.store.db()).await?;
        if let Some(b) = &bundle {
            lock_parts(&txn, &b.ids, price.currency()).await?;
        }
        let row = row.insert(&txn).await.map_err(sku_conflict)?;
        let item = to_item(&row);
        audit::record(
            &txn,
            Entry::new(
                Actor::user(actor),
                audit::action::ITEM_CREATE,
                "item",
                row.id,
                audited(&item),
            ),
        )
        .await?;
        txn.commit().await?;
        self.invalidate().await;
        Ok(item)
    }

    pub async fn update(&self, actor: &CurrentUser, id: i64, patch: ItemPatch) -> Result<Item> {
        self.change(actor, id, patch, audit::action::ITEM_UPDATE)
            .await
    }

    async fn change(
        &self,
        actor: &CurrentUser,
        id: i64,
        patch: ItemPatch,
        action: &'static str,
    ) -> Result<Item> {
        actor.require_admin()?;
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
        let currency = match &row.currency {
            sea_orm::ActiveValue::Set(c) | sea_orm::ActiveValue::Unchanged(c) => c.clone(),
            sea_orm::ActiveValue::NotSet => current.currency.clone(),
        };
        let bundle_ids = patch
            .bundle_item_ids
            .clone()
            .unwrap_or_else(|| current.bundle_items());
        let bundle_percent = patch
            .bundle_discount_percent
            .unwrap_or(current.bundle_discount_percent);
        let currency_changed = currency != current.currency;
        if currency_changed && !current.is_bundle() {
            refuse_if_bundled(self.store.db(), &current, "priced in the bundle's currency").await?;
        }
        if !current.is_bundle()
            && patch
                .bundle_item_ids
                .as_ref()
                .is_some_and(|ids| !ids.is_empty())
            && crate::keys::has_pool(self.store.db(), id).await?
        {
            return Err(has_keys());
        }
        if patch.bundle_item_ids.is_some()
            || patch.bundle_discount_percent.is_some()
            || (currency_changed && current.is_bundle())
        {
            let bundle = self
                .check_bundle(Some(id), &bundle_ids, bundle_percent, &currency)
                .await?;
            row.bundle_item_ids = Set(bundle
                .as_ref()
                .map(|b| ids_to_column(&b.ids))
                .unwrap_or_default());
            row.bundle_discount_percent = Set(bundle.as_ref().map(|b| b.percent));
            if let Some(b) = &bundle {
                row.price_cents = Set(b.price_cents);
                row.consumable = Set(false);
            }
        }
        let price_now = match &row.price_cents {
            sea_orm::ActiveValue::Set(p) | sea_orm::ActiveValue::Unchanged(p) => *p,
            sea_orm::ActiveValue::NotSet => current.price_cents,
        };
        let sale = match &patch.sale {
            Some(sale) => sale.clone(),
            // A bundle carries no sale forward: one set before bundles refused them is
            // dropped by its next change, which would otherwise be refused for it.
            None if current.is_bundle() => None,
            None => match (
                current.sale_percent_off,
                current.sale_starts_at,
                current.sale_ends_at,
            ) {
                (Some(percent_off), Some(starts_at), Some(ends_at)) => Some(api_types::Sale {
                    percent_off,
                    starts_at,
                    ends_at,
                }),
                _ => None,
            },
        };
        let bundle_now = match &row.bundle_item_ids {
            sea_orm::ActiveValue::Set(ids) | sea_orm::ActiveValue::Unchanged(ids) => {
                !ids.is_empty()
            }
            sea_orm::ActiveValue::NotSet => current.is_bundle(),
        };
        if bundle_now && sale.is_some() {
            return Err(bundle_sale());
        }
        let priced = check_sale(sale.as_ref(), price_now)?;
        row.sale_percent_off = Set(priced.map(|s| s.0));
        row.sale_starts_at = Set(sale.as_ref().map(|s| s.starts_at));
        row.sale_ends_at = Set(sale.as_ref().map(|s| s.ends_at));
        row.sale_price_cents = Set(priced.map(|s| s.1));
        if let Some(stock) = patch.stock {
            let stock = check_stock(stock)?;
            if stock != current.stock && crate::keys::has_pool(self.store.db(), id).await? {
                return Err(Error::conflict(
                    "STOCK_FOLLOWS_KEYS",
                    "this item sells license keys: its stock is the keys left; add keys instead",
                ));
            }
            if stock.is_some() && current.stock.is_none() {
                refuse_if_bundled(self.store.db(), &current, "sold in unlimited numbers").await?;
            }
            row.stock = Set(stock);
        }
        if let Some(max) = patch.max_per_user {
            row.max_per_user = Set(check_max_per_user(max)?);
        }
        row.updated_at = Set(Utc::now());
        let txn = crate::db::begin_write(self.store.db()).await?;
        let becomes_bundle = !current.is_bundle() && bundle_now;
        let limits = matches!(row.stock, sea_orm::ActiveValue::Set(Some(_)));
        let part_moves_currency = currency_changed && !current.is_bundle();
        if limits || becomes_bundle || part_moves_currency {
            // Unlimited items do not count their units: becoming limited counts them, under
            // the row lock that checkouts of the item wait for (see `orders::take_units`).
            // The same lock orders this against a key import (which takes it too) and against
            // a bundle being built of this item (which holds it shared while it reads its
            // parts, `lock_parts`), and the rules checked above are checked again under it:
            // two writes at the same moment could each pass them (an attacker's pass made
            // keyed bundles that way).
            if becomes_bundle {
                // This row and its parts', in id order: two items made bundles of each other
                // at the same moment would otherwise each hold its own row and wait for the
                // other's (PostgreSQL broke that deadlock by failing one with a 503). In order,
                // the second waits, then finds the first a bundle and is refused.
                let mut rows = bundle_ids_after(&row, &current);
                rows.push(id);
                items::Entity::find()
                    .filter(items::Column::Id.is_in(rows))
                    .order_by_asc(items::Column::Id)
                    .lock_exclusive()
                    .all(&txn)
                    .await?;
            }
            let was = items::Entity::find_by_id(id)
                .lock_exclusive()
                .one(&txn)
                .await?
                .ok_or(Error::NotFound("item"))?;
            if part_moves_currency {
                refuse_if_bundled(&txn, &was, "priced in the bundle's currency").await?;
            }
            if limits && was.stock.is_none() {
                refuse_if_bundled(&txn, &was, "sold in unlimited numbers").await?;
                row.committed = Set(crate::orders::recount_committed(&txn, id).await?);
            }
            if becomes_bundle && crate::keys::has_pool(&txn, id).await? {
                return Err(has_keys());
            }
            if becomes_bundle && bundles_containing(id).one(&txn).await?.is_some() {
                return Err(Error::invalid(
                    "bundle_item_ids",
                    "this item is part of a bundle, so it cannot be one",
                ));
            }
        }
        // Only when the bundle's items are being set: a bundle whose item was archived since
        // must still take other changes (archiving it, say).
        if bundle_now && patch.bundle_item_ids.is_some() {
            lock_parts(&txn, &bundle_ids_after(&row, &current), &currency).await?;
        }
        let updated = row.update(&txn).await.map_err(sku_conflict)?;
        audit::record(
            &txn,
            Entry::new(
                Actor::user(actor),
                action,
                "item",
                id,
                audit::diff(&audited(&to_item(&current)), &audited(&to_item(&updated))),
            ),
        )
        .await?;
        txn.commit().await?;
        if updated.price_cents != current.price_cents {
            self.reprice_bundles_with(id).await?;
        }
        self.invalidate().await;
        // A sale that starts now, or units back in stock, reach the wishlists at once.
        if let Err(e) = crate::wishlist::Alerts::new(self.store).sweep().await {
            tracing::warn!(error = %e, "wishlist alerts not sent; the next sweep retries");
        }
        Ok(to_item(&updated))
    }

    /// Checks a bundle's items: 2–20 distinct items that exist, in the bundle's currency, none
    /// the bundle itself or a bundle (so bundles never nest), and the bundle is nobody's item.
    /// Returns the bundle's list price: its discount off the sum of its items' prices.
    async fn check_bundle(
        &self,
        this: Option<i64>,
        ids: &[i64],
        percent: Option<i32>,
        currency: &str,
    ) -> Result<Option<Bundle>> {
        if ids.is_empty() {
            return Ok(None);
        }
        let mut distinct = ids.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        if !(2..=20).contains(&distinct.len()) || distinct.len() != ids.len() {
            return Err(Error::invalid(
                "bundle_item_ids",
                "a bundle holds 2–20 different items",
            ));
        }
        if this.is_some_and(|id| distinct.contains(&id)) {
            return Err(Error::invalid(
                "bundle_item_ids",
                "a bundle cannot contain itself",
            ));
        }
        let percent = percent.unwrap_or(0);
        if !(0..=90).contains(&percent) {
            return Err(Error::invalid(
                "bundle_discount_percent",
                "bundle_discount_percent must be 0–90",
            ));
        }
        let parts = items::Entity::find()
            .filter(items::Column::Id.is_in(distinct.iter().copied()))
            .all(self.store.db())
            .await?;
        check_parts(&parts, distinct.len(), currency)?;
        if let Some(id) = this
            && bundles_containing(id).one(self.store.db()).await?.is_some()
        {
            return Err(Error::invalid(
                "bundle_item_ids",
                "this item is part of a bundle, so it cannot be one",
            ));
        }
        let sum: i64 = parts.iter().map(|p| p.price_cents).sum();
        let price_cents =
            crate::domain::discount::mul_div_half_even(sum, 100 - i64::from(percent), 100).max(1);
        Ok(Some(Bundle {
            ids: distinct,
            percent,
            price_cents,
        }))
    }

    /// Bundles that contain `item_id` take their new list price.
    async fn reprice_bundles_with(&self, item_id: i64) -> Result<()> {
        let bundles = bundles_containing(item_id).all(self.store.db()).await?;
        for bundle in bundles {
            let parts = items::Entity::find()
                .filter(items::Column::Id.is_in(bundle.bundle_items()))
                .all(self.store.db())
                .await?;
            let sum: i64 = parts.iter().map(|p| p.price_cents).sum();
            let percent = i64::from(bundle.bundle_discount_percent.unwrap_or(0));
            let price = crate::domain::discount::mul_div_half_even(sum, 100 - percent, 100).max(1);
            let mut row: items::ActiveModel = bundle.into();
            row.price_cents = Set(price);
            row.update(self.store.db()).await?;
        }
        Ok(())
    }

    /// Hides an item from the catalog; past orders still show it.
    pub async fn archive(&self, actor: &CurrentUser, id: i64) -> Result<Item> {
        self.change(
            actor,
            id,
            ItemPatch {
                active: Some(false),
                ..Default::default()
            },
            audit::action::ITEM_ARCHIVE,
        )
        .await
    }
}

/// What the audit log keeps of an item: what an operator set, not what follows from it.
fn audited(item: &Item) -> serde_json::Value {
    let mut value = serde_json::to_value(item).unwrap_or(json!({}));
    if let Some(fields) = value.as_object_mut() {
        for derived in [
            "updated_at",
            "created_at",
            "price",
            "available",
            "sale_price_cents",
            "sale_ends_at",
        ] {
            fields.remove(derived);
        }
    }
    value
}

fn sku_conflict(e: sea_orm::DbErr) -> Error {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        Error::conflict("SKU_TAKEN", "another item already has that SKU")
    } else {
        e.into()
    }
}

/// Units that exist: 0 to a billion, or unlimited. Setting it below what is already taken is
/// allowed (nothing more is sold until orders fail or expire).
/// The bundles that hold `item_id` (the delimited column lets `LIKE` find it on any database).
fn bundles_containing(item_id: i64) -> sea_orm::Select<items::Entity> {
    items::Entity::find().filter(items::Column::BundleItemIds.like(format!("%,{item_id},%")))
}

/// An item in a bundle stays of unlimited stock, without license keys (a bundle takes no units
/// of its items, see `pricing::check_part`), and in the bundle's currency: a change that would
/// break that is refused, saying what the bundle's items must be (`must_be`).
pub(crate) async fn refuse_if_bundled(
    conn: &impl sea_orm::ConnectionTrait,
    item: &items::Model,
    must_be: &str,
) -> Result<()> {
    if let Some(bundle) = bundles_containing(item.id).one(conn).await? {
        return Err(Error::conflict(
            "ITEM_IN_BUNDLE",
            format!(
                "{} is in the bundle {}, whose items are {must_be}: take it out of the bundle \
                 first",
                item.name, bundle.name
            ),
        ));
    }
    Ok(())
}

fn check_stock(stock: Option<i64>) -> Result<Option<i64>> {
    match stock {
        Some(n) if !(0..=1_000_000_000).contains(&n) => Err(Error::invalid(
            "stock",
            "stock must be a whole number from 0 to 1000000000, or null for unlimited",
        )),
        other => Ok(other),
    }
}

fn check_max_per_user(max: Option<i32>) -> Result<Option<i32>> {
    match max {
        Some(n) if !(1..=10_000).contains(&n) => Err(Error::invalid(
            "max_per_user",
            "max_per_user must be a whole number from 1 to 10000, or null for no limit",
        )),
        other => Ok(other),
    }
}

struct Bundle {
    ids: Vec<i64>,
    percent: i32,
    price_cents: i64,
}

fn has_keys() -> Error {
    Error::conflict(
        "ITEM_HAS_KEYS",
        "this item sells license keys, so it cannot become a bundle (a bundle delivers its \
         items, not keys of its own)",
    )
}

/// A bundle's item ids as the write leaves them.
fn bundle_ids_after(row: &items::ActiveModel, current: &items::Model) -> Vec<i64> {
    match &row.bundle_item_ids {
        sea_orm::ActiveValue::Set(ids) | sea_orm::ActiveValue::Unchanged(ids) => {
            items::ids_from_column(ids)
        }
        sea_orm::ActiveValue::NotSet => current.bundle_items(),
    }
}

/// Reads a bundle's items again inside its write, under a shared row lock: keying or limiting
/// one of them at the same moment takes that row's exclusive lock, so it either committed
/// first and is seen here, or waits and then finds the item bundled (`refuse_if_bundled`).
async fn lock_parts(txn: &sea_orm::DatabaseTransaction, ids: &[i64], currency: &str) -> Result<()> {
    let parts = items::Entity::find()
        .filter(items::Column::Id.is_in(ids.iter().copied()))
        .order_by_asc(items::Column::Id)
        .lock_shared()
        .all(txn)
        .await?;
    check_parts(&parts, ids.len(), currency)
}

/// The rules on a bundle's items, read as `wanted` distinct ids: they exist, none is a
/// bundle, all are in the bundle's currency, and each is on sale in unlimited stock (so without
/// license keys: a bundle takes no units of its items, see `pricing::check_part`).
fn check_parts(parts: &[items::Model], wanted: usize, currency: &str) -> Result<()> {
    if parts.len() != wanted {
        return Err(Error::invalid(
            "bundle_item_ids",
            "a bundle item does not exist",
        ));
    }
    if parts.iter().any(items::Model::is_bundle) {
        return Err(Error::invalid(
            "bundle_item_ids",
            "a bundle cannot contain another bundle",
        ));
    }
    if parts.iter().any(|p| p.currency != currency) {
        return Err(Error::invalid(
            "bundle_item_ids",
            "a bundle's items must be priced in its currency",
        ));
    }
    if let Some(p) = parts.iter().find(|p| !p.active || p.stock.is_some()) {
        return Err(Error::invalid(
            "bundle_item_ids",
            format!(
                "{} cannot be in a bundle: a bundle's items must be on sale, in unlimited stock \
                 and without license keys",
                p.name
            ),
        ));
    }
    Ok(())
}

/// A bundle takes no sale of its own: checkout prices it from its items, each at its own price
/// at that moment (their sales count), less the bundle discount. A sale on the bundle was
/// advertised but never charged (found by an attacker's pass).
fn bundle_sale() -> Error {
    Error::invalid(
        "sale",
        "a bundle has no sale of its own: it is priced from its items (their sales count) less \
         its bundle discount; put its items on sale, or remove the sale with \"sale\": null",
    )
}

/// Checks a timed sale (1–99 % off, ending after it starts, within the years 1970–9998) and
/// works out its price, half-even and at least one minor unit: like any price, a sale price is
/// never zero (an attacker's pass got an item for nothing at 50 % off one cent).
fn check_sale(sale: Option<&api_types::Sale>, price_cents: i64) -> Result<Option<(i32, i64)>> {
    let Some(sale) = sale else {
        return Ok(None);
    };
    if !(1..=99).contains(&sale.percent_off) {
        return Err(Error::invalid("sale", "a sale takes 1–99 % off"));
    }
    if sale.ends_at <= sale.starts_at {
        return Err(Error::invalid("sale", "a sale must end after it starts"));
    }
    crate::domain::check_time("sale", sale.starts_at)?;
    crate::domain::check_time("sale", sale.ends_at)?;
    let price = crate::domain::discount::mul_div_half_even(
        price_cents,
        100 - i64::from(sale.percent_off),
        100,
    )
    .max(1);
    Ok(Some((sale.percent_off, price)))
}
