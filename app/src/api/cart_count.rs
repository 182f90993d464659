use leptos::prelude::*;

use crate::error::AppError;

/// How many lines the logged-in user's cart has (0 when nobody is logged in): the header badge.
#[server(prefix = "/rpc")]
pub async fn cart_count() -> Result<u64, AppError> {
    if let Some(lines) = crate::ssr::known_cart_lines() {
        return Ok(lines);
    }
    match crate::ssr::current_user().await? {
        Some(user) => Ok(crate::ssr::store()?.carts().line_count(&user).await?),
        None => Ok(0),
    }
}
