//! License key pools (operators): import keys, read the pool's counts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use api_types::{KeyPool, KeysAdded, NewKeys};

use super::responses::{
    BadRequest, Conflict, Forbidden, NotFound, TooLarge, Unauthorized, Unavailable, Unprocessable,
    UnsupportedMediaType,
};
use crate::AppState;
use crate::error::{ApiResult, plain};
use crate::extract::Admin;

#[utoipa::path(post, path = "/api/admin/items/{id}/keys", tag = "items", security(("session" = [])),
    params(("id" = i64, Path, description = "Item id")),
    request_body(content(
        (NewKeys = "application/json"),
        (String = "text/csv"),
    ), description = "1–5,000 keys (4–128 printable ASCII characters, no spaces), as JSON or as a CSV whose first column holds them (a header row is skipped); at most 64 KiB"),
    responses(
        (status = 201, description = "Added to the pool (encrypted at rest); keys already in it, or repeated, are counted as duplicates. The item's stock follows the pool from now on: what is left for sale is the keys not handed out, less units in pending orders. An item in a bundle cannot sell keys (409 ITEM_IN_BUNDLE)", body = KeysAdded),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable,
    ))]
/// `POST /api/admin/items/{id}/keys` (operators): adds license keys to an item's pool.
pub async fn import_keys(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let item_id = edge::ids::item_id(&id)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let keys = match content_type.as_str() {
        "application/json" => match Json::<NewKeys>::from_bytes(&body) {
            Ok(Json(input)) => input.keys,
            Err(rejection) => return Ok(crate::extract::json_rejection(rejection)),
        },
        "text/csv" | "text/plain" => {
            let text = std::str::from_utf8(&body)
                .map_err(|_| store::Error::BadRequest("the CSV must be UTF-8 text".to_owned()))?;
            store::keys::parse_list(text)
        }
        _ => {
            return Ok(plain(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UNSUPPORTED_MEDIA_TYPE",
                "send the keys as application/json ({\"keys\": [...]}) or text/csv",
            ));
        }
    };
    let added = state.store.keys().import(&admin, item_id, &keys).await?;
    Ok((StatusCode::CREATED, Json(added)).into_response())
}

#[utoipa::path(get, path = "/api/admin/items/{id}/keys", tag = "items", security(("session" = [])),
    params(("id" = i64, Path, description = "Item id")),
    responses(
        (status = 200, description = "How many keys are available, assigned and revoked, and the newest 20 masked: never a whole key", body = KeyPool),
        BadRequest, Unauthorized, Forbidden, NotFound, Unavailable,
    ))]
/// `GET /api/admin/items/{id}/keys` (operators): the pool's counts.
pub async fn key_pool(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let pool = state.store.keys().pool(edge::ids::item_id(&id)?).await?;
    Ok(Json(pool).into_response())
}
