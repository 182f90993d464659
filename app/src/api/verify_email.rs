use api_types::EmailStatus;
use leptos::prelude::*;

use crate::error::AppError;

/// Confirms an email address with the token from its link (no login needed: the token is the
/// proof); then shows the account page.
#[server(prefix = "/rpc")]
pub async fn verify_email(token: String) -> Result<EmailStatus, AppError> {
    let status = crate::ssr::store()?.accounts().verify_email(&token).await?;
    leptos_axum::redirect("/account?verified=1");
    Ok(status)
}
