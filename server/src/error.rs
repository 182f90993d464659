//! Error answers: the API's JSON shape (`edge::ApiError`), the safety net that gives framework
//! errors the same shape, and the one place a server function's error gets its status.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

pub use edge::{ApiError, ApiResult, plain};

/// A JSON error for cases that are not domain errors (bad media type, unknown route), as a
/// value (for parsing helpers that return `Result<_, Reject>`).
#[derive(Debug)]
pub struct Reject {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        plain(self.status, self.code, self.message)
    }
}

pub fn reject(status: StatusCode, code: &'static str, message: impl Into<String>) -> Reject {
    Reject {
        status,
        code,
        message: message.into(),
    }
}

/// A safety net for `/api/…`: an error produced outside our handlers (a body over the size
/// limit, a timeout, a framework rejection) still answers in the API's JSON error shape.
pub fn json_errors(api: bool, response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    if !api || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ("PAYLOAD_TOO_LARGE", "the request body is too large"),
        StatusCode::REQUEST_TIMEOUT => ("TIMEOUT", "the request took too long"),
        StatusCode::METHOD_NOT_ALLOWED => (
            "METHOD_NOT_ALLOWED",
            "this endpoint does not accept that method",
        ),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            ("UNSUPPORTED_MEDIA_TYPE", "unsupported content type")
        }
        StatusCode::NOT_FOUND => ("NOT_FOUND", "not found"),
        s if s.is_server_error() => ("INTERNAL", "something went wrong on our side"),
        _ => ("BAD_REQUEST", "the request could not be understood"),
    };
    let mut rewritten = plain(status, code, message);
    for name in [header::ALLOW, header::RETRY_AFTER] {
        if let Some(value) = response.headers().get(&name) {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// Server functions answer every error with 500 and the error in the body; this gives the
/// response the status the error itself names (422 for a bad field, 400 for arguments that do
/// not parse, 401, 409…), so that logs, metrics and proxies see a client error as one. It is the
/// one place that sets a server function error's status. JavaScript-off form posts are
/// redirects back to the form and pass unchanged.
pub async fn server_fn_status(response: Response) -> Response {
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key("serverfnerror")
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "something went wrong on our side",
        );
    };
    if let Ok(error) = serde_json::from_slice::<app::AppError>(&bytes)
        && let Ok(status) = StatusCode::from_u16(error.status)
        && (status.is_client_error() || status.is_server_error())
    {
        parts.status = status;
        if status.is_server_error() {
            tracing::error!(code = %error.code, "server function failed");
        }
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}
