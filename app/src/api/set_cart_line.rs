use api_types::Cart;
use leptos::prelude::*;

use crate::error::AppError;

/// Sets how many of an item the cart holds; 0 removes it.
#[server(prefix = "/rpc")]
pub async fn set_cart_line(item_id: i64, quantity: i64) -> Result<Cart, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?
        .carts()
        .set_quantity(&user, item_id, quantity)
        .await?)
}
