//! A payment provider simulator.
//!
//! It accepts payment intents (`POST /payment-intents`, the contract in SPEC §5), waits a
//! configurable delay, then sends a signed Standard Webhooks notification to the intent's
//! `callback_url`, retrying with exponential backoff and jitter until it gets a 2xx. Refund
//! requests (`POST /refunds`) for a payment it took are answered the same way, with a
//! `payment.refunded` naming the store's `refund_id`. Knobs for
//! failures, duplicate deliveries, refunds and out-of-order delivery exercise the store's
//! webhook handling in tests and demos.
//!
//! The same code runs as its own binary (`paysim`) and inside the store when no
//! `PAYMENT_PROVIDER_URL` is configured.

mod config;
mod delivery;

use std::sync::Arc;

use axum::extract::{Json, State, rejection::JsonRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use uuid::Uuid;

pub use api_types::{
    IntentAccepted as Accepted, IntentItem, PaymentIntent, ProviderEvent as Event,
    ProviderEventData as EventData, ProviderEventKind as EventKind, RefundRequest,
};
pub use config::{Config, ConfigError};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RefundError {
    #[error("amount_cents must be positive")]
    Amount,
    #[error("no payment for this order was taken here")]
    UnknownPayment,
    #[error("currency does not match the payment's")]
    Currency,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IntentError {
    #[error("amount_cents must be positive")]
    Amount,
    #[error("currency must be a three-letter ISO-4217 code")]
    Currency,
    #[error("callback_url must be an absolute http(s) URL")]
    CallbackUrl,
}

/// What the simulator checks before it takes an intent.
pub fn validate(intent: &PaymentIntent) -> Result<(), IntentError> {
    if intent.amount_cents <= 0 {
        return Err(IntentError::Amount);
    }
    if intent.currency.len() != 3 || !intent.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(IntentError::Currency);
    }
    if !(intent.callback_url.starts_with("http://") || intent.callback_url.starts_with("https://"))
    {
        return Err(IntentError::CallbackUrl);
    }
    Ok(())
}

/// The simulator: cheap to clone, every accepted intent runs as its own task.
#[derive(Clone)]
pub struct Simulator {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    http: reqwest::Client,
    /// The payments taken, so refunds can be answered to the right callback: at most
    /// [`REMEMBERED`], the oldest forgotten first.
    payments: std::sync::Mutex<Payments>,
}

/// How many payments the simulator remembers for refunds.
const REMEMBERED: usize = 100_000;

#[derive(Default)]
struct Payments {
    by_order: std::collections::HashMap<Uuid, Taken>,
    order: std::collections::VecDeque<Uuid>,
}

#[derive(Clone)]
struct Taken {
    user_id: Uuid,
    currency: String,
    callback_url: String,
    transaction_id: String,
    /// The refunds taken for this payment, by the store's `refund_id`: a request sent again
    /// (the store heard no answer the first time) is acknowledged without a second refund.
    refunds: std::collections::HashSet<Uuid>,
}

impl Simulator {
    pub fn new(config: Config) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner {
                config,
                http,
                payments: std::sync::Mutex::default(),
            }),
        }
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Accepts an intent and schedules its notifications. Returns at once.
    pub fn accept(&self, intent: PaymentIntent) -> Result<Accepted, IntentError> {
        validate(&intent)?;
        let transaction_id = format!("tx_{}", Uuid::new_v4().simple());
        let plan = delivery::plan(&self.inner.config, &intent, &transaction_id);
        self.remember(
            intent.order_id,
            Taken {
                user_id: intent.user_id,
                currency: intent.currency.clone(),
                callback_url: intent.callback_url.clone(),
                transaction_id: transaction_id.clone(),
                refunds: Default::default(),
            },
        );
        let sim = self.clone();
        tokio::spawn(async move {
            delivery::run(
                &sim.inner.http,
                &sim.inner.config,
                &intent.callback_url,
                plan,
            )
            .await;
        });
        Ok(Accepted {
            transaction_id,
            status: "accepted".to_owned(),
        })
    }

    fn remember(&self, order_id: Uuid, taken: Taken) {
        let mut payments = self
            .inner
            .payments
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if payments.by_order.insert(order_id, taken).is_none() {
            payments.order.push_back(order_id);
        }
        while payments.order.len() > REMEMBERED {
            if let Some(old) = payments.order.pop_front() {
                payments.by_order.remove(&old);
            }
        }
    }

    /// Accepts a refund of a payment it took and schedules its `payment.refunded` (with the
    /// configured delay and duplicates). Returns at once. A `refund_id` it already took is
    /// acknowledged again and refunds nothing more.
    pub fn refund(&self, request: RefundRequest) -> Result<(), RefundError> {
        if request.amount_cents <= 0 {
            return Err(RefundError::Amount);
        }
        let taken = {
            let mut payments = self
                .inner
                .payments
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let taken = payments
                .by_order
                .get_mut(&request.order_id)
                .ok_or(RefundError::UnknownPayment)?;
            if !taken.currency.eq_ignore_ascii_case(&request.currency) {
                return Err(RefundError::Currency);
            }
            if !taken.refunds.insert(request.refund_id) {
                return Ok(());
            }
            taken.clone()
        };
        let planned = delivery::refund_event(
            &request,
            taken.user_id,
            if request.transaction_id.is_empty() {
                &taken.transaction_id
            } else {
                &request.transaction_id
            },
        );
        let sim = self.clone();
        tokio::spawn(async move {
            delivery::run(
                &sim.inner.http,
                &sim.inner.config,
                &taken.callback_url,
                vec![planned],
            )
            .await;
        });
        Ok(())
    }

    /// The provider's HTTP API, for the stand-alone binary.
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/payment-intents", post(create_intent))
            .route("/refunds", post(create_refund))
            .route("/healthz", get(|| async { "ok" }))
            .with_state(self)
    }
}

async fn create_intent(
    State(sim): State<Simulator>,
    body: Result<Json<PaymentIntent>, JsonRejection>,
) -> Response {
    let Json(intent) = match body {
        Ok(intent) => intent,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                "MALFORMED_BODY",
                &rejection.body_text(),
            );
        }
    };
    match sim.accept(intent) {
        Ok(accepted) => (StatusCode::ACCEPTED, Json(accepted)).into_response(),
        Err(e) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_INTENT",
            &e.to_string(),
        ),
    }
}

async fn create_refund(
    State(sim): State<Simulator>,
    body: Result<Json<RefundRequest>, JsonRejection>,
) -> Response {
    let Json(request) = match body {
        Ok(request) => request,
        Err(rejection) => {
            return error(
                StatusCode::BAD_REQUEST,
                "MALFORMED_BODY",
                &rejection.body_text(),
            );
        }
    };
    let refund_id = request.refund_id;
    match sim.refund(request) {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "refund_id": refund_id, "status": "accepted" })),
        )
            .into_response(),
        Err(e @ RefundError::UnknownPayment) => {
            error(StatusCode::NOT_FOUND, "UNKNOWN_PAYMENT", &e.to_string())
        }
        Err(e) => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "INVALID_REFUND",
            &e.to_string(),
        ),
    }
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}
