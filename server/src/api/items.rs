use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use store::catalog::{ItemPatch, NewItem, Query, RawQuery as CatalogParams};

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Admin, ApiJson};

/// `GET /api/items`: the catalog page as a bare JSON array, with `X-Total-Count` and `Link`.
pub async fn list_items(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let params: CatalogParams = serde_urlencoded::from_str(raw.as_deref().unwrap_or(""))
        .map_err(|e| store::Error::BadRequest(format!("cannot read the query string: {e}")))?;
    let query = Query::parse(&params)?;
    let listing = state.store.catalog().list(&query).await?;

    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        listing.body.clone(),
    )
        .into_response();
    let headers = response.headers_mut();
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
    if !links.is_empty() {
        if let Ok(value) = HeaderValue::from_str(&links.join(", ")) {
            headers.insert(header::LINK, value);
        }
    }
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("X-Total-Count, Link"),
    );
    Ok(response)
}

fn item_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .map_err(|_| ApiError(store::Error::NotFound("item")))
}

/// `GET /api/items/{id}`: one item (archived items too, marked `active: false`).
pub async fn get_item(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let body = state.store.catalog().get_cached(item_id(&id)?).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// `POST /api/items` (operators).
pub async fn create_item(
    State(state): State<AppState>,
    Admin(_): Admin,
    ApiJson(body): ApiJson<NewItem>,
) -> ApiResult<Response> {
    let item = state.store.catalog().create(body).await?;
    let location = format!("/api/items/{}", item.id);
    let mut response = (StatusCode::CREATED, Json(item)).into_response();
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `PATCH /api/items/{id}` (operators): change the fields given.
pub async fn update_item(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ItemPatch>,
) -> ApiResult<Response> {
    let item = state.store.catalog().update(item_id(&id)?, patch).await?;
    Ok(Json(item).into_response())
}

/// `DELETE /api/items/{id}` (operators): archives; past orders keep showing the item.
pub async fn archive_item(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    state.store.catalog().archive(item_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
