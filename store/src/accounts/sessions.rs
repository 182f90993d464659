//! Server-side sessions: random 256-bit tokens for the cookie, stored only as their SHA-256,
//! with sliding expiry and revocation.

use chrono::{Duration as ChronoDuration, Utc};
use rand::RngCore as _;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, Set};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use super::{Accounts, CurrentUser, to_user};
use crate::entity::{sessions, users};
use crate::live::{self, Envelope};
use crate::{Error, Result};

/// Refresh a session's expiry at most this often (sliding expiry without a write per request).
const SLIDE_EVERY_SECS: i64 = 300;

/// A freshly issued session: the secret token for the cookie and its lifetime.
pub struct NewSession {
    pub token: String,
    pub max_age_secs: i64,
}

impl Accounts<'_> {
    pub(super) async fn open_session(&self, user_id: Uuid) -> Result<NewSession> {
        let mut raw = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut raw);
        let token = hex::encode(raw);
        let now = Utc::now();
        let ttl = self.ttl();
        sessions::ActiveModel {
            id: Set(session_id(&token)),
            user_id: Set(user_id),
            created_at: Set(now),
            last_seen_at: Set(now),
            expires_at: Set(now + ttl),
            revoked_at: Set(None),
        }
        .insert(self.store.db())
        .await?;
        Ok(NewSession {
            token,
            max_age_secs: ttl.num_seconds(),
        })
    }

    fn ttl(&self) -> ChronoDuration {
        ChronoDuration::from_std(self.store.settings().session_ttl)
            .unwrap_or_else(|_| ChronoDuration::days(7))
    }

    /// Resolves a cookie token to its user, sliding the session's expiry forward.
    pub async fn authenticate(&self, token: &str) -> Result<CurrentUser> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::Unauthenticated);
        }
        let id = session_id(token);
        let now = Utc::now();
        // One statement for the session and its user: every logged-in request pays for it.
        let Some((session, Some(user))) = sessions::Entity::find_by_id(id.clone())
            .filter(sessions::Column::RevokedAt.is_null())
            .filter(sessions::Column::ExpiresAt.gt(now))
            .find_also_related(users::Entity)
            .filter(users::Column::DeletedAt.is_null())
            .one(self.store.db())
            .await?
        else {
            return Err(Error::Unauthenticated);
        };
        if (now - session.last_seen_at).num_seconds() >= SLIDE_EVERY_SECS {
            sessions::Entity::update_many()
                .col_expr(sessions::Column::LastSeenAt, Expr::value(now))
                .col_expr(sessions::Column::ExpiresAt, Expr::value(now + self.ttl()))
                .filter(sessions::Column::Id.eq(id.clone()))
                .exec(self.store.db())
                .await?;
        }
        Ok(CurrentUser {
            user: to_user(&user),
            session_id: id,
        })
    }

    /// Revokes one session everywhere: the row, and any live socket riding on it.
    pub async fn logout(&self, current: &CurrentUser) -> Result<()> {
        sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokedAt, Expr::value(Utc::now()))
            .filter(sessions::Column::Id.eq(current.session_id.clone()))
            .exec(self.store.db())
            .await?;
        live::publish(
            self.store,
            &Envelope::SessionRevoked {
                user_id: current.id(),
                session_id: Some(current.session_id.clone()),
            },
        )
        .await;
        Ok(())
    }
}

/// The stored id of a session: SHA-256 of its cookie token.
pub fn session_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_are_hashes_of_tokens() {
        let id = session_id("abc");
        assert_eq!(id.len(), 64);
        assert_ne!(id, "abc");
    }
}
