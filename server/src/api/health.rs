use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde_json::json;

use crate::AppState;

/// What the probes answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Probe {
    pub status: String,
}

#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, description = "Alive", body = Probe)))]
/// Liveness: the process answers.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready (status ok, or degraded without Redis)", body = Probe),
        (status = 503, description = "Not ready: database down, or shutting down", body = Probe),
    ))]
/// Readiness: 200 when the database answers (`degraded` if Redis does not), 503 otherwise.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    if state.is_draining() {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(
                json!({ "status": "draining", "database": "unknown", "cache": "unknown", "cache_backend": state.store.cache().backend_name() }),
            ),
        );
    }
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
