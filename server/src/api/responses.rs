//! The error answers the handlers list in the OpenAPI description, one type per status so that
//! each status is worded in one place. They are documentation only and never constructed: errors
//! are built by [`crate::error::ApiError`], whose body is always [`ErrorBody`].
#![allow(dead_code)]

use api_types::ErrorBody;
use utoipa::IntoResponses;

#[derive(IntoResponses)]
#[response(status = 400, description = "Malformed request")]
pub struct BadRequest(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 401, description = "Not logged in")]
pub struct Unauthorized(ErrorBody);

#[derive(IntoResponses)]
#[response(
    status = 403,
    description = "Not allowed, or a cross-site request (CSRF_REJECTED)"
)]
pub struct Forbidden(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 404, description = "Not found")]
pub struct NotFound(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 409, description = "Conflict")]
pub struct Conflict(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 413, description = "Body too large")]
pub struct TooLarge(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 415, description = "Unsupported content type")]
pub struct UnsupportedMediaType(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 422, description = "Invalid field (the error names it)")]
pub struct Unprocessable(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 429, description = "Too many failed attempts (Retry-After)")]
pub struct TooManyRequests(ErrorBody);

#[derive(IntoResponses)]
#[response(status = 503, description = "A dependency is unavailable")]
pub struct Unavailable(ErrorBody);
