use api_types::User;
use leptos::prelude::*;

use crate::error::AppError;

/// The logged-in user, or `None`.
#[server(prefix = "/rpc")]
pub async fn me() -> Result<Option<User>, AppError> {
    Ok(crate::ssr::current_user().await?.map(|u| u.user))
}
