//! The operator console's REST API: dashboard figures, the order search's CSV export, the
//! webhook log with replay, and the audit log. Operators only (401 anonymous, 403 customers).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use api_types::{AuditEntry, ReplayResult, SalesStats, WebhookDelivery};
use store::orders::stats::DayRange;

use super::responses::{BadRequest, Forbidden, NotFound, Unauthorized, Unavailable, Unprocessable};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Admin, query_params};

fn whole<T: std::str::FromStr>(
    field: &'static str,
    raw: Option<String>,
) -> Result<Option<T>, store::Error> {
    raw.filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim().parse::<T>().map_err(|_| {
                store::Error::invalid(field, format!("{field} must be a whole number"))
            })
        })
        .transpose()
}

fn limit(raw: Option<String>, default: u64) -> Result<u64, store::Error> {
    match whole::<u64>("limit", raw)? {
        None => Ok(default),
        Some(n) if (1..=500).contains(&n) => Ok(n),
        Some(_) => Err(store::Error::invalid("limit", "limit must be 1–500")),
    }
}

fn day_start(
    field: &'static str,
    raw: Option<String>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, store::Error> {
    raw.filter(|s| !s.trim().is_empty())
        .map(|s| {
            // Years 1970–9998: the day after the last one still has four digits (a timestamp
            // in year 10000 is written `+10000-…`, which sorts before every real one as text).
            chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .ok()
                .filter(|d| (1970..=9998).contains(&chrono::Datelike::year(d)))
                .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
                .ok_or_else(|| {
                    store::Error::invalid(
                        field,
                        format!("{field} must be a date, YYYY-MM-DD, from 1970 to 9998"),
                    )
                })
        })
        .transpose()
}

/// The end of the day `raw` names (exclusive), for `to` filters.
fn day_end(
    field: &'static str,
    raw: Option<String>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, store::Error> {
    Ok(day_start(field, raw)?.map(|d| d + chrono::Duration::days(1)))
}

#[derive(Deserialize, Default)]
struct StatsParams {
    from: Option<String>,
    to: Option<String>,
    bucket: Option<String>,
    currency: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/stats", tag = "console", security(("session" = [])),
    params(
        ("from" = Option<String>, Query, description = "First day (UTC), YYYY-MM-DD; default 29 days before `to`"),
        ("to" = Option<String>, Query, description = "Last day (UTC), YYYY-MM-DD; default today. At most 366 days in all"),
        ("bucket" = Option<String>, Query, description = "`day` (the only bucket)"),
        ("currency" = Option<String>, Query, description = "Currency of the money figures; default the one most paid orders used"),
    ),
    responses(
        (status = 200, description = "Revenue and orders per day, orders per state, conversion, refunds and best sellers", body = SalesStats),
        BadRequest, Unauthorized, Forbidden, Unprocessable, Unavailable,
    ))]
/// `GET /api/admin/stats`: the dashboard's figures as JSON.
pub async fn get_stats(
    State(state): State<AppState>,
    Admin(admin): Admin,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params: StatsParams = query_params(raw.as_deref())?;
    if let Some(bucket) = params.bucket.as_deref().filter(|b| !b.is_empty())
        && bucket != "day"
    {
        return Err(store::Error::invalid("bucket", "bucket must be day").into());
    }
    let range = DayRange::parse(params.from.as_deref(), params.to.as_deref())?;
    let stats = state
        .store
        .orders()
        .stats(
            &admin,
            range,
            params.currency.as_deref().filter(|c| !c.is_empty()),
        )
        .await?;
    Ok(Json(stats).into_response())
}

#[derive(Deserialize, Default)]
pub(super) struct SearchParams {
    pub order_id: Option<String>,
    pub username: Option<String>,
    pub item: Option<String>,
    pub status: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub page: Option<String>,
    pub per_page: Option<String>,
    /// The original list's parameter: at most this many (no pages).
    pub limit: Option<String>,
}

impl SearchParams {
    pub(super) fn query(self) -> Result<store::orders::search::OrderQuery, store::Error> {
        let status = self
            .status
            .filter(|s| !s.is_empty())
            .map(|s| {
                api_types::OrderStatus::parse(&s).ok_or_else(|| {
                    store::Error::invalid(
                        "status",
                        "status must be pending, paid, failed, expired, partially_refunded or refunded",
                    )
                })
            })
            .transpose()?;
        let page = whole::<u32>("page", self.page)?.unwrap_or(1);
        if page == 0 {
            return Err(store::Error::invalid("page", "page starts at 1"));
        }
        let per_page = match (
            whole::<u32>("per_page", self.per_page)?,
            whole::<u32>("limit", self.limit)?,
        ) {
            (Some(0), _) => {
                return Err(store::Error::invalid("per_page", "per_page must be 1–500"));
            }
            (Some(n), _) => n,
            (None, Some(n)) if (1..=500).contains(&n) => n,
            (None, Some(_)) => {
                return Err(store::Error::invalid(
                    "limit",
                    "limit must be between 1 and 500",
                ));
            }
            (None, None) => 100,
        };
        Ok(store::orders::search::OrderQuery {
            order_id: self.order_id,
            username: self.username,
            item: self.item,
            status,
            from: self.from,
            to: self.to,
            page,
            per_page,
        })
    }
}

#[utoipa::path(get, path = "/api/admin/orders.csv", tag = "console", security(("session" = [])),
    params(
        ("order_id" = Option<uuid::Uuid>, Query, description = "One order"),
        ("username" = Option<String>, Query, description = "The buyer"),
        ("item" = Option<String>, Query, description = "An item id, or words of its name"),
        ("status" = Option<api_types::OrderStatus>, Query, description = "Orders in this state"),
        ("from" = Option<String>, Query, description = "Created on or after this day (UTC), YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Created on or before this day (UTC), YYYY-MM-DD"),
    ),
    responses(
        (status = 200, description = "Every order the search finds, newest first, as CSV (streamed)", content_type = "text/csv", body = String),
        BadRequest, Unauthorized, Forbidden, Unprocessable, Unavailable,
    ))]
