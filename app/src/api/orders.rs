use api_types::Order;
use leptos::prelude::*;

use crate::error::AppError;

/// The logged-in user's orders, newest first.
#[server(prefix = "/rpc")]
pub async fn my_orders() -> Result<Vec<Order>, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?.orders().list_for(user.id()).await?)
}
