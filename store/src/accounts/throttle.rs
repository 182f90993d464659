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
        self.count_attempt(key, limit, window)
            .await
            .map_err(Into::into)
    }

    /// [`Self::take_attempt`], telling whether this refusal is the first of its window (what
    /// the audit log records as a lockout): `Err` carries `(error, first)`.
    pub(super) async fn count_attempt(
        &self,
        key: &str,
        limit: u32,
        window: std::time::Duration,
    ) -> std::result::Result<(), Refused> {
        match self.store.cache().hit(key, window).await {
            Ok((count, left)) if count > i64::from(limit) => Err(Refused {
                error: Error::RateLimited {
                    retry_after_secs: left.as_secs().max(1),
                },
                first: count == i64::from(limit) + 1,
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, key, "throttle unavailable; refusing the attempt");
                Err(Refused {
                    error: Error::Unavailable {
                        code: "THROTTLE_UNAVAILABLE",
                        message: "sign-in is briefly unavailable; try again in a moment".to_owned(),
                    },
                    first: false,
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

/// An attempt past its limit (or one that could not be counted).
pub(super) struct Refused {
    pub(super) error: Error,
    /// The first refusal of its window.
    pub(super) first: bool,
}

impl From<Refused> for Error {
    fn from(r: Refused) -> Self {
        r.error
    }
}

/// The account part of a throttle key: a bounded, normalised form of what was typed, so that
/// "Alice" and "alice " share one count and a huge username cannot make a huge key.
pub(super) fn throttle_name(username: &str) -> String {
    let name: String = username.trim().to_lowercase().chars().take(64).collect();
    hex::encode(Sha256::digest(name.as_bytes()))
}
