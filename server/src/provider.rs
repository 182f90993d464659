//! The payment providers the store can be wired to at start-up: the simulator running inside
//! the server (embedded mode), or a provider's HTTP API (`PAYMENT_PROVIDER_URL`).

use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt as _;
use futures::future::BoxFuture;
use url::Url;

use api_types::{PaymentIntent, RefundRequest};
use store::{PaymentProvider, ProviderError, SharedProvider};

use crate::StartError;
use crate::config::Config;

/// The provider `config` names.
pub fn from_config(config: &Config) -> Result<SharedProvider, StartError> {
    match &config.store.payment_provider_url {
        None => Ok(Arc::new(Embedded(paysim::Simulator::new(
            config.simulator.clone(),
        )))),
        Some(base) => Ok(Arc::new(HttpProvider::new(base)?)),
    }
}

/// The built-in simulator: intents are taken in-process and confirmed by signed webhooks to
/// the store's own callback URL, as a real provider would.
pub struct Embedded(pub paysim::Simulator);

impl PaymentProvider for Embedded {
    fn register_intent<'a>(
        &'a self,
        intent: &'a PaymentIntent,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        let accepted = self
            .0
            .accept(intent.clone())
            .map(|_| ())
            .map_err(|e| ProviderError::refused(e.to_string()));
        futures::future::ready(accepted).boxed()
    }

    fn request_refund<'a>(
        &'a self,
        refund: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        let taken = self
            .0
            .refund(refund.clone())
            .map_err(|e| ProviderError::refused(e.to_string()));
        futures::future::ready(taken).boxed()
    }
}

/// A provider's HTTP API: `POST {base}/payment-intents` and `POST {base}/refunds`, JSON, a 2xx
/// meaning taken.
pub struct HttpProvider {
    intents: Url,
    refunds: Url,
    http: reqwest::Client,
}

impl HttpProvider {
    pub fn new(base: &Url) -> Result<Self, StartError> {
        let join = |path: &str| {
            base.join(path)
                .map_err(|e| StartError(format!("PAYMENT_PROVIDER_URL: {e}")))
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| StartError(format!("cannot build the provider's HTTP client: {e}")))?;
        Ok(Self {
            intents: join("payment-intents")?,
            refunds: join("refunds")?,
            http,
        })
    }

    async fn post<T: serde::Serialize + Sync>(
        &self,
        url: &Url,
        body: &T,
    ) -> Result<(), ProviderError> {
        let response = self
            .http
            .post(url.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| ProviderError::unanswered(format!("cannot reach the provider: {e}")))?;
        let status = response.status();
        let detail = || format!("the provider answered {status}");
        if status.is_success() {
            Ok(())
        } else if refusal(status) {
            Err(ProviderError::refused(detail()))
        } else {
            Err(ProviderError::unanswered(detail()))
        }
    }
}

/// Whether an answer means the provider turned the request down for good. A 5xx, a timeout
/// (408), a throttle (429), a conflict (409: it may already hold this id) or a too-early (425)
/// says nothing about whether it acted.
fn refusal(status: reqwest::StatusCode) -> bool {
    status.is_client_error() && !matches!(status.as_u16(), 408 | 409 | 425 | 429)
}

impl PaymentProvider for HttpProvider {
    fn register_intent<'a>(
        &'a self,
        intent: &'a PaymentIntent,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        self.post(&self.intents, intent).boxed()
    }

    fn request_refund<'a>(
        &'a self,
        refund: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        self.post(&self.refunds, refund).boxed()
    }
}
