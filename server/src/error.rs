//! The API's error response: one JSON shape, `{"error": {"code", "message", "field"?}}`, with
//! the status the domain error names. Internal causes are logged where they occur, never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A domain error on its way out of a REST handler.
#[derive(Debug)]
pub struct ApiError(pub store::Error);

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        ApiError(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self.0, code = self.0.code(), "request failed");
        }
        let mut response = (status, Json(self.0.to_body())).into_response();
        if let store::Error::RateLimited { retry_after_secs } = self.0 {
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A JSON error for cases that are not domain errors (bad media type, unknown route).
pub fn plain(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    let body = api_types::ErrorBody {
        error: api_types::ErrorDetail {
            code: code.to_owned(),
            message: message.into(),
            field: None,
        },
    };
    (status, Json(body)).into_response()
}

pub type ApiResult<T> = Result<T, ApiError>;
