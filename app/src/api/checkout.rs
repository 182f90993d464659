use api_types::Order;
use leptos::prelude::*;

use crate::error::AppError;

/// Turns the cart into an order (idempotent per rendered checkout page) and opens it; with
/// `gift_to`, the items go to that member, with `gift_message` for them.
#[server(prefix = "/rpc")]
pub async fn checkout(
    idempotency_key: String,
    #[server(default)] gift_to: Option<String>,
    #[server(default)] gift_message: Option<String>,
) -> Result<Order, AppError> {
    let user = crate::ssr::require_user().await?;
    let key = Some(idempotency_key.as_str()).filter(|k| !k.is_empty());
    let request = api_types::CheckoutRequest {
        gift_to,
        gift_message,
    };
    let purchase = crate::ssr::store()?
        .orders()
        .checkout_as(&user, &request, key)
        .await?;
    leptos_axum::redirect(&format!("/orders/{}", purchase.order.order_id));
    Ok(purchase.order)
}
