#![expect(
    clippy::too_many_arguments,
    reason = "one argument per form field keeps the plain HTML form, and JavaScript-off posts, simple"
)]

use api_types::PromoCode;
use leptos::prelude::*;

use crate::error::AppError;

/// Every promo code (operators).
#[server(prefix = "/rpc")]
pub async fn admin_promo_codes() -> Result<Vec<PromoCode>, AppError> {
    crate::ssr::require_admin().await?;
    Ok(crate::ssr::store()?.promotions().list().await?)
}

/// Creates a promo code from the operators' form: `off` is a percentage ("15") or an amount
/// ("5.00") as `kind` says.
#[server(prefix = "/rpc")]
pub async fn create_promo(
    code: String,
    kind: String,
    off: String,
    max_uses: Option<String>,
    max_uses_per_user: Option<String>,
    min_subtotal: Option<String>,
    tags: Option<String>,
    ends_at: Option<String>,
) -> Result<PromoCode, AppError> {
    let admin = crate::ssr::require_admin().await?;
    let count = |raw: Option<String>, field: &'static str| -> Result<Option<i32>, AppError> {
        match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => s.parse().map(Some).map_err(|_| {
                AppError::from(store::Error::invalid(
                    field,
                    format!("{field} must be a whole number"),
                ))
            }),
        }
    };
    let money = |raw: &str, field: &'static str| {
        api_types::parse_price(raw, "USD")
            .map_err(|m| AppError::from(store::Error::invalid(field, m)))
    };
    let (percent_off, amount_off_cents) = if kind == "amount" {
        (None, Some(money(&off, "amount_off_cents")?))
    } else {
        (count(Some(off), "percent_off")?, None)
    };
    let tags: Vec<String> = tags
        .unwrap_or_default()
        .split(',')
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .collect();
    let ends_at = match ends_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
                .map_err(|_| {
                    AppError::from(store::Error::invalid(
                        "ends_at",
                        "ends_at must be a date and time",
                    ))
                })?
                .and_utc(),
        ),
    };
    let min_subtotal_cents = match min_subtotal
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => Some(money(s, "min_subtotal_cents")?),
    };
    let promo = crate::ssr::store()?
        .promotions()
        .create(
            &admin,
            api_types::NewPromoCode {
                code,
                percent_off,
                amount_off_cents,
                currency: None,
                starts_at: None,
                ends_at,
                max_uses: count(max_uses, "max_uses")?,
                max_uses_per_user: count(max_uses_per_user, "max_uses_per_user")?,
                min_subtotal_cents,
                item_ids: None,
                tags: (!tags.is_empty()).then_some(tags),
            },
        )
        .await?;
    Ok(promo)
}

/// Stops (or restarts) a promo code.
#[server(prefix = "/rpc")]
pub async fn set_promo_active(code: String, active: Option<String>) -> Result<PromoCode, AppError> {
    let admin = crate::ssr::require_admin().await?;
    Ok(crate::ssr::store()?
        .promotions()
        .update(
            &admin,
            &code,
            api_types::PromoCodePatch {
                active: Some(active.is_some()),
                ..Default::default()
            },
        )
        .await?)
}
