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
) -> Result<Item, AppError> {
    crate::ssr::require_admin().await?;
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
    let item = match id {
        None => {
            store
                .catalog()
                .create(api_types::NewItem {
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
                })
                .await?
        }
        Some(id) => {
            store
                .catalog()
                .update(
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
