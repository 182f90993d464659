use api_types::User;
use leptos::prelude::*;

use crate::error::AppError;

/// Creates a customer account, logs it in and sends the shopper back where they were.
#[server(prefix = "/rpc")]
pub async fn register(
    username: String,
    password: String,
    next: Option<String>,
) -> Result<User, AppError> {
    let store = crate::ssr::store()?;
    let target = store::domain::redirect_target(next.as_deref(), &store.settings().public_url);
    let ip = crate::ssr::client_ip(&store);
    let (user, session) = store
        .accounts()
        .register_and_sign_in(&username, &password, ip)
        .await?;
    crate::ssr::issue_cookie(&store, &session);
    leptos_axum::redirect(&target);
    Ok(user)
}
