use api_types::Item;
use leptos::prelude::*;

use crate::error::AppError;

/// The logged-in user's wishlist.
#[server(prefix = "/rpc")]
pub async fn my_wishlist() -> Result<Vec<Item>, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?.wishlists().list(&user).await?)
}

/// Puts an item on the wishlist (`wish` on) or takes it off. Without a login it sends the
/// shopper to log in, coming back to the item.
#[server(prefix = "/rpc")]
pub async fn set_wish(item_id: i64, wish: Option<String>) -> Result<bool, AppError> {
    let Some(user) = crate::ssr::current_user().await? else {
        leptos_axum::redirect(&format!("/login?next=/items/{item_id}"));
        return Ok(false);
    };
    let store = crate::ssr::store()?;
    let lists = store.wishlists();
    let on = wish.is_some();
    if on {
        lists.add(&user, item_id).await?;
    } else {
        lists.remove(&user, item_id).await?;
    }
    Ok(on)
}

/// Whether the logged-in user wishes for an item (false for anonymous visitors).
#[server(prefix = "/rpc")]
pub async fn is_wished(item_id: i64) -> Result<bool, AppError> {
    if let Some(wished) = crate::ssr::known_wish(item_id) {
        return Ok(wished);
    }
    match crate::ssr::current_user().await? {
        None => Ok(false),
        Some(user) => Ok(!crate::ssr::store()?
            .wishlists()
            .contains(&user, &[item_id])
            .await?
            .is_empty()),
    }
}
