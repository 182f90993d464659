use api_types::Item;
use leptos::prelude::*;

use crate::error::AppError;

/// One item; a bundle, for a logged-in shopper, with what they own of it and its price for them.
#[server(prefix = "/rpc")]
pub async fn get_item(id: i64) -> Result<Item, AppError> {
    let store = crate::ssr::store()?;
    let item = store.catalog().get(id).await?;
    if item.is_bundle()
        && let Some(user) = crate::ssr::current_user().await?
    {
        crate::ssr::personal_page();
        return Ok(store.catalog().get_for(user.id(), id).await?);
    }
    Ok(item)
}
