//! The API's error response: one JSON shape, `{"error": {"code", "message", "field"?}}`, with
//! the status the domain error names, and `Retry-After` for answers a client may retry. Internal
//! causes are logged where they occur, never sent. This is where a REST error's status is set.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// A domain error on its way out of a handler or an extractor.
#[derive(Debug)]
pub struct ApiError(pub store::Error);

impl From<store::Error> for ApiError {
    fn from(e: store::Error) -> Self {
        ApiError(e)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(error = %self.0, code = self.0.code(), "request failed");
        }
        let mut response = (status, Json(self.0.to_body())).into_response();
        if let Some(secs) = self.0.retry_after_secs() {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
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
