use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::plain;

/// `GET /covers/{sku}.svg`: an item's generated cover art.
pub async fn cover(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    let Some(sku) = file
        .strip_suffix(".svg")
        .and_then(|s| store::domain::Sku::parse(s).ok())
    else {
        return plain(StatusCode::NOT_FOUND, "NOT_FOUND", "no such cover");
    };
    let name = state
        .store
        .catalog()
        .name_for_sku(sku.as_str())
        .await
        .ok()
        .flatten()
        .unwrap_or_else(|| sku.as_str().replace('-', " "));
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        store::art::cover_svg(sku.as_str(), &name),
    )
        .into_response()
}
