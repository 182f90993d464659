use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use store::catalog::Query;

use api_types::{CatalogQuery, Item, ItemPatch, NewItem};

use super::responses::{
    BadRequest, Conflict, Forbidden, NotFound, TooLarge, Unauthorized, Unavailable, Unprocessable,
    UnsupportedMediaType,
};
use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, ApiJson, Caller, query_params};

#[utoipa::path(get, path = "/api/items", tag = "items",
    params(
        ("q" = Option<String>, Query, description = "Search in names and descriptions (case-insensitive, at most 100 characters)"),
        ("tag" = Option<String>, Query, description = "Only items with this tag"),
        ("min_price" = Option<i64>, Query, description = "Lowest price in cents", minimum = 0),
        ("max_price" = Option<i64>, Query, description = "Highest price in cents", minimum = 0),
        ("sort" = Option<api_types::Sort>, Query, description = "name (default), price, -price or newest"),
        ("page" = Option<u32>, Query, description = "1-based page", minimum = 1),
        ("per_page" = Option<u32>, Query, description = "Items per page, 1–100 (default 20)", minimum = 1, maximum = 100),
    ),
    responses(
        (status = 200, description = "One page of the catalog, a bare array", body = [Item],
            headers(("X-Total-Count" = u64, description = "Matching items in all pages"), ("Link" = String, description = "rel=next / rel=prev page URLs"))),
        BadRequest, Unprocessable, Unavailable,
    ))]
/// `GET /api/items`: the catalog page as a bare JSON array, with `X-Total-Count` and `Link`.
pub async fn list_items(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
    request_headers: HeaderMap,
) -> ApiResult<Response> {
    let params: CatalogQuery = query_params(raw.as_deref())?;
    let query = Query::parse(&params)?;
    let listing = state.store.catalog().list(&query).await?;

    // Compressed once per cached page; the compression layer leaves an encoded body alone.
    let gzip = crate::page_cache::accepts_gzip(&request_headers);
    let body = if gzip {
        listing.gzipped().clone()
    } else {
        listing.body.clone()
    };
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if gzip {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert("x-total-count", HeaderValue::from(listing.total));
    let pages = query.page_count(listing.total);
    let link = |page: u32, rel: &str| match query.to_query_string(page).as_str() {
        "" => format!("</api/items>; rel=\"{rel}\""),
        qs => format!("</api/items?{qs}>; rel=\"{rel}\""),
    };
    let mut links = Vec::new();
    if query.page < pages {
        links.push(link(query.page + 1, "next"));
    }
    if query.page > 1 {
        links.push(link((query.page - 1).min(pages), "prev"));
    }
    if !links.is_empty()
        && let Ok(value) = HeaderValue::from_str(&links.join(", "))
    {
        headers.insert(header::LINK, value);
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Total-Count, Link"),
    );
    Ok(response)
}

#[utoipa::path(get, path = "/api/items/", tag = "items",
    description = "The original store's path for the catalog: the same as `GET /api/items`, with the same parameters.",
    responses(
        (status = 200, description = "One page of the catalog, a bare array", body = [Item]),
        BadRequest, Unprocessable, Unavailable,
    ))]
/// `GET /api/items/`: the original store's spelling of [`list_items`].
pub async fn list_items_compat(
    state: State<AppState>,
    raw: RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    list_items(state, raw, headers).await
}

fn item_id(raw: &str) -> Result<i64, ApiError> {
    Ok(edge::ids::item_id(raw)?)
}

#[utoipa::path(get, path = "/api/items/{id}", tag = "items", params(("id" = i64, Path, description = "Item id")),
    responses(
        (status = 200, description = "The item (archived ones have active: false); a bundle, for a logged-in shopper, carries owned_item_ids and price_for_you_cents", body = Item),
        NotFound, Unavailable,
    ))]
/// `GET /api/items/{id}`: one item (archived items too, marked `active: false`).
pub async fn get_item(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = item_id(&id)?;
    let entry = state.store.catalog().get_entry(id).await?;
    // A bundle's price depends on what the shopper owns: no shared cache for them.
    if let Some(user) = caller.filter(|_| entry.item.is_bundle()) {
        return Ok(Json(state.store.catalog().get_for(user.id(), id).await?).into_response());
    }
    let body = entry.body.clone();
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

#[utoipa::path(post, path = "/api/items", tag = "items", security(("session" = [])), request_body = api_types::NewItem,
    responses(
        (status = 201, description = "Created", body = Item),
        BadRequest, Unauthorized, Forbidden, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable,
    ))]
/// `POST /api/items` (operators).
pub async fn create_item(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(body): ApiJson<NewItem>,
) -> ApiResult<Response> {
    let item = state.store.catalog().create(&admin, body).await?;
    let location = format!("/api/items/{}", item.id);
    let mut response = (StatusCode::CREATED, Json(item)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

#[utoipa::path(patch, path = "/api/items/{id}", tag = "items", security(("session" = [])), params(("id" = i64, Path, description = "Item id")),
    request_body = api_types::ItemPatch,
    responses(
        (status = 200, description = "Updated", body = Item),
        BadRequest, Unauthorized, Forbidden, NotFound, Conflict, TooLarge, UnsupportedMediaType, Unprocessable, Unavailable,
    ))]
/// `PATCH /api/items/{id}` (operators): change the fields given.
pub async fn update_item(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ItemPatch>,
) -> ApiResult<Response> {
    let item = state
        .store
        .catalog()
        .update(&admin, item_id(&id)?, patch)
        .await?;
    Ok(Json(item).into_response())
}

#[utoipa::path(delete, path = "/api/items/{id}", tag = "items", security(("session" = [])), params(("id" = i64, Path, description = "Item id")),
    responses(
        (status = 204, description = "Archived: hidden from the catalog, kept in past orders"),
        Unauthorized, Forbidden, NotFound, Unavailable,
    ))]
/// `DELETE /api/items/{id}` (operators): archives; past orders keep showing the item.
pub async fn archive_item(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state.store.catalog().archive(&admin, item_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
