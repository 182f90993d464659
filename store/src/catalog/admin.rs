//! The operators' item writes: create, edit, archive. Every write makes the cached catalog
//! stale on every replica (see `cache`).

use chrono::Utc;
use sea_orm::{ActiveModelTrait as _, EntityTrait as _, Set, SqlErr};

use api_types::{Item, ItemPatch, NewItem};

use super::{Catalog, to_item};
use crate::domain::{Description, ImageUrl, ItemName, Money, Sku, Tags};
use crate::entity::items;
use crate::{Error, Result};

impl Catalog<'_> {
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
            stock: Set(check_stock(new.stock)?),
            committed: Set(0),
            max_per_user: Set(check_max_per_user(new.max_per_user)?),
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
        if let Some(stock) = patch.stock {
            row.stock = Set(check_stock(stock)?);
        }
        if let Some(max) = patch.max_per_user {
            row.max_per_user = Set(check_max_per_user(max)?);
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

fn sku_conflict(e: sea_orm::DbErr) -> Error {
    if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) {
        Error::conflict("SKU_TAKEN", "another item already has that SKU")
    } else {
        e.into()
    }
}

/// Units that exist: 0 to a billion, or unlimited. Setting it below what is already taken is
/// allowed (nothing more is sold until orders fail or expire).
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
