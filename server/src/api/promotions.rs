use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use api_types::{Cart, Item, NewPromoCode, PromoApply, PromoCode, PromoCodePatch};

use super::responses::{
    BadRequest, Conflict, Forbidden, NotFound, TooLarge, Unauthorized, Unavailable, Unprocessable,
    UnsupportedMediaType,
};
use crate::AppState;
use crate::error::ApiResult;
use crate::extract::{Admin, ApiJson, Auth};

#[utoipa::path(post, path = "/api/admin/promo-codes", tag = "promotions", security(("session" = [])),
    request_body = NewPromoCode,
    responses(
        (status = 201, description = "Created", body = PromoCode),
        BadRequest, Unauthorized, Forbidden, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable,
    ))]
/// `POST /api/admin/promo-codes` (operators).
pub async fn create_promo_code(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<NewPromoCode>,
) -> ApiResult<Response> {
    let promo = state.store.promotions().create(&admin, body).await?;
    let mut response = (StatusCode::CREATED, Json(&promo)).into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("/api/admin/promo-codes/{}", promo.code)) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/api/admin/promo-codes", tag = "promotions", security(("session" = [])),
    responses(
        (status = 200, description = "Every promo code, newest first, with its uses", body = [PromoCode]),
        Unauthorized, Forbidden, Unavailable,
    ))]
/// `GET /api/admin/promo-codes` (operators).
pub async fn list_promo_codes(
    State(state): State<AppState>,
    Admin(_): Admin,
) -> ApiResult<Response> {
    Ok(Json(state.store.promotions().list().await?).into_response())
}

#[utoipa::path(patch, path = "/api/admin/promo-codes/{code}", tag = "promotions", security(("session" = [])),
    params(("code" = String, Path, description = "The code (any case)")),
    request_body = PromoCodePatch,
    responses(
        (status = 200, description = "Updated (`active: false` stops it)", body = PromoCode),
        BadRequest, Unauthorized, Forbidden, NotFound, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable,
    ))]
/// `PATCH /api/admin/promo-codes/{code}` (operators).
pub async fn update_promo_code(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(code): Path<String>,
    ApiJson(patch): ApiJson<PromoCodePatch>,
) -> ApiResult<Response> {
    Ok(Json(
        state
            .store
            .promotions()
            .update(&admin, &code, patch)
            .await?,
    )
    .into_response())
}

#[utoipa::path(post, path = "/api/cart/promo", tag = "cart", security(("session" = [])),
    request_body = PromoApply,
    responses(
        (status = 200, description = "The cart repriced with the code", body = Cart),
        (status = 422, description = "PROMO_INVALID, PROMO_NOT_STARTED, PROMO_EXPIRED, PROMO_LIMIT_REACHED or PROMO_NOT_APPLICABLE (checked in that order)", body = api_types::ErrorBody),
        BadRequest, Unauthorized, Forbidden, TooLarge, UnsupportedMediaType, Unavailable,
    ))]
/// `POST /api/cart/promo` `{"code"}`.
pub async fn apply_promo(
    State(state): State<AppState>,
    Auth(user): Auth,
    ApiJson(body): ApiJson<PromoApply>,
) -> ApiResult<Response> {
    Ok(Json(state.store.carts().apply_promo(&user, &body.code).await?).into_response())
}

#[utoipa::path(delete, path = "/api/cart/promo", tag = "cart", security(("session" = [])),
    responses(
        (status = 200, description = "The cart without a promo code", body = Cart),
        Unauthorized, Forbidden, Unavailable,
    ))]
/// `DELETE /api/cart/promo`.
pub async fn remove_promo(State(state): State<AppState>, Auth(user): Auth) -> ApiResult<Response> {
    Ok(Json(state.store.carts().remove_promo(&user).await?).into_response())
}

#[utoipa::path(get, path = "/api/wishlist", tag = "wishlist", security(("session" = [])),
    responses(
        (status = 200, description = "Wished-for items, most recent first", body = [Item]),
        Unauthorized, Unavailable,
    ))]
/// `GET /api/wishlist`.
pub async fn get_wishlist(State(state): State<AppState>, Auth(user): Auth) -> ApiResult<Response> {
    Ok(Json(state.store.wishlists().list(&user).await?).into_response())
}

#[utoipa::path(put, path = "/api/wishlist/{item_id}", tag = "wishlist", security(("session" = [])),
    params(("item_id" = i64, Path, description = "Item id")),
    responses(
        (status = 200, description = "The wishlist with the item (adding it again changes nothing)", body = [Item]),
        Unauthorized, Forbidden, NotFound, Unprocessable, Unavailable,
    ))]
/// `PUT /api/wishlist/{item_id}`.
pub async fn add_to_wishlist(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(item_id): Path<String>,
) -> ApiResult<Response> {
    let item_id = edge::ids::item_id(&item_id)?;
    Ok(Json(state.store.wishlists().add(&user, item_id).await?).into_response())
}

#[utoipa::path(delete, path = "/api/wishlist/{item_id}", tag = "wishlist", security(("session" = [])),
    params(("item_id" = i64, Path, description = "Item id")),
    responses(
        (status = 200, description = "The wishlist without the item", body = [Item]),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ))]
/// `DELETE /api/wishlist/{item_id}`.
pub async fn remove_from_wishlist(
    State(state): State<AppState>,
    Auth(user): Auth,
    Path(item_id): Path<String>,
) -> ApiResult<Response> {
    let item_id = edge::ids::item_id(&item_id)?;
    Ok(Json(state.store.wishlists().remove(&user, item_id).await?).into_response())
}
