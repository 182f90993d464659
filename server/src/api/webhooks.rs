use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use store::payments::StandardDelivery;

use crate::AppState;
use crate::error::ApiResult;

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
