use leptos::prelude::*;

use crate::error::AppError;

/// Puts one more of an item in the cart and opens the cart. Without a login it sends the
/// shopper to log in, coming back to the item.
#[server(prefix = "/rpc")]
pub async fn add_to_cart(item_id: i64) -> Result<(), AppError> {
    let Some(user) = crate::ssr::current_user().await? else {
        leptos_axum::redirect(&format!("/login?next=/items/{item_id}"));
        return Ok(());
    };
    crate::ssr::store()?.carts().add_one(&user, item_id).await?;
    leptos_axum::redirect("/cart");
    Ok(())
}
