//! The store's domain and persistence layer.
//!
//! Every operation (a purchase, a login, a catalog query, a webhook) is implemented once here.
//! The REST handlers, the Leptos server functions, the websocket and the webhook endpoint in the
//! `server` and `app` crates are thin adapters over these services.

pub mod accounts;
pub mod art;
pub mod audit;
pub mod cache;
pub mod cart;
pub mod catalog;
pub mod db;
pub mod domain;
pub mod entity;
pub mod error;
pub mod keys;
pub mod live;
pub mod mail;
pub mod orders;
pub mod payments;
pub mod pricing;
pub mod promotions;
pub mod provider;
pub mod seed;
pub mod settings;
#[cfg(test)]
mod testing;
pub mod wishlist;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

pub use cache::Cache;
pub use error::{Error, Result};
pub use provider::{PaymentProvider, ProviderError, SharedProvider};
pub use settings::Settings;

/// Handle to everything the domain needs: the database, the cache/pub-sub backend and settings.
/// Cheap to clone; one per process, shared by every adapter.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: DatabaseConnection,
    cache: Cache,
    settings: Arc<Settings>,
    provider: SharedProvider,
    catalog_cache: catalog::CatalogCache,
    dummy_hash: String,
    hash_gate: accounts::HashGate,
    vault: keys::Vault,
    mail_transport: mail::Transport,
    webhook_rejections: payments::RejectionBudget,
}

impl Store {
    /// Connects to the database and cache, applies migrations, seeds the sample catalog (when
    /// enabled) and makes sure the configured admin exists. `provider` is where payment intents
    /// and refunds go; the server wires in the simulator or a real provider's client.
    pub async fn connect(settings: Settings, provider: SharedProvider) -> Result<Self> {
        let settings = Arc::new(settings);
        let db = db::connect(&settings).await?;
        db::migrate(&db).await?;
        let cache = Cache::connect(&settings).await?;
        let hash_gate = accounts::HashGate::new(
            settings.password_hash_concurrency,
            settings.password_hash_queue,
        );
        let vault = keys::Vault::new(&settings.keys_encryption_key);
        let mail_transport =
            mail::Transport::from_settings(&settings.mail).map_err(Error::internal)?;
        tracing::info!(transport = %mail_transport.describe(), "email goes out through");
        let store = Store {
            inner: Arc::new(Inner {
                db,
                cache,
                settings,
                provider,
                catalog_cache: catalog::CatalogCache::default(),
                dummy_hash: accounts::dummy_hash()?,
                hash_gate,
                vault,
                mail_transport,
                webhook_rejections: payments::RejectionBudget::default(),
            }),
        };
        if store.settings().seed_catalog {
            seed::seed_catalog(&store).await?;
        }
        store.accounts().ensure_admin().await?;
        Ok(store)
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.inner.db
    }

    pub fn cache(&self) -> &Cache {
        &self.inner.cache
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    pub fn accounts(&self) -> accounts::Accounts<'_> {
        accounts::Accounts::new(self)
    }

    pub fn carts(&self) -> cart::Carts<'_> {
        cart::Carts::new(self)
    }

    pub fn promotions(&self) -> promotions::Promotions<'_> {
        promotions::Promotions::new(self)
    }

    pub fn wishlists(&self) -> wishlist::Wishlists<'_> {
        wishlist::Wishlists::new(self)
    }

    pub fn catalog(&self) -> catalog::Catalog<'_> {
        catalog::Catalog::new(self)
    }

    pub fn orders(&self) -> orders::Orders<'_> {
        orders::Orders::new(self)
    }

    pub fn keys(&self) -> keys::Keys<'_> {
        keys::Keys::new(self)
    }

    pub fn mail(&self) -> mail::Mail<'_> {
        mail::Mail::new(self)
    }

    pub fn audit(&self) -> audit::Audit<'_> {
        audit::Audit::new(self)
    }

    pub(crate) fn webhook_rejections(&self) -> &payments::RejectionBudget {
        &self.inner.webhook_rejections
    }

    pub(crate) fn mail_transport(&self) -> &mail::Transport {
        &self.inner.mail_transport
    }

    pub fn payments(&self) -> payments::Payments<'_> {
        payments::Payments::new(self)
    }

    pub(crate) fn provider(&self) -> &dyn PaymentProvider {
        self.inner.provider.as_ref()
    }

    pub(crate) fn catalog_cache(&self) -> &catalog::CatalogCache {
        &self.inner.catalog_cache
    }

    pub(crate) fn dummy_hash(&self) -> &str {
        &self.inner.dummy_hash
    }

    /// The tag of a form error the store puts in a page's URL (a JavaScript-off form post lands
    /// back on its page with `?__path=…&__err=…`): the page shows the error only with its tag,
    /// so nobody can make the store's own error notice say what they like. It also covers
    /// `browser`, the random value the redirect gave the posting browser in a cookie, so a
    /// tagged URL shows its error only to the browser whose form failed: words an attacker
    /// gets into an error (a form field's name, say) reach nobody else through a link. Keyed
    /// like license keys' fingerprints (`KEYS_ENCRYPTION_KEY`, shared by every replica), with
    /// its own prefix.
    pub fn url_error_tag(&self, path: &str, err: &str, browser: &str) -> String {
        let mut tag = self
            .inner
            .vault
            .fingerprint(&format!("url-error\u{0}{path}\u{0}{err}\u{0}{browser}"));
        tag.truncate(32);
        tag
    }

    pub(crate) fn vault(&self) -> &keys::Vault {
        &self.inner.vault
    }

    pub(crate) fn hash_gate(&self) -> &accounts::HashGate {
        &self.inner.hash_gate
    }

    /// Readiness: the database answers, and the cache does when it is an external service.
    pub async fn readiness(&self) -> Readiness {
        let database = db::ping(self.db()).await;
        let cache = self.cache().ping().await;
        Readiness {
            database: database.is_ok(),
            cache: cache.is_ok(),
            cache_backend: self.cache().backend_name(),
        }
    }
}

/// What `/readyz` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Readiness {
    pub database: bool,
    pub cache: bool,
    pub cache_backend: &'static str,
}

impl Readiness {
    /// The store can serve without Redis (degraded: the catalog comes from the database), but
    /// not without its database.
    pub fn is_ready(&self) -> bool {
        self.database
    }
}
