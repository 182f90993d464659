use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;

use api_types::{AdminOrder, NewRefund, Order, OrderStatus, RefundAccepted};
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
    params(("order_id" = uuid::Uuid, Path, description = "Order id"),
        ("Idempotency-Key" = Option<String>, Header, description = "The same key again is the same refund")),
    request_body(content = Option<RefundRequest>, content_type = "application/json"),
    responses(
        (status = 200, description = "The original store's refund (operators only): everything not yet refunded is asked of the provider; the order is answered as it is now and becomes `refunded` when the provider's `payment.refunded` webhook arrives", body = Order),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, Unprocessable, Unavailable,
    ))]
/// `POST /api/purchases/{order_id}/refund` (operators).
pub async fn refund_purchase(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
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
        .refund(&admin, order_id(&id)?, reason.as_deref(), key)
        .await?;
    Ok(Json(order).into_response())
}

#[utoipa::path(post, path = "/api/admin/orders/{order_id}/refunds", tag = "purchases", security(("session" = [])),
    params(("order_id" = uuid::Uuid, Path, description = "Order id"),
        ("Idempotency-Key" = Option<String>, Header, description = "The same key and body again answer the same refund; the same key with another body is 409 IDEMPOTENCY_KEY_REUSED. Without one, every request is a new refund.")),
    request_body(content = Option<NewRefund>, content_type = "application/json",
        description = "Lines to take back (`line_item_ids`: the order's `lines[].line_id`) and/or an amount; an empty body refunds everything not yet refunded"),
    responses(
        (status = 202, description = "Asked of the provider; the order changes when its `payment.refunded` webhook arrives (`paid → partially_refunded → refunded`)", body = RefundAccepted),
        (status = 409, description = "ORDER_NOT_REFUNDABLE (the order is not paid), LINE_ALREADY_REFUNDED or IDEMPOTENCY_KEY_REUSED", body = api_types::ErrorBody),
        (status = 422, description = "REFUND_EXCEEDS_CAPTURED (more than was paid and not yet refunded), NOTHING_TO_REFUND, or an invalid field", body = api_types::ErrorBody),
        BadRequest, Unauthorized, Forbidden, NotFound, TooLarge, Unavailable,
    ))]
/// `POST /api/admin/orders/{order_id}/refunds` (operators): a refund through the provider.
pub async fn create_refund(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let order_id = order_id(&id)?;
    let input = if body.iter().all(u8::is_ascii_whitespace) {
        NewRefund::default()
    } else {
        match Json::<NewRefund>::from_bytes(&body) {
            Ok(Json(input)) => input,
            Err(rejection) => return Ok(crate::extract::json_rejection(rejection)),
        }
    };
    let key = match idempotency_key(&headers)? {
        Some(key) => key.to_owned(),
        None => format!("once:{}", Uuid::new_v4()),
    };
    let accepted = state
        .store
        .orders()
        .request_refund(&admin, order_id, &input, &key)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

#[utoipa::path(post, path = "/api/purchases/{order_id}/refunds", tag = "purchases", security(("session" = [])),
    params(("order_id" = uuid::Uuid, Path, description = "One of your orders"),
        ("Idempotency-Key" = Option<String>, Header, description = "The same key and body again answer the same refund. Without one, the same lines asked for again answer the same refund until it is settled.")),
    request_body = api_types::OwnRefund,
    responses(
        (status = 202, description = "Asked of the provider; the order changes when its `payment.refunded` webhook arrives", body = RefundAccepted),
        (status = 409, description = "ORDER_NOT_REFUNDABLE (not paid), LINE_ALREADY_REFUNDED or IDEMPOTENCY_KEY_REUSED", body = api_types::ErrorBody),
        (status = 422, description = "NOT_SELF_REFUNDABLE (a consumable, a delivered license key, or a gift), REFUND_WINDOW_CLOSED (`REFUND_WINDOW_DAYS` after payment), or an invalid field", body = api_types::ErrorBody),
        BadRequest, Unauthorized, Forbidden, NotFound, TooLarge, UnsupportedMediaType, Unavailable,
    ))]
/// `POST /api/purchases/{order_id}/refunds`: the buyer asks for lines of their own order back
/// (items they keep, no license key delivered, within the refund window).
pub async fn request_own_refund(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<api_types::OwnRefund>,
) -> ApiResult<Response> {
    let order_id = order_id(&id)?;
    let key = idempotency_key(&headers)?;
    let accepted = state
        .store
        .orders()
        .request_own_refund(
            &user,
            order_id,
            &body.line_item_ids,
            body.reason.as_deref(),
            key,
        )
        .await?;
    Ok((StatusCode::ACCEPTED, Json(accepted)).into_response())
}

#[utoipa::path(get, path = "/api/admin/orders", tag = "purchases", security(("session" = [])),
    params(
        ("order_id" = Option<uuid::Uuid>, Query, description = "One order"),
        ("username" = Option<String>, Query, description = "The buyer"),
        ("item" = Option<String>, Query, description = "An item id, or words of its name"),
        ("status" = Option<OrderStatus>, Query, description = "Only orders in this state"),
        ("from" = Option<String>, Query, description = "Created on or after this day (UTC), YYYY-MM-DD"),
        ("to" = Option<String>, Query, description = "Created on or before this day (UTC), YYYY-MM-DD"),
        ("page" = Option<u32>, Query, description = "Page, from 1 (at most 10000)", minimum = 1, maximum = 10000),
        ("per_page" = Option<u32>, Query, description = "Orders per page, 1–500 (default 100)", minimum = 1, maximum = 500),
        ("limit" = Option<u32>, Query, description = "The original list's parameter: `per_page` on page 1", minimum = 1, maximum = 500),
    ),
    responses(
        (status = 200, description = "Orders the search finds, newest first, with buyer, payment events and refunds (operators only). A `Link: <…>; rel=\"next\"` header names the next page when there is one", body = [AdminOrder]),
        BadRequest, Unauthorized, Forbidden, Unprocessable, Unavailable,
    ))]
/// `GET /api/admin/orders` (operators): the order search, a page at a time.
pub async fn list_all_orders(
    State(state): State<AppState>,
    Admin(admin): Admin,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params: super::console::SearchParams = query_params(raw.as_deref())?;
    let query = params.query()?;
    let page = state.store.orders().search(&admin, &query).await?;
    let mut response = Json(page.orders).into_response();
    if page.has_more {
        let mut next: Vec<(String, String)> = raw
            .as_deref()
            .map(|r| serde_urlencoded::from_str(r).unwrap_or_default())
            .unwrap_or_default();
        next.retain(|(k, _)| k != "page" && k != "limit" && k != "per_page");
        next.push(("page".to_owned(), (page.page + 1).to_string()));
        next.push(("per_page".to_owned(), page.per_page.to_string()));
        if let Ok(query) = serde_urlencoded::to_string(&next)
            && let Ok(value) =
                HeaderValue::from_str(&format!("</api/admin/orders?{query}>; rel=\"next\""))
        {
            response.headers_mut().insert(header::LINK, value);
        }
    }
    Ok(response)
}
