use api_types::LibraryEntry;
use leptos::prelude::*;

use crate::error::AppError;

/// Items the logged-in user owns.
#[server(prefix = "/rpc")]
pub async fn my_library() -> Result<Vec<LibraryEntry>, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?.orders().library(user.id()).await?)
}
