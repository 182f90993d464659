//! What the store and its payment provider send each other (SPEC §5): the payment intent, the
//! refund request, and the Standard Webhooks event the provider posts back.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// `POST {PAYMENT_PROVIDER_URL}/payment-intents`: the store asks the provider to take a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentIntent {
    pub order_id: Uuid,
    pub user_id: Uuid,
    pub amount_cents: i64,
    pub currency: String,
    pub items: Vec<IntentItem>,
    pub callback_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentItem {
    pub item_id: i64,
    pub sku: String,
    pub name: String,
    /// Absent in the first version of the contract: one.
    #[serde(default = "one")]
    pub quantity: u32,
    /// The line's total (quantity × unit price, less its discount).
    pub amount_cents: i64,
}

/// `POST {PAYMENT_PROVIDER_URL}/refunds`: the store asks the provider to give money back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RefundRequest {
    pub refund_id: Uuid,
    pub order_id: Uuid,
    pub transaction_id: String,
    pub amount_cents: i64,
    pub currency: String,
}

/// The provider's answer to an accepted intent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentAccepted {
    pub transaction_id: String,
    pub status: String,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProviderEventKind {
    #[serde(rename = "payment.succeeded")]
    Succeeded,
    #[serde(rename = "payment.failed")]
    Failed,
    #[serde(rename = "payment.refunded")]
    Refunded,
}

/// The Standard Webhooks body the provider posts to the store's callback URL.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderEvent {
    #[serde(rename = "type")]
    pub kind: ProviderEventKind,
    pub timestamp: String,
    pub data: ProviderEventData,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderEventData {
    pub order_id: Uuid,
    pub transaction_id: String,
    pub amount_cents: i64,
    pub currency: String,
    pub user_id: Uuid,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// On `payment.refunded`: the store's refund this answers (none for one the provider made
    /// unasked); `amount_cents` is then the amount refunded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_id: Option<Uuid>,
}

fn one() -> u32 {
    1
}
