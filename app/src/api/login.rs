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
    let store = crate::ssr::store()?;
    let target = store::domain::redirect_target(next.as_deref(), &store.settings().public_url);
    let user = crate::ssr::start_session(&store, &username, &password).await?;
    leptos_axum::redirect(&target);
    Ok(user)
}
