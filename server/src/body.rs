//! Request bodies are read whole, up to [`crate::BODY_LIMIT`], before any handler runs. REST
//! handlers and server functions alike then see a complete body or none, and a body over the
//! limit (declared in `Content-Length` or sent chunked) is answered 413 in the API's error shape
//! instead of failing half-way through a handler.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};

use crate::BODY_LIMIT;
use crate::error::plain;

/// The request with its body read whole, or the 413/400 answer.
pub async fn read_whole(request: Request) -> Result<Request, Response> {
    let headers = request.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let bodiless = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) && declared.is_none_or(|n| n == 0)
        && !headers.contains_key(header::TRANSFER_ENCODING);
    if bodiless {
        return Ok(request);
    }
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let (parts, body) = request.into_parts();
    match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(collected) => Ok(Request::from_parts(parts, Body::from(collected.to_bytes()))),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Err(e) => {
            tracing::debug!(error = %e, "request body could not be read");
            Err(plain(
                StatusCode::BAD_REQUEST,
                "BAD_REQUEST",
                "the request body could not be read",
            ))
        }
    }
}

fn too_large() -> Response {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        format!("the request body is larger than {} KiB", BODY_LIMIT / 1024),
    )
}
