use leptos::prelude::*;

use crate::error::AppError;

/// Ends the session everywhere and clears the cookie.
#[server(prefix = "/rpc")]
pub async fn logout() -> Result<(), AppError> {
    let store = crate::ssr::store()?;
    if let Some(user) = crate::ssr::current_user().await? {
        store.accounts().logout(&user).await?;
    }
    crate::ssr::clear_cookie(&store);
    leptos_axum::redirect("/");
    Ok(())
}
