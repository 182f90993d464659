//! Server-side helpers for server functions: the store, the caller, cookies.

use http::header::{COOKIE, SET_COOKIE};
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
pub fn client_ip(trusted_proxies: usize) -> Option<std::net::IpAddr> {
    let parts = parts()?;
    let forwarded: Vec<&str> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let peer = parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip());
    store::accounts::client_address(Some(&forwarded.join(",")), peer, trusted_proxies)
}

/// Logs `username` in and sets the session cookie on the response.
pub async fn start_session(
    store: &Store,
    username: &str,
    password: &str,
) -> Result<api_types::User, AppError> {
    let ip = client_ip(store.settings().trusted_proxies);
    let (user, session) = store.accounts().login(username, password, ip).await?;
    issue_cookie(store, &session);
    Ok(user)
}

/// Sets the cookie of a freshly opened session on the response.
pub fn issue_cookie(store: &Store, session: &store::accounts::NewSession) {
    set_cookie(&cookie::issue(
        &session.token,
        session.max_age_secs,
        store.settings(),
    ));
}
