use api_types::Order;
use leptos::prelude::*;

use crate::error::AppError;

/// One order with its history (owner or operator).
#[server(prefix = "/rpc")]
pub async fn get_order(order_id: String) -> Result<Order, AppError> {
    let user = crate::ssr::require_user().await?;
    let id = uuid::Uuid::parse_str(&order_id)
        .map_err(|_| AppError::from(store::Error::NotFound("order")))?;
    Ok(crate::ssr::store()?.orders().get(&user, id).await?)
}
