use api_types::Order;
use leptos::prelude::*;

use crate::error::AppError;

/// Turns the cart into an order (idempotent per rendered checkout page) and opens it.
#[server(prefix = "/rpc")]
pub async fn checkout(idempotency_key: String) -> Result<Order, AppError> {
    let user = crate::ssr::require_user().await?;
    let key = Some(idempotency_key.as_str()).filter(|k| !k.is_empty());
    let purchase = crate::ssr::store()?.orders().checkout(&user, key).await?;
    leptos_axum::redirect(&format!("/orders/{}", purchase.order.order_id));
    Ok(purchase.order)
}
