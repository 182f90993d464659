use api_types::Cart;
use leptos::prelude::*;

use crate::error::AppError;

/// Applies a promo code to the cart (an empty code takes it off).
#[server(prefix = "/rpc")]
pub async fn apply_promo(code: String) -> Result<Cart, AppError> {
    let user = crate::ssr::require_user().await?;
    let store = crate::ssr::store()?;
    let carts = store.carts();
    if code.trim().is_empty() {
        return Ok(carts.remove_promo(&user).await?);
    }
    Ok(carts.apply_promo(&user, &code).await?)
}
