use api_types::{KeyPool, KeysAdded};
use leptos::prelude::*;

use crate::error::AppError;

/// An item's key pool: counts and the newest keys, masked (operators).
#[server(prefix = "/rpc")]
pub async fn admin_key_pool(item_id: i64) -> Result<KeyPool, AppError> {
    crate::ssr::require_admin().await?;
    Ok(crate::ssr::store()?.keys().pool(item_id).await?)
}

/// Adds pasted keys to an item's pool (operators): one per line, or a CSV whose first column
/// holds them.
#[server(prefix = "/rpc")]
pub async fn import_keys(item_id: String, keys: String) -> Result<KeysAdded, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let id = edge::ids::item_id(&item_id)?;
    let keys = store::keys::parse_list(&keys);
    let added = crate::ssr::store()?
        .keys()
        .import(&admin, id, &keys)
        .await?;
    // The form's page again, saying so (the pool's counts on it are the news).
    leptos_axum::redirect(&format!("/admin/items/{id}?keys=added"));
    Ok(added)
}
