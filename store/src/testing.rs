//! Unit-test support: a store on a temporary SQLite file, wired to a fake payment provider that
//! records what it is asked and answers as told.

use std::sync::{Arc, Mutex};

use futures::FutureExt as _;
use futures::future::BoxFuture;

use api_types::{PaymentIntent, RefundRequest};

use crate::accounts::CurrentUser;
use crate::{PaymentProvider, ProviderError, Settings, Store};

/// A provider that takes every request (or refuses them all, when `failing`), remembering them.
#[derive(Default)]
pub struct FakeProvider {
    pub intents: Mutex<Vec<PaymentIntent>>,
    pub refunds: Mutex<Vec<RefundRequest>>,
    pub failing: std::sync::atomic::AtomicBool,
}

impl PaymentProvider for FakeProvider {
    fn register_intent<'a>(
        &'a self,
        intent: &'a PaymentIntent,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        let result = if self.failing.load(std::sync::atomic::Ordering::Relaxed) {
            Err(ProviderError::unanswered(
                "connection refused by http://10.0.0.1/pay",
            ))
        } else {
            self.intents
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(intent.clone());
            Ok(())
        };
        futures::future::ready(result).boxed()
    }

    fn request_refund<'a>(
        &'a self,
        refund: &'a RefundRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        let result = if self.failing.load(std::sync::atomic::Ordering::Relaxed) {
            Err(ProviderError::refused("the provider answered 422"))
        } else {
            self.refunds
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(refund.clone());
            Ok(())
        };
        futures::future::ready(result).boxed()
    }
}

pub struct TestStore {
    pub store: Store,
    pub provider: Arc<FakeProvider>,
    pub secret: webhooks::SigningSecret,
    _dir: tempfile::TempDir,
}

/// A fresh store with the sample catalog, a known webhook secret and the fake provider.
pub async fn store() -> TestStore {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret_text = webhooks::SigningSecret::generate();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("store.db").display()
    );
    let settings = Settings::from_lookup(|name| match name {
        "DATABASE_URL" => Some(url.clone()),
        "WEBHOOK_SECRETS" => Some(secret_text.clone()),
        _ => None,
    })
    .expect("settings");
    let provider = Arc::new(FakeProvider::default());
    let store = Store::connect(settings, provider.clone())
        .await
        .expect("store");
    TestStore {
        store,
        provider,
        secret: webhooks::SigningSecret::parse(&secret_text).expect("secret"),
        _dir: dir,
    }
}

impl TestStore {
    /// A new customer, as the edge would hand it to the domain.
    pub async fn customer(&self, name: &str) -> CurrentUser {
        let user = self
            .store
            .accounts()
            .register(name, "correct horse battery", None)
            .await
            .expect("registers");
        CurrentUser {
            user,
            session_id: "test-session".to_owned(),
        }
    }

    /// An operator, as the edge would hand one to the domain (not stored: the domain trusts
    /// the role it is given).
    pub fn operator(&self) -> CurrentUser {
        CurrentUser {
            user: api_types::User {
                id: uuid::Uuid::new_v4(),
                user_id: uuid::Uuid::new_v4(),
                username: "operator".to_owned(),
                role: api_types::Role::Admin,
                created_at: chrono::Utc::now(),
            },
            session_id: "test-operator".to_owned(),
        }
    }
}
