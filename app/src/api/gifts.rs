use api_types::GiftReceived;
use leptos::prelude::*;

use crate::error::AppError;

/// Gifts other members sent the logged-in user.
#[server(prefix = "/rpc")]
pub async fn my_gifts() -> Result<Vec<GiftReceived>, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?
        .orders()
        .gifts_received(user.id())
        .await?)
}