/// `GET /api/admin/orders.csv`: the order search as a CSV file, streamed row by row.
pub async fn export_orders_csv(
    State(state): State<AppState>,
    Admin(admin): Admin,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params: SearchParams = query_params(raw.as_deref())?;
    let query = params.query()?;
    let rx = state.store.orders().export_csv(&admin, &query).await?;
    // Fused: a body may be polled again after its end (the compression layer does).
    let stream = futures::StreamExt::fuse(futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (chunk.map_err(std::io::Error::other), rx))
    }));
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment; filename=\"orders.csv\""),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Deserialize, Default)]
struct DeliveryParams {
    verified: Option<String>,
    outcome: Option<String>,
    order_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/webhook-events", tag = "console", security(("session" = [])),
    params(
        ("verified" = Option<bool>, Query, description = "Only verified (true) or refused (false) deliveries"),
        ("outcome" = Option<String>, Query, description = "`applied`, `duplicate`, `no_op`, `rejected`, `unknown_order`, …"),
        ("order_id" = Option<uuid::Uuid>, Query, description = "Deliveries about one order"),
        ("from" = Option<String>, Query, description = "Received on or after this day (UTC), YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Received on or before this day (UTC), YYYY-MM-DD"),
        ("before" = Option<i64>, Query, description = "Deliveries older than this id (the next page)"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1–500 (default 100)", minimum = 1, maximum = 500),
    ),
    responses(
        (status = 200, description = "Every webhook request received, newest first (without bodies)", body = [WebhookDelivery]),
        BadRequest, Unauthorized, Forbidden, Unprocessable, Unavailable,
    ))]
