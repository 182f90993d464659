use api_types::User;
use leptos::prelude::*;

use crate::error::AppError;

/// Logs in, sets the session cookie and sends the shopper back where they were.
#[server(prefix = "/rpc")]
pub async fn login(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<User, AppError> {
    use store::accounts::cookie;
    let store = crate::ssr::store()?;
    let ip = crate::ssr::client_ip(store.settings().trust_forwarded_for);
    let (user, session) = store.accounts().login(&username, &password, ip).await?;
    crate::ssr::set_cookie(&cookie::issue(
        &session.token,
        session.max_age_secs,
        store.settings(),
    ));
    leptos_axum::redirect(&super::safe_next(next.as_deref()));
    Ok(user)
}
