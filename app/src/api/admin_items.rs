use api_types::Item;
use leptos::prelude::*;

use crate::error::AppError;

/// Every item, archived included (operators).
#[server(prefix = "/rpc")]
pub async fn admin_items() -> Result<Vec<Item>, AppError> {
    crate::ssr::require_admin().await?;
    Ok(crate::ssr::store()?.catalog().list_all().await?)
}
