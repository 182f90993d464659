use api_types::Order;
use leptos::prelude::*;

use crate::error::AppError;

/// One order with its history (owner or operator).
#[server(prefix = "/rpc")]
pub async fn get_order(order_id: String) -> Result<Order, AppError> {
    let user = crate::ssr::require_user().await?;
    let id = edge::ids::order_id(&order_id)?;
    Ok(crate::ssr::store()?.orders().get(&user, id).await?)
}
