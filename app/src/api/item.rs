use api_types::Item;
use leptos::prelude::*;

use crate::error::AppError;

#[server(prefix = "/rpc")]
pub async fn get_item(id: i64) -> Result<Item, AppError> {
    Ok(crate::ssr::store()?.catalog().get(id).await?)
}
