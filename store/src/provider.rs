//! The payment provider, as the domain sees it: something that takes payment intents and refund
//! requests. The store does not know how it is reached; the server wires in an implementation
//! at start-up (the built-in simulator, or an HTTP client for a real provider), and tests use
//! fakes.

use std::sync::Arc;

use futures::future::BoxFuture;

use api_types::{PaymentIntent, RefundRequest};

/// Why the provider did not take a request: a detail for logs and operators, never shown to
/// shoppers (it may name the provider's URL or carry its error text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct ProviderError {
    pub detail: String,
    /// The provider answered and said no, so the request certainly did not take effect.
    /// Otherwise (no answer, a timeout, a 5xx) it may have: a refund asked that way stays
    /// pending, since a webhook may still report it done.
    pub refused: bool,
}

impl ProviderError {
    /// The provider answered and turned the request down.
    pub fn refused(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            refused: true,
        }
    }

    /// No usable answer: whether the provider acted on the request is unknown.
    pub fn unanswered(detail: impl Into<String>) -> Self {
        Self {
            detail: detail.into(),
            refused: false,
        }
    }
}

pub trait PaymentProvider: Send + Sync + 'static {
    /// Registers a payment intent. The provider confirms (or declines) it later through the
    /// signed webhook.
    fn register_intent<'a>(
        &'a self,
        intent: &'a PaymentIntent,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// Asks the provider to refund (part of) a captured payment; the `payment.refunded`
    /// webhook reports it done.
    fn request_refund<'a>(
        &'a self,
        refund: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
}

pub type SharedProvider = Arc<dyn PaymentProvider>;
