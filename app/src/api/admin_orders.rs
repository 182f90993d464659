use api_types::AdminOrder;
use leptos::prelude::*;

use crate::error::AppError;

/// Recent orders with buyer and payment events, optionally of one status (operators).
#[server(prefix = "/rpc")]
pub async fn admin_orders(status: Option<String>) -> Result<Vec<AdminOrder>, AppError> {
    crate::ssr::require_admin().await?;
    let status = match status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(api_types::OrderStatus::parse(s).ok_or_else(|| {
            AppError::from(store::Error::invalid("status", "unknown order status"))
        })?),
    };
    Ok(crate::ssr::store()?
        .orders()
        .admin_list(status, 200)
        .await?)
}
