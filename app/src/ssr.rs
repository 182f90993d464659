//! Server-side helpers for server functions: the store, the caller, cookies.

use http::StatusCode;
use http::header::{ACCEPT, COOKIE, SET_COOKIE};
use http::request::Parts;
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use store::Store;
use store::accounts::{CurrentUser, cookie};

use crate::error::AppError;

pub fn store() -> Result<Store, AppError> {
    use_context::<Store>()
        .ok_or_else(|| AppError::new(500, "INTERNAL", "store missing from context"))
}

fn parts() -> Option<Parts> {
    use_context::<Parts>()
}

/// Gives a server function's error response the error's own status (422 for a bad field, 401
/// without a login, 409 for a taken username) instead of server_fn's blanket 500, so that the
/// logs, the metrics and any proxy see a client error as one; the client decodes every 4xx/5xx
/// the same way. Left alone: a plain form post (JavaScript off), which leptos_axum answers with
/// a redirect back to the form carrying the error in its URL, and a page being rendered, whose
/// status the page decides.
pub fn set_error_status(status: u16) {
    let Some(parts) = parts() else {
        return;
    };
    // Server functions are mounted under /rpc (see `crate::api`).
    let server_fn_call = parts.uri.path().starts_with("/rpc/");
    let plain_form_post = parts
        .headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if !server_fn_call || plain_form_post {
        return;
    }
    if let (Some(options), Ok(code)) = (
        use_context::<ResponseOptions>(),
        StatusCode::from_u16(status),
    ) && (code.is_client_error() || code.is_server_error())
    {
        options.set_status(code);
    }
}

/// The logged-in caller, if any. An invalid or expired session is simply "not logged in".
pub async fn current_user() -> Result<Option<CurrentUser>, AppError> {
    let Some(parts) = parts() else {
        return Ok(None);
    };
    let token = parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(cookie::token)
        .map(str::to_owned);
    let Some(token) = token else {
        return Ok(None);
    };
    match store()?.accounts().authenticate(&token).await {
        Ok(user) => Ok(Some(user)),
        Err(store::Error::Unauthenticated) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub async fn require_user() -> Result<CurrentUser, AppError> {
    current_user()
        .await?
        .ok_or_else(|| AppError::from(store::Error::Unauthenticated))
}

pub async fn require_admin() -> Result<CurrentUser, AppError> {
    let user = require_user().await?;
    user.require_admin()?;
    Ok(user)
}

pub fn set_cookie(value: &str) {
    if let (Some(options), Ok(value)) = (
        use_context::<ResponseOptions>(),
        http::HeaderValue::from_str(value),
    ) {
        options.append_header(SET_COOKIE, value);
    }
}

/// The client's address, as the REST API determines it.
pub fn client_ip(trust_forwarded_for: bool) -> Option<std::net::IpAddr> {
    let parts = parts()?;
    let forwarded = parts
        .headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok());
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    store::accounts::client_address(forwarded, peer, trust_forwarded_for)
}

/// Logs `username` in and sets the session cookie on the response.
pub async fn start_session(
    store: &Store,
    username: &str,
    password: &str,
) -> Result<api_types::User, AppError> {
    let ip = client_ip(store.settings().trust_forwarded_for);
    let (user, session) = store.accounts().login(username, password, ip).await?;
    set_cookie(&cookie::issue(
        &session.token,
        session.max_age_secs,
        store.settings(),
    ));
    Ok(user)
}
