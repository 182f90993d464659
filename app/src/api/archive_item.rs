use leptos::prelude::*;

use crate::error::AppError;

/// Archives an item: hidden from the catalog, still shown in past orders.
#[server(prefix = "/rpc")]
pub async fn archive_item(id: i64) -> Result<(), AppError> {
    let admin = crate::ssr::require_admin().await?;
    crate::ssr::store()?.catalog().archive(&admin, id).await?;
    Ok(())
}
