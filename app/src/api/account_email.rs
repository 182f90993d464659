use api_types::EmailStatus;
use leptos::prelude::*;

use crate::error::AppError;

/// The logged-in user's email address for receipts, and whether it is verified.
#[server(prefix = "/rpc")]
pub async fn my_email() -> Result<EmailStatus, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?.accounts().email(&user).await?)
}

/// Sets the address and sends it a verification link.
#[server(prefix = "/rpc")]
pub async fn set_email(email: String) -> Result<EmailStatus, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?
        .accounts()
        .set_email(&user, &email)
        .await?)
}

/// Sends the address waiting for verification a new link.
#[server(prefix = "/rpc")]
pub async fn resend_email_link() -> Result<EmailStatus, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?
        .accounts()
        .resend_verification(&user)
        .await?)
}

/// Takes the address away.
#[server(prefix = "/rpc")]
pub async fn remove_email() -> Result<EmailStatus, AppError> {
    let user = crate::ssr::require_user().await?;
    Ok(crate::ssr::store()?.accounts().remove_email(&user).await?)
}
