use api_types::Order;
use leptos::prelude::*;

use crate::error::AppError;

/// Refunds a paid order (operators), through the order state machine.
#[server(prefix = "/rpc")]
pub async fn refund_order(order_id: String, reason: Option<String>) -> Result<Order, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let id = edge::ids::order_id(&order_id)?;
    Ok(crate::ssr::store()?
        .orders()
        .refund(&admin, id, reason.as_deref())
        .await?)
}
