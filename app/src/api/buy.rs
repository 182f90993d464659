use api_types::Order;
use leptos::prelude::*;

use crate::error::AppError;

/// Places an order for one item (idempotent per form render) and opens its order page.
#[server(prefix = "/rpc")]
pub async fn buy(item_id: i64, idempotency_key: String) -> Result<Order, AppError> {
    let user = crate::ssr::require_user().await?;
    let key = Some(idempotency_key.as_str()).filter(|k| !k.is_empty());
    let purchase = crate::ssr::store()?
        .orders()
        .purchase(&user, item_id, key)
        .await?;
    leptos_axum::redirect(&format!("/orders/{}", purchase.order.order_id));
    Ok(purchase.order)
}
