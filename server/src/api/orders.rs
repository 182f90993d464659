use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use api_types::{AdminOrder, Order, OrderStatus};
use utoipa::ToSchema;

use super::responses::{
    BadRequest, Conflict, Forbidden, NotFound, TooLarge, Unauthorized, Unavailable, Unprocessable,
    UnsupportedMediaType,
};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, ApiJson, Auth, query_params};

#[derive(Deserialize, ToSchema)]
pub struct PurchaseRequest {
    pub item_id: i64,
    /// Accepted for old clients; must be the session user if present.
    #[serde(default)]
    pub user_id: Option<Uuid>,
}

#[utoipa::path(post, path = "/api/purchases", tag = "purchases", security(("session" = [])), request_body = PurchaseRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key and body again returns the same order")),
    responses(
        (status = 202, description = "A pending order; the payment is confirmed asynchronously", body = Order),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable,
    ))]
/// `POST /api/purchases`: a pending order for the session user (202).
pub async fn create_purchase(
    State(state): State<AppState>,
    Auth(user): Auth,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PurchaseRequest>,
) -> ApiResult<Response> {
    if body.user_id.is_some_and(|id| id != user.id()) {
        return Err(store::Error::forbidden("user_id must be the logged-in user").into());
    }
    let key = idempotency_key(&headers)?;
    let purchase = state
        .store
        .orders()
        .purchase(&user, body.item_id, key)
        .await?;
    let mut response = (StatusCode::ACCEPTED, Json(purchase.order)).into_response();
    if purchase.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// The `Idempotency-Key` header, if sent (the domain validates its form).
pub(super) fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, store::Error> {
    headers
        .get("idempotency-key")
        .map(|value| {
            value.to_str().map_err(|_| {
                store::Error::invalid("Idempotency-Key", "Idempotency-Key must be printable ASCII")
            })
        })
        .transpose()
}

#[derive(Deserialize, Default)]
struct ListParams {
    user_id: Option<String>,
}

#[utoipa::path(get, path = "/api/purchases", tag = "purchases", security(("session" = [])),
    params(("user_id" = Option<uuid::Uuid>, Query, description = "Whose orders: yourself, or anyone for operators")),
    responses(
        (status = 200, description = "Orders, newest first", body = [Order]),
        BadRequest, Unauthorized, Forbidden, Unprocessable, Unavailable,
    ))]
/// `GET /api/purchases[?user_id=]`: the caller's orders, newest first.
pub async fn list_purchases(
    State(state): State<AppState>,
    Auth(user): Auth,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params: ListParams = query_params(raw.as_deref())?;
    let target = params
        .user_id
        .filter(|s| !s.is_empty())
        .map(|s| {
            Uuid::parse_str(&s)
                .map_err(|_| store::Error::invalid("user_id", "user_id must be a UUID"))
        })
        .transpose()?;
    let orders = state.store.orders().list_visible(&user, target).await?;
    Ok(Json(orders).into_response())
}

#[utoipa::path(post, path = "/api/purchases/", tag = "purchases", security(("session" = [])), request_body = PurchaseRequest,
    description = "The original store's path: the same as `POST /api/purchases`.",
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key and body again returns the same order")),
    responses(
        (status = 202, description = "A pending order", body = Order),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable,
    ))]
/// `POST /api/purchases/`: the original store's spelling of [`create_purchase`].
pub async fn create_purchase_compat(
    state: State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    body: ApiJson<PurchaseRequest>,
) -> ApiResult<Response> {
    create_purchase(state, auth, headers, body).await
}

#[utoipa::path(get, path = "/api/purchases/", tag = "purchases", security(("session" = [])),
    description = "The original store's path: the same as `GET /api/purchases`.",
    params(("user_id" = Option<uuid::Uuid>, Query, description = "Whose orders: yourself, or anyone for operators")),
    responses(
        (status = 200, description = "Orders, newest first", body = [Order]),
        BadRequest, Unauthorized, Forbidden, Unprocessable, Unavailable,
    ))]
/// `GET /api/purchases/`: the original store's spelling of [`list_purchases`].
pub async fn list_purchases_compat(
    state: State<AppState>,
    auth: Auth,
    raw: RawQuery,
) -> ApiResult<Response> {
    list_purchases(state, auth, raw).await
}

fn order_id(raw: &str) -> Result<Uuid, ApiError> {
    Ok(edge::ids::order_id(raw)?)
}

#[utoipa::path(get, path = "/api/purchases/{order_id}", tag = "purchases", security(("session" = [])),
    params(("order_id" = uuid::Uuid, Path, description = "Order id")),
    responses(
        (status = 200, description = "The order with its status history", body = Order),
        Unauthorized, NotFound, Unavailable,
    ))]
/// `GET /api/purchases/{order_id}`: one order with its status history.
pub async fn get_purchase(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let order = state.store.orders().get(&user, order_id(&id)?).await?;
    Ok(Json(order).into_response())
}

#[derive(Deserialize, Default, ToSchema)]
pub struct RefundRequest {
    #[serde(default)]
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/purchases/{order_id}/refund", tag = "purchases", security(("session" = [])),
    params(("order_id" = uuid::Uuid, Path, description = "Order id")), request_body(content = Option<RefundRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "Refunded (operators only)", body = Order),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, Unprocessable, Unavailable,
    ))]
/// `POST /api/purchases/{order_id}/refund` (operators).
pub async fn refund_purchase(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let reason = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<RefundRequest>(&body)
            .map_err(|e| {
                store::Error::BadRequest(format!("the body must be {{\"reason\": \"…\"}}: {e}"))
            })?
            .reason
    };
    let order = state
        .store
        .orders()
        .refund(&admin, order_id(&id)?, reason.as_deref())
        .await?;
    Ok(Json(order).into_response())
}

#[derive(Deserialize, Default)]
struct AdminListParams {
    status: Option<String>,
    limit: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/orders", tag = "purchases", security(("session" = [])),
    params(
        ("status" = Option<OrderStatus>, Query, description = "Only orders in this state"),
        ("limit" = Option<u32>, Query, description = "At most this many, 1–500 (default 100)", minimum = 1, maximum = 500),
    ),
    responses(
        (status = 200, description = "Orders with buyer and payment events (operators only)", body = [AdminOrder]),
        BadRequest, Unauthorized, Forbidden, Unprocessable, Unavailable,
    ))]
/// `GET /api/admin/orders[?status=&limit=]` (operators): orders with buyer and payment events.
pub async fn list_all_orders(
    State(state): State<AppState>,
    Admin(_): Admin,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params: AdminListParams = query_params(raw.as_deref())?;
    let status = params
        .status
        .filter(|s| !s.is_empty())
        .map(|s| {
            OrderStatus::parse(&s).ok_or_else(|| {
                store::Error::invalid(
                    "status",
                    "status must be pending, paid, failed, expired or refunded",
                )
            })
        })
        .transpose()?;
    let limit = params
        .limit
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<u64>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| store::Error::invalid("limit", "limit must be between 1 and 500"))
        })
        .transpose()?
        .unwrap_or(100);
    Ok(Json(state.store.orders().admin_list(status, limit).await?).into_response())
}
