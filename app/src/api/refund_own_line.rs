use api_types::RefundAccepted;
use leptos::prelude::*;

use crate::error::AppError;

/// The buyer asks for one line of their order back (the order page's "Ask for a refund"):
/// the same rules and path as `POST /api/purchases/{order_id}/refunds`.
#[server(prefix = "/rpc")]
pub async fn refund_own_line(
    order_id: String,
    line_id: String,
) -> Result<RefundAccepted, AppError> {
    let user = crate::ssr::require_user().await?;
    let id = edge::ids::order_id(&order_id)?;
    let line = line_id.trim().parse::<i64>().map_err(|_| {
        AppError::from(store::Error::invalid(
            "line_id",
            "choose a line of this order",
        ))
    })?;
    let accepted = crate::ssr::store()?
        .orders()
        .request_own_refund(&user, id, &[line], None, None)
        .await?;
    leptos_axum::redirect(&format!("/orders/{id}?refund=asked"));
    Ok(accepted)
}
