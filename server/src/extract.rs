//! Request extractors: a JSON body that rejects in the API's error shape, the session user,
//! and the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use store::accounts::{CurrentUser, cookie};

use crate::AppState;
use crate::error::{ApiError, plain};

/// `axum::Json`, but a rejected body answers `{"error": …}` with the right status: 400 for
/// broken JSON, 415 for another content type, 422 for a well-formed body of the wrong shape.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

pub fn json_rejection(rejection: JsonRejection) -> Response {
    match rejection {
        JsonRejection::JsonDataError(e) => plain(
            StatusCode::UNPROCESSABLE_ENTITY,
            "VALIDATION_FAILED",
            format!("the request body has the wrong shape: {}", e.body_text()),
        ),
        JsonRejection::JsonSyntaxError(e) => plain(
            StatusCode::BAD_REQUEST,
            "MALFORMED_JSON",
            format!("the request body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::MissingJsonContentType(_) => plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            "send the body as application/json",
        ),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PAYLOAD_TOO_LARGE",
            "the request body is too large",
        ),
        other => plain(other.status(), "BAD_REQUEST", other.body_text()),
    }
}

/// Query parameters read as plain text fields, so that a bad value reaches the domain's
/// validation (a 422 naming the field) instead of failing extraction; only an unreadable query
/// string is a 400.
/// A parameter holding a control character (a NUL, say) is refused with a 422 naming it.
pub fn query_params<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, store::Error> {
    let raw = raw.unwrap_or("");
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw)
        .map_err(|e| store::Error::BadRequest(format!("cannot read the query string: {e}")))?;
    for (name, value) in &pairs {
        let field = if name.chars().count() <= 40 && !name.chars().any(char::is_control) {
            name.clone()
        } else {
            "query".to_owned()
        };
        store::domain::check_text(field, value, false)?;
    }
    serde_urlencoded::from_str(raw)
        .map_err(|e| store::Error::BadRequest(format!("cannot read the query string: {e}")))
}

/// The session token from the request's cookies.
pub fn session_token(parts: &Parts) -> Option<&str> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(cookie::token)
}

/// The logged-in caller; 401 without a valid session.
pub struct Auth(pub CurrentUser);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(Auth(user.clone()));
        }
        let Some(token) = session_token(parts) else {
            return Err(ApiError(store::Error::Unauthenticated).into_response());
        };
        let user = state
            .store
            .accounts()
            .authenticate(token)
            .await
            .map_err(|e| ApiError(e).into_response())?;
        parts.extensions.insert(user.clone());
        Ok(Auth(user))
    }
}

/// An operator; 401 for anonymous callers, 403 for customers.
pub struct Admin(pub CurrentUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(user) = Auth::from_request_parts(parts, state).await?;
        user.require_admin()
            .map_err(|e| ApiError(e).into_response())?;
        Ok(Admin(user))
    }
}

/// The client's address: the socket peer, or, behind `TRUST_FORWARDED_FOR` proxies of our own,
/// the entry they wrote into `X-Forwarded-For` (see `store::accounts::client_address`).
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(client_ip(
            parts,
            state.store.settings().trusted_proxies,
        )))
    }
}

pub fn client_ip(parts: &Parts, trusted_proxies: usize) -> Option<IpAddr> {
    // Every X-Forwarded-For header, in order: a proxy may add its own header instead of
    // appending to the client's.
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let forwarded = forwarded.join(",");
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip());
    store::accounts::client_address(Some(&forwarded), peer, trusted_proxies)
}
