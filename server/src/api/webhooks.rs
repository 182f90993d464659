use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use store::payments::StandardDelivery;

use super::responses::{BadRequest, Conflict, TooLarge, Unavailable, Unprocessable};
use crate::AppState;
use crate::error::ApiResult;

#[utoipa::path(post, path = "/api/webhooks/payment", tag = "webhooks",
    request_body(content = api_types::ProviderEvent, content_type = "application/json",
        description = "Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature headers), or Xsolla-style with Authorization: Signature"),
    params(
        ("webhook-id" = Option<String>, Header, description = "Delivery id (the dedupe key)"),
        ("webhook-timestamp" = Option<String>, Header, description = "Unix seconds; ±5 minutes"),
        ("webhook-signature" = Option<String>, Header, description = "v1,<base64 HMAC-SHA256>, space-separated list"),
    ),
    responses(
        (status = 204, description = "Accepted (also for a duplicate of an applied event)"),
        (status = 401, description = "Signature missing, wrong, or its timestamp outside ±5 minutes", body = api_types::ErrorBody),
        BadRequest, Conflict, TooLarge, Unprocessable, Unavailable,
    ))]
/// `POST /api/webhooks/payment`: a signed payment notification. Standard Webhooks headers, or an
/// `Authorization: Signature …` header for the Xsolla-style scheme. The body is taken as raw
/// bytes: the signature covers exactly what was sent.
pub async fn receive_payment(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let payments = state.store.payments();
    let authorization = text(header::AUTHORIZATION.as_str());
    let xsolla = authorization.is_some_and(|a| a.trim_start().starts_with("Signature "))
        && text("webhook-signature").is_none();
    if xsolla {
        payments.receive_xsolla(authorization, &body).await?;
    } else {
        payments
            .receive_standard(
                StandardDelivery {
                    id: text("webhook-id"),
                    timestamp: text("webhook-timestamp"),
                    signature: text("webhook-signature"),
                },
                &body,
            )
            .await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
