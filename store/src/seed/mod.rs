//! The sample catalog: the original store's five items plus forty more, from
//! `data/sample_catalog.json`, inserted once. Re-running is a no-op (`ON CONFLICT (sku) DO
//! NOTHING`), so every start-up may call it.

pub mod orders;

use chrono::{Duration, TimeZone as _, Utc};
use sea_orm::{EntityTrait as _, Set};
use serde::Deserialize;

use crate::domain::Tags;
use crate::entity::items;
use crate::{Error, Result, Store};

/// One sample item as the data file spells it (prices in US cents).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleItem {
    pub sku: String,
    pub name: String,
    pub description: String,
    pub price_cents: i64,
    pub tags: Vec<String>,
    pub consumable: bool,
}

const SAMPLE_CATALOG_JSON: &str = include_str!("../../data/sample_catalog.json");

/// The sample catalog, in the data file's order.
pub fn sample_catalog() -> Result<Vec<SampleItem>> {
    serde_json::from_str(SAMPLE_CATALOG_JSON)
        .map_err(|e| Error::internal(format!("data/sample_catalog.json: {e}")))
}

pub async fn seed_catalog(store: &Store) -> Result<()> {
    // Items are stamped a minute apart so that "newest" has a stable, meaningful order.
    let base = Utc
        .with_ymd_and_hms(2026, 1, 1, 12, 0, 0)
        .single()
        .ok_or_else(|| Error::internal("seed timestamp"))?;
    let rows = sample_catalog()?
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let at = base + Duration::minutes(i as i64);
            let tags = Tags::parse(&item.tags).map(|t| t.to_column())?;
            Ok(items::ActiveModel {
                image: Set(format!("/covers/{}.svg", item.sku)),
                sku: Set(item.sku),
                name: Set(item.name),
                description: Set(item.description),
                price_cents: Set(item.price_cents),
                currency: Set("USD".to_owned()),
                tags: Set(tags),
                consumable: Set(item.consumable),
                active: Set(true),
                created_at: Set(at),
                updated_at: Set(at),
                ..Default::default()
            })
        })
        .collect::<Result<Vec<_>>>()?;
    items::Entity::insert_many(rows)
        .on_conflict_do_nothing_on([items::Column::Sku])
        .exec(store.db())
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Description, ItemName, Money, Sku};

    #[test]
    fn the_sample_catalog_is_valid_and_needs_paging() {
        let catalog = sample_catalog().expect("the data file parses");
        assert!(catalog.len() >= 45);
        let mut skus = std::collections::HashSet::new();
        for item in &catalog {
            assert!(Sku::parse(&item.sku).is_ok(), "{}", item.sku);
            assert!(ItemName::parse(&item.name).is_ok(), "{}", item.name);
            assert!(
                Description::parse(&item.description).is_ok(),
                "{}",
                item.sku
            );
            assert!(
                Money::parse(item.price_cents, "USD").is_ok(),
                "{}",
                item.sku
            );
            assert!(Tags::parse(&item.tags).is_ok(), "{}", item.sku);
            assert!(skus.insert(item.sku.clone()), "duplicate {}", item.sku);
        }
    }

    #[test]
    fn the_original_five_are_first_with_their_prices() {
        let catalog = sample_catalog().expect("the data file parses");
        let originals: Vec<(&str, i64)> = catalog[..5]
            .iter()
            .map(|i| (i.name.as_str(), i.price_cents))
            .collect();
        assert_eq!(
            originals,
            vec![
                ("Dragon Sword", 99999),
                ("Magic Shield", 49999),
                ("Speed Boots", 29999),
                ("Health Potion", 4999),
                ("Wizard Hat", 19999),
            ]
        );
    }
}