/// `GET /api/admin/webhook-events`: the webhook log.
pub async fn list_webhook_events(
    State(state): State<AppState>,
    Admin(admin): Admin,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params: DeliveryParams = query_params(raw.as_deref())?;
    let verified = match params.verified.as_deref().filter(|v| !v.is_empty()) {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => {
            return Err(store::Error::invalid("verified", "verified must be true or false").into());
        }
    };
    let order_id = params
        .order_id
        .filter(|s| !s.is_empty())
        .map(|s| {
            uuid::Uuid::parse_str(&s)
                .map_err(|_| store::Error::invalid("order_id", "order_id must be an order id"))
        })
        .transpose()?;
    let filter = store::payments::DeliveryFilter {
        verified,
        outcome: params.outcome,
        order_id,
        from: day_start("from", params.from)?,
        to: day_end("to", params.to)?,
        before: whole("before", params.before)?,
        limit: limit(params.limit, 100)?,
    };
    Ok(Json(state.store.payments().deliveries(&admin, &filter).await?).into_response())
}

fn delivery_id(raw: &str) -> Result<i64, store::Error> {
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or(store::Error::NotFound("webhook delivery"))
}

#[utoipa::path(get, path = "/api/admin/webhook-events/{id}", tag = "console", security(("session" = [])),
    params(("id" = i64, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "One delivery, with its raw body", body = WebhookDelivery),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ))]
/// `GET /api/admin/webhook-events/{id}`.
pub async fn get_webhook_event(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(
        state
            .store
            .payments()
            .delivery(&admin, delivery_id(&id)?)
            .await?,
    )
    .into_response())
}

#[utoipa::path(post, path = "/api/admin/webhook-events/{id}/replay", tag = "console", security(("session" = [])),
    params(("id" = i64, Path, description = "Delivery id")),
    responses(
        (status = 200, description = "Run through the same ingestion again: an event already recorded changes nothing (`already_applied`); one whose processing never completed is applied now", body = ReplayResult),
        (status = 409, description = "NOT_REPLAYABLE: the delivery's signature did not verify", body = api_types::ErrorBody),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ))]
/// `POST /api/admin/webhook-events/{id}/replay`.
pub async fn replay_webhook_event(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let result = state
        .store
        .payments()
        .replay(&admin, delivery_id(&id)?)
        .await?;
    Ok((StatusCode::OK, Json(result)).into_response())
}

#[derive(Deserialize, Default)]
struct AuditParams {
    action: Option<String>,
    actor: Option<String>,
    target_type: Option<String>,
    target_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/audit", tag = "console", security(("session" = [])),
    params(
        ("action" = Option<String>, Query, description = "`item.create`, `item.update`, `item.archive`, `promo.create`, `promo.update`, `refund.request`, `keys.import`, `webhook.replay`, `login.success`, `login.failure`, `login.lockout`, `admin.promote`"),
        ("actor" = Option<String>, Query, description = "Who (a username)"),
        ("target_type" = Option<String>, Query, description = "`item`, `order`, `promo_code`, `user`, `webhook_delivery`"),
        ("target_id" = Option<String>, Query, description = "Which one"),
        ("from" = Option<String>, Query, description = "On or after this day (UTC), YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "On or before this day (UTC), YYYY-MM-DD"),
        ("before" = Option<i64>, Query, description = "Entries older than this id (the next page)"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1–500 (default 100)", minimum = 1, maximum = 500),
    ),
    responses(
        (status = 200, description = "The audit log, newest first. Append-only: nothing in the API changes it", body = [AuditEntry]),
        BadRequest, Unauthorized, Forbidden, Unprocessable, Unavailable,
    ))]
/// `GET /api/admin/audit`.
pub async fn list_audit(
    State(state): State<AppState>,
    Admin(admin): Admin,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params: AuditParams = query_params(raw.as_deref())?;
    let filter = store::audit::Filter {
        action: params.action,
        actor: params.actor,
        target_type: params.target_type,
        target_id: params.target_id,
        from: day_start("from", params.from)?,
        to: day_end("to", params.to)?,
        before: whole("before", params.before)?,
        limit: limit(params.limit, 100)?,
    };
    Ok(Json(state.store.audit().list(&admin, &filter).await?).into_response())
}
