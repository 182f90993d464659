use leptos::prelude::*;

use crate::error::AppError;

/// Ends the session everywhere and clears the cookie.
#[server(prefix = "/rpc")]
pub async fn logout() -> Result<(), AppError> {
    use store::accounts::cookie;
    let store = crate::ssr::store()?;
    if let Some(user) = crate::ssr::current_user().await? {
        store.accounts().logout(&user).await?;
    }
    crate::ssr::set_cookie(&cookie::clear(store.settings()));
    leptos_axum::redirect("/");
    Ok(())
}
