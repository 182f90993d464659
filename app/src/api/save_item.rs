#![expect(
    clippy::too_many_arguments,
    reason = "one argument per form field keeps the plain HTML form, and JavaScript-off posts, simple"
)]

use api_types::Item;
use leptos::prelude::*;

use crate::error::AppError;

/// Creates (no `id`) or updates an item from the operators' form. The price is typed in major
/// units ("9.99") and converted to integer cents exactly.
#[server(prefix = "/rpc")]
pub async fn save_item(
    id: Option<i64>,
    sku: String,
    name: String,
    description: String,
    price: String,
    currency: String,
    image: Option<String>,
    tags: String,
    consumable: Option<String>,
    active: Option<String>,
    stock: Option<String>,
    max_per_user: Option<String>,
    sale_percent: Option<String>,
    sale_starts: Option<String>,
    sale_ends: Option<String>,
    bundle_item_ids: Option<String>,
    bundle_discount_percent: Option<String>,
) -> Result<Item, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let store = crate::ssr::store()?;
    let currency = currency.trim().to_ascii_uppercase();
    let price_cents = api_types::parse_price(&price, &currency)
        .map_err(|message| AppError::from(store::Error::invalid("price", message)))?;
    let tags: Vec<String> = tags
        .split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let image = image.filter(|i| !i.trim().is_empty());
    let stock = whole_or_blank(stock, "stock")?;
    let max_per_user =
        whole_or_blank(max_per_user, "max_per_user")?.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
    let sale = match whole_or_blank(sale_percent, "sale")? {
        None => None,
        Some(percent) => Some(api_types::Sale {
            percent_off: i32::try_from(percent).unwrap_or(i32::MAX),
            starts_at: utc_minute(sale_starts.as_deref(), "sale")?,
            ends_at: utc_minute(sale_ends.as_deref(), "sale")?,
        }),
    };
    let bundle_item_ids: Vec<i64> = bundle_item_ids
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse().map_err(|_| {
                AppError::from(store::Error::invalid(
                    "bundle_item_ids",
                    "bundle items are item ids separated by commas",
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    let bundle_discount_percent =
        whole_or_blank(bundle_discount_percent, "bundle_discount_percent")?
            .map(|n| i32::try_from(n).unwrap_or(i32::MAX));
    let item = match id {
        None => {
            store
                .catalog()
                .create(
                    &admin,
                    api_types::NewItem {
                        sku,
                        name,
                        description,
                        price_cents,
                        currency,
                        image,
                        tags,
                        consumable: consumable.is_some(),
                        stock,
                        max_per_user,
                        sale,
                        bundle_item_ids,
                        bundle_discount_percent,
                    },
                )
                .await?
        }
        Some(id) => {
            store
                .catalog()
                .update(
                    &admin,
                    id,
                    api_types::ItemPatch {
                        sku: Some(sku),
                        name: Some(name),
                        description: Some(description),
                        price_cents: Some(price_cents),
                        currency: Some(currency),
                        image,
                        tags: Some(tags),
                        consumable: Some(consumable.is_some()),
                        active: Some(active.is_some()),
                        stock: Some(stock),
                        max_per_user: Some(max_per_user),
                        sale: Some(sale),
                        bundle_item_ids: Some(bundle_item_ids),
                        bundle_discount_percent: Some(bundle_discount_percent),
                    },
                )
                .await?
        }
    };
    leptos_axum::redirect("/admin/items");
    Ok(item)
}

/// A whole number typed in a form, or nothing (blank: unlimited).
#[cfg(feature = "ssr")]
fn whole_or_blank(raw: Option<String>, field: &'static str) -> Result<Option<i64>, AppError> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
            AppError::from(store::Error::invalid(
                field,
                format!("{field} must be a whole number, or blank for no limit"),
            ))
        }),
    }
}

/// A `datetime-local` value ("2026-12-24T18:00"), read as UTC.
#[cfg(feature = "ssr")]
fn utc_minute(
    raw: Option<&str>,
    field: &'static str,
) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    raw.map(str::trim)
        .and_then(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            AppError::from(store::Error::invalid(
                field,
                "a sale needs a start and an end (date and time)",
            ))
        })
}
