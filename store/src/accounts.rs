//! Accounts and sessions: registration, login with throttling, server-side revocable sessions,
//! roles, account deletion.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::{Duration as ChronoDuration, Utc};
use rand::RngCore as _;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    Set, SqlErr,
};
use secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use api_types::{Role, User};

use crate::domain::{Password, Username};
use crate::entity::{sessions, users};
use crate::live::{self, Envelope};
use crate::{Error, Result, Store};

pub const SESSION_COOKIE: &str = "gs_session";

/// Refresh a session's expiry at most this often (sliding expiry without a write per request).
const SLIDE_EVERY_SECS: i64 = 300;

/// The authenticated caller of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentUser {
    pub user: User,
    /// The session's stored id (a hash of the cookie token, never the token itself).
    pub session_id: String,
}

impl CurrentUser {
    pub fn id(&self) -> Uuid {
        self.user.user_id
    }

    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::forbidden("this needs an operator account"))
        }
    }
}

/// A freshly issued session: the secret token for the cookie and its lifetime.
pub struct NewSession {
    pub token: String,
    pub max_age_secs: i64,
}

pub struct Accounts<'a> {
    store: &'a Store,
}

impl<'a> Accounts<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    pub async fn register(&self, username: &str, password: &str) -> Result<User> {
        let username = Username::parse(username)?;
        let password = Password::parse(password)?;
        let hash = hash_password(password).await?;
        self.insert_user(&username, hash, Role::Customer).await
    }

    async fn insert_user(&self, username: &Username, hash: String, role: Role) -> Result<User> {
        let model = users::ActiveModel {
            id: Set(Uuid::new_v4()),
            username: Set(username.as_str().to_owned()),
            password_hash: Set(hash),
            role: Set(role.as_str().to_owned()),
            created_at: Set(Utc::now()),
            deleted_at: Set(None),
        };
        match model.insert(self.store.db()).await {
            Ok(row) => Ok(to_user(&row)),
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Err(
                Error::conflict("USERNAME_TAKEN", "that username is already taken"),
            ),
            Err(e) => Err(e.into()),
        }
    }

    /// Checks the password and opens a new session. Failed attempts count against both the
    /// account and the client address; past the limits the answer is 429 before any hashing.
    /// A user who does not exist costs the same argon2 verification as a wrong password.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<(User, NewSession)> {
        let limits = self.store.settings().login_throttle;
        let account_key = format!("login-fail:user:{}", username.trim().to_lowercase());
        let address_key = client.map(|ip| format!("login-fail:ip:{ip}"));
        self.check_throttle(&account_key, limits.per_account)
            .await?;
        if let Some(key) = &address_key {
            self.check_throttle(key, limits.per_address).await?;
        }

        let user = match Username::parse(username) {
            Ok(name) => {
                users::Entity::find()
                    .filter(users::Column::Username.eq(name.as_str()))
                    .filter(users::Column::DeletedAt.is_null())
                    .one(self.store.db())
                    .await?
            }
            Err(_) => None,
        };
        // Over-long input is never a valid password; hash a bounded slice so the cost stays fixed.
        let candidate: String = password.chars().take(Password::MAX + 1).collect();
        let (hash, exists) = match &user {
            Some(u) => (u.password_hash.clone(), true),
            None => (self.store.dummy_hash().to_owned(), false),
        };
        let matches = verify_password(hash, candidate).await? && exists;

        let Some(user) = user.filter(|_| matches) else {
            for key in std::iter::once(&account_key).chain(address_key.as_ref()) {
                if let Err(e) = self.store.cache().hit(key, limits.window).await {
                    tracing::warn!(error = %e, "cannot count a failed login");
                }
            }
            return Err(Error::InvalidCredentials);
        };
        if let Err(e) = self.store.cache().delete(&account_key).await {
            tracing::warn!(error = %e, "cannot reset the failed-login count");
        }
        let session = self.open_session(user.id).await?;
        Ok((to_user(&user), session))
    }

    async fn check_throttle(&self, key: &str, limit: u32) -> Result<()> {
        match self.store.cache().counter(key).await {
            Ok((count, left)) if count >= i64::from(limit) => Err(Error::RateLimited {
                retry_after_secs: left.as_secs().max(1),
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "login throttle unavailable; allowing the attempt");
                Ok(())
            }
        }
    }

    async fn open_session(&self, user_id: Uuid) -> Result<NewSession> {
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
        let Some(session) = sessions::Entity::find_by_id(id.clone())
            .filter(sessions::Column::RevokedAt.is_null())
            .filter(sessions::Column::ExpiresAt.gt(now))
            .one(self.store.db())
            .await?
        else {
            return Err(Error::Unauthenticated);
        };
        let Some(user) = users::Entity::find_by_id(session.user_id)
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

    /// Closes the account after checking the password: it can no longer log in, every session
    /// is revoked, and its orders stay for the store's records.
    pub async fn delete_account(&self, current: &CurrentUser, password: &str) -> Result<()> {
        let Some(user) = users::Entity::find_by_id(current.id())
            .one(self.store.db())
            .await?
        else {
            return Err(Error::Unauthenticated);
        };
        if !verify_password(user.password_hash.clone(), password.to_owned()).await? {
            return Err(Error::invalid("password", "the password is not correct"));
        }
        let txn = crate::db::begin_write(self.store.db()).await?;
        let now = Utc::now();
        users::Entity::update_many()
            .col_expr(users::Column::DeletedAt, Expr::value(now))
            .filter(users::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokedAt, Expr::value(now))
            .filter(sessions::Column::UserId.eq(user.id))
            .filter(sessions::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?;
        txn.commit().await?;
        live::publish(
            self.store,
            &Envelope::SessionRevoked {
                user_id: user.id,
                session_id: None,
            },
        )
        .await;
        Ok(())
    }

    pub async fn get(&self, id: Uuid) -> Result<User> {
        users::Entity::find_by_id(id)
            .one(self.store.db())
            .await?
            .map(|u| to_user(&u))
            .ok_or(Error::NotFound("user"))
    }

    /// Every active account, oldest first (operators only).
    pub async fn list(&self) -> Result<Vec<User>> {
        Ok(users::Entity::find()
            .filter(users::Column::DeletedAt.is_null())
            .order_by_asc(users::Column::CreatedAt)
            .all(self.store.db())
            .await?
            .iter()
            .map(to_user)
            .collect())
    }

    /// Creates the configured admin, or promotes and re-passwords an existing account.
    pub(crate) async fn ensure_admin(&self) -> Result<()> {
        let Some(seed) = self.store.settings().admin.clone() else {
            return Ok(());
        };
        let username = Username::parse(&seed.username)?;
        let password = Password::parse(seed.password.expose_secret())?;
        let hash = hash_password(password).await?;
        let existing = users::Entity::find()
            .filter(users::Column::Username.eq(username.as_str()))
            .one(self.store.db())
            .await?;
        match existing {
            Some(user) => {
                users::Entity::update_many()
                    .col_expr(users::Column::Role, Expr::value(Role::Admin.as_str()))
                    .col_expr(users::Column::PasswordHash, Expr::value(hash))
                    .col_expr(
                        users::Column::DeletedAt,
                        Expr::value(Option::<chrono::DateTime<Utc>>::None),
                    )
                    .filter(users::Column::Id.eq(user.id))
                    .exec(self.store.db())
                    .await?;
                tracing::info!(username = username.as_str(), "admin account updated");
            }
            None => match self.insert_user(&username, hash, Role::Admin).await {
                Ok(_) => tracing::info!(username = username.as_str(), "admin account created"),
                // Another replica created it at the same moment.
                Err(Error::Conflict { .. }) => {}
                Err(e) => return Err(e),
            },
        }
        Ok(())
    }
}

fn to_user(row: &users::Model) -> User {
    User {
        user_id: row.id,
        username: row.username.clone(),
        role: if row.role == Role::Admin.as_str() {
            Role::Admin
        } else {
            Role::Customer
        },
        created_at: row.created_at,
    }
}

/// The client's address for throttling: the first `X-Forwarded-For` hop when the store runs
/// behind its own proxy (`TRUST_FORWARDED_FOR=true`), otherwise the socket peer.
pub fn client_address(
    forwarded_for: Option<&str>,
    peer: Option<std::net::IpAddr>,
    trust_forwarded_for: bool,
) -> Option<std::net::IpAddr> {
    let forwarded = forwarded_for
        .filter(|_| trust_forwarded_for)
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok());
    forwarded.or(peer)
}

