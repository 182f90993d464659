use api_types::RefundAccepted;
use leptos::prelude::*;

use crate::error::AppError;

/// Asks the provider for a refund of a paid order (operators): one line (`line_id`), an
/// amount in the order's currency (`amount`, as typed: `5.00`), or, with neither, everything
/// not yet refunded. `version` is the order's `refunded_cents` as the page showed it: the same
/// form sent twice is the same refund.
#[server(prefix = "/rpc")]
pub async fn refund_order(
    order_id: String,
    line_id: Option<String>,
    amount: Option<String>,
    reason: Option<String>,
    version: Option<String>,
) -> Result<RefundAccepted, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let id = edge::ids::order_id(&order_id)?;
    let store = crate::ssr::store()?;
    let order = store.orders().get(&admin, id).await?;
    let line_item_ids = match line_id.as_deref().map(str::trim).filter(|l| !l.is_empty()) {
        Some(line) => Some(vec![line.parse::<i64>().map_err(|_| {
            AppError::from(store::Error::invalid(
                "line_id",
                "choose a line of this order",
            ))
        })?]),
        None => None,
    };
    let amount_cents = match amount.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(text) => Some(api_types::parse_price(text, &order.currency).map_err(|e| {
            AppError::from(store::Error::invalid("amount", format!("amount: {e}")))
        })?),
        None => None,
    };
    let what = match (&line_item_ids, amount_cents) {
        (Some(lines), _) => format!("line:{}", lines[0]),
        (None, Some(cents)) => format!("amount:{cents}"),
        (None, None) => "rest".to_owned(),
    };
    let key = format!(
        "ui:{what}:{}",
        version
            .as_deref()
            .unwrap_or("0")
            .chars()
            .filter(char::is_ascii_digit)
            .take(20)
            .collect::<String>()
    );
    let input = api_types::NewRefund {
        amount_cents,
        line_item_ids,
        reason,
    };
    let accepted = store
        .orders()
        .request_refund(&admin, id, &input, &key)
        .await?;
    // Back to the operator's search, saying so.
    leptos_axum::redirect(&crate::ssr::back_to("/admin/orders", "refund=asked"));
    Ok(accepted)
}
