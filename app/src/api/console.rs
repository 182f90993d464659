//! The operator console's server functions: dashboard figures, the order search, the webhook
//! log and its replay, the audit log. Each checks the caller is an operator.

use api_types::{AuditEntry, OrderSearchPage, ReplayResult, SalesStats, WebhookDelivery};
use leptos::prelude::*;

use crate::error::AppError;

/// The dashboard's figures over the last `days` days (7, 30 or 90), money in `currency`.
#[server(prefix = "/rpc")]
pub async fn admin_stats(days: u32, currency: Option<String>) -> Result<SalesStats, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let days = if matches!(days, 7 | 30 | 90) {
        days
    } else {
        30
    };
    Ok(crate::ssr::store()?
        .orders()
        .stats(
            &admin,
            store::orders::stats::DayRange::last(u64::from(days)),
            currency.as_deref().filter(|c| !c.is_empty()),
        )
        .await?)
}

/// Orders as the search form describes them, a page at a time.
#[server(prefix = "/rpc")]
#[allow(clippy::too_many_arguments)]
pub async fn admin_search_orders(
    order_id: Option<String>,
    username: Option<String>,
    item: Option<String>,
    status: Option<String>,
    from: Option<String>,
    to: Option<String>,
    page: Option<u32>,
) -> Result<OrderSearchPage, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let status = match status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(api_types::OrderStatus::parse(s).ok_or_else(|| {
            AppError::from(store::Error::invalid("status", "unknown order status"))
        })?),
    };
    let query = store::orders::search::OrderQuery {
        order_id,
        username,
        item,
        status,
        from,
        to,
        page: page.unwrap_or(1).max(1),
        per_page: 25,
    };
    Ok(crate::ssr::store()?.orders().search(&admin, &query).await?)
}

/// The webhook log, newest first: all, `verified` or `refused`, older than `before`.
#[server(prefix = "/rpc")]
pub async fn admin_webhook_events(
    show: Option<String>,
    before: Option<i64>,
) -> Result<Vec<WebhookDelivery>, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let filter = store::payments::DeliveryFilter {
        verified: match show.as_deref() {
            Some("verified") => Some(true),
            Some("refused") => Some(false),
            _ => None,
        },
        before,
        limit: 50,
        ..Default::default()
    };
    Ok(crate::ssr::store()?
        .payments()
        .deliveries(&admin, &filter)
        .await?)
}

/// One delivery with its raw body.
#[server(prefix = "/rpc")]
pub async fn admin_webhook_event(id: i64) -> Result<WebhookDelivery, AppError> {
    let admin = crate::ssr::require_admin().await?;
    Ok(crate::ssr::store()?.payments().delivery(&admin, id).await?)
}

/// Replays a verified delivery through the same ingestion, then shows the replay's own row.
#[server(prefix = "/rpc")]
pub async fn replay_webhook(id: String) -> Result<ReplayResult, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let id = id
        .trim()
        .parse::<i64>()
        .map_err(|_| AppError::from(store::Error::NotFound("webhook delivery")))?;
    let result = crate::ssr::store()?.payments().replay(&admin, id).await?;
    leptos_axum::redirect(&format!("/admin/webhooks/{}", result.delivery_id));
    Ok(result)
}

/// The audit log, newest first, optionally of one action or one actor, older than `before`.
#[server(prefix = "/rpc")]
pub async fn admin_audit(
    action: Option<String>,
    actor: Option<String>,
    before: Option<i64>,
) -> Result<Vec<AuditEntry>, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let filter = store::audit::Filter {
        action,
        actor,
        before,
        limit: 50,
        ..Default::default()
    };
    Ok(crate::ssr::store()?.audit().list(&admin, &filter).await?)
}