/// The stored id of a session: SHA-256 of its cookie token.
pub fn session_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// argon2id at OWASP's recommended minimum: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .unwrap_or_else(|_| unreachable!("constant parameters are valid"));
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes off the async executor: argon2 is deliberately slow.
async fn hash_password(password: Password) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        argon2()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(Error::internal)
    })
    .await
    .map_err(Error::internal)?
}

async fn verify_password(hash: String, candidate: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(Error::internal)?;
        Ok(argon2()
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok())
    })
    .await
    .map_err(Error::internal)?
}

/// A hash of a random password, verified against when a login names no existing user so the
/// answer takes as long as a wrong password would.
pub(crate) fn dummy_hash() -> Result<String> {
    let mut raw = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut raw);
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(hex::encode(raw).as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

/// Cookie helpers shared by the REST API and the server functions.
pub mod cookie {
    use super::SESSION_COOKIE;
    use crate::Settings;

    /// `Set-Cookie` for a new session.
    pub fn issue(token: &str, max_age_secs: i64, settings: &Settings) -> String {
        let secure = if settings.https() { "; Secure" } else { "" };
        format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
        )
    }

    /// `Set-Cookie` that removes the session cookie.
    pub fn clear(settings: &Settings) -> String {
        let secure = if settings.https() { "; Secure" } else { "" };
        format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{secure}")
    }

    /// The session token from a `Cookie` header value, if present.
    pub fn token(cookie_header: &str) -> Option<&str> {
        cookie_header
            .split(';')
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, _)| *name == SESSION_COOKIE)
            .map(|(_, value)| value.trim())
            .filter(|v| !v.is_empty())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn finds_the_session_token_among_cookies() {
            assert_eq!(token("a=1; gs_session=abc; b=2"), Some("abc"));
            assert_eq!(token("gs_session="), None);
            assert_eq!(token("other=1"), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_owasp_parameters() {
        let hash = hash_password(Password::parse("correct horse").expect("valid"))
            .await
            .expect("hashes");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(
            verify_password(hash.clone(), "correct horse".into())
                .await
                .expect("verifies")
        );
        assert!(
            !verify_password(hash, "wrong horse".into())
                .await
                .expect("verifies")
        );
    }

    #[test]
    fn session_ids_are_hashes_of_tokens() {
        let id = session_id("abc");
        assert_eq!(id.len(), 64);
        assert_ne!(id, "abc");
    }
}
