use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Readiness: 200 when the database answers (`degraded` if Redis does not), 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let r = state.store.readiness().await;
    let status = if !r.is_ready() {
        "unavailable"
    } else if r.cache {
        "ok"
    } else {
        "degraded"
    };
    let code = if r.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({
            "status": status,
            "database": if r.database { "ok" } else { "unavailable" },
            "cache": if r.cache { "ok" } else { "unavailable" },
            "cache_backend": r.cache_backend,
        })),
    )
}
