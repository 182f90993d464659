//! A payment provider simulator.
//!
//! It accepts payment intents (`POST /payment-intents`, the contract in SPEC §5), waits a
//! configurable delay, then sends a signed Standard Webhooks notification to the intent's
//! `callback_url`, retrying with exponential backoff and jitter until it gets a 2xx. Knobs for
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
    ProviderEventData as EventData, ProviderEventKind as EventKind,
};
pub use config::{Config, ConfigError};

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
}

impl Simulator {
    pub fn new(config: Config) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            inner: Arc::new(Inner { config, http }),
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

    /// The provider's HTTP API, for the stand-alone binary.
    pub fn router(self) -> axum::Router {
        axum::Router::new()
            .route("/payment-intents", post(create_intent))
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

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    (status, Json(body)).into_response()
}
