use api_types::User;
use leptos::prelude::*;

use crate::error::AppError;

/// Creates a customer account and logs it in.
#[server(prefix = "/rpc")]
pub async fn register(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<User, AppError> {
    use store::accounts::cookie;
    let store = crate::ssr::store()?;
    let user = store.accounts().register(&username, &password).await?;
    let ip = crate::ssr::client_ip(store.settings().trust_forwarded_for);
    let (_, session) = store
        .accounts()
        .login(&user.username, &password, ip)
        .await?;
    crate::ssr::set_cookie(&cookie::issue(
        &session.token,
        session.max_age_secs,
        store.settings(),
    ));
    leptos_axum::redirect(&super::safe_next(next.as_deref()));
    Ok(user)
}
