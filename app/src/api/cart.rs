use api_types::Cart;
use leptos::prelude::*;

use crate::error::AppError;

/// The logged-in user's cart, priced now.
#[server(prefix = "/rpc")]
pub async fn my_cart() -> Result<Cart, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?.carts().get(&user).await?)
}
