use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use api_types::{Cart, CartQuantity, Order};

use super::responses::{
    BadRequest, Conflict, Forbidden, NotFound, TooLarge, Unauthorized, Unavailable, Unprocessable,
    UnsupportedMediaType,
};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{ApiJson, Auth};

#[utoipa::path(get, path = "/api/cart", tag = "cart", security(("session" = [])),
    responses(
        (status = 200, description = "The cart, priced from the catalog now; `warnings` says what changed since it was last read", body = Cart),
        Unauthorized, Unavailable,
    ))]
/// `GET /api/cart`.
pub async fn get_cart(State(state): State<AppState>, Auth(user): Auth) -> ApiResult<Response> {
    Ok(Json(state.store.carts().get(&user).await?).into_response())
}

#[utoipa::path(put, path = "/api/cart/lines/{item_id}", tag = "cart", security(("session" = [])),
    params(("item_id" = i64, Path, description = "Item id")),
    request_body = CartQuantity,
    responses(
        (status = 200, description = "The cart with the line set (0 removes it)", body = Cart),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable,
    ))]
/// `PUT /api/cart/lines/{item_id}` `{"quantity": N}`.
pub async fn set_cart_line(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(item_id): Path<String>,
    ApiJson(body): ApiJson<CartQuantity>,
) -> ApiResult<Response> {
    let item_id = edge::ids::item_id(&item_id)?;
    let cart = state
        .store
        .carts()
        .set_quantity(&user, item_id, body.quantity)
        .await?;
    Ok(Json(cart).into_response())
}

#[utoipa::path(delete, path = "/api/cart/lines/{item_id}", tag = "cart", security(("session" = [])),
    params(("item_id" = i64, Path, description = "Item id")),
    responses(
        (status = 200, description = "The cart without that item", body = Cart),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ))]
/// `DELETE /api/cart/lines/{item_id}`.
pub async fn remove_cart_line(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(item_id): Path<String>,
) -> ApiResult<Response> {
    let item_id = edge::ids::item_id(&item_id)?;
    Ok(Json(state.store.carts().remove(&user, item_id).await?).into_response())
}

#[utoipa::path(delete, path = "/api/cart", tag = "cart", security(("session" = [])),
    responses(
        (status = 200, description = "The emptied cart", body = Cart),
        Unauthorized, Forbidden, Unavailable,
    ))]
/// `DELETE /api/cart`.
pub async fn clear_cart(State(state): State<AppState>, Auth(user): Auth) -> ApiResult<Response> {
    Ok(Json(state.store.carts().clear(&user).await?).into_response())
}

#[utoipa::path(post, path = "/api/cart/checkout", tag = "cart", security(("session" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "The same key again returns the same order")),
    request_body(content = Option<api_types::CheckoutRequest>, content_type = "application/json",
        description = "Optional. `gift_to` (a member's username) sends the items to their library instead of the buyer's, with `gift_message` (at most 200 characters); an unknown recipient or the buyer themself is 422, a recipient who already owns a non-consumable in the cart is 409 RECIPIENT_ALREADY_OWNS"),
    responses(
        (status = 202, description = "A pending order with every line of the cart, which is now empty; the payment is confirmed asynchronously. A gift carries `gift`", body = Order),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, Unprocessable, Unavailable,
    ))]
/// `POST /api/cart/checkout`: the cart becomes an order (202).
pub async fn checkout(
    State(state): State<AppState>,
    Auth(user): Auth,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let key = super::orders::idempotency_key(&headers)?;
    let request = if body.iter().all(u8::is_ascii_whitespace) {
        api_types::CheckoutRequest::default()
    } else {
        match Json::<api_types::CheckoutRequest>::from_bytes(&body) {
            Ok(Json(request)) => request,
            Err(rejection) => return Ok(crate::extract::json_rejection(rejection)),
        }
    };
    let purchase = state
        .store
        .orders()
        .checkout_as(&user, &request, key)
        .await?;
    let mut response = (StatusCode::ACCEPTED, Json(purchase.order)).into_response();
    if purchase.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}
