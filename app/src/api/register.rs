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
    let store = crate::ssr::store()?;
    let user = store.accounts().register(&username, &password).await?;
    crate::ssr::start_session(&store, &user.username, &password).await?;
    leptos_axum::redirect(&super::safe_next(next.as_deref()));
    Ok(user)
}
