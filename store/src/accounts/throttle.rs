//! Attempt counting for logins and registrations: each attempt takes a slot in a windowed
//! counter in the cache (Redis in production, so replicas share it) before any hashing.

use sha2::{Digest as _, Sha256};

use super::Accounts;
use crate::{Error, Result};

impl Accounts<'_> {
    /// Counts one attempt in `key`'s window and refuses it past `limit`. Fails closed: if the
    /// cache cannot count, the attempt is refused.
    pub(super) async fn take_attempt(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> Result<()> {
        match self.store.cache().hit(key, window).await {
            Ok((count, left)) if count > i64::from(limit) => Err(Error::RateLimited {
                retry_after_secs: left.as_secs().max(1),
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, key, "throttle unavailable; refusing the attempt");
                Err(Error::Unavailable {
                    code: "THROTTLE_UNAVAILABLE",
                    message: "sign-in is briefly unavailable; try again in a moment".to_owned(),
                })
            }
        }
    }

    pub(super) async fn give_back(&self, key: &str) {
        if let Err(e) = self.store.cache().release(key).await {
            tracing::warn!(error = %e, "cannot give back a throttle slot");
        }
    }
}

/// The account part of a throttle key: a bounded, normalised form of what was typed, so that
/// "Alice" and "alice " share one count and a huge username cannot make a huge key.
pub(super) fn throttle_name(username: &str) -> String {
    let name: String = username.trim().to_lowercase().chars().take(64).collect();
    hex::encode(Sha256::digest(name.as_bytes()))
}
