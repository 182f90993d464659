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
        self.user.id
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

    /// Creates a customer account. Registrations are counted per client address before any
    /// hashing, so one address cannot make the store hash passwords without limit.
    pub async fn register(
        &self,
        username: &str,
        password: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<User> {
        let username = Username::parse(username)?;
        let password = Password::parse(password)?;
        if let Some(ip) = client {
            let limit = self.store.settings().registration_limit;
            self.take_attempt(
                &format!("register:ip:{ip}"),
                limit.per_address,
                limit.window,
            )
            .await?;
        }
        let hash = self.hash(password).await?;
        self.insert_user(&username, hash, Role::Customer).await
    }

    /// Registers a customer and opens their first session (the UI's sign-up): one hash, not a
    /// registration followed by a login.
    pub async fn register_and_sign_in(
        &self,
        username: &str,
        password: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<(User, NewSession)> {
        let user = self.register(username, password, client).await?;
        let session = self.open_session(user.user_id).await?;
        Ok((user, session))
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

    /// Checks the password and opens a new session. Every attempt first takes a slot in the
    /// account's and the client address's windows, atomically, so concurrent guesses cannot all
    /// slip under the limit; past the limits the answer is 429 before any hashing. A correct
    /// password gives the slots back. A user who does not exist costs the same argon2
    /// verification as a wrong password. Without the cache the throttle cannot count, so logins
    /// are refused (503) rather than left unthrottled.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<(User, NewSession)> {
        let limits = self.store.settings().login_throttle;
        let account_key = format!("login:user:{}", throttle_name(username));
        let address_key = client.map(|ip| format!("login:ip:{ip}"));
        self.take_attempt(&account_key, limits.per_account, limits.window)
            .await?;
        if let Some(key) = &address_key
            && let Err(e) = self
                .take_attempt(key, limits.per_address, limits.window)
                .await
        {
            self.give_back(&account_key).await;
            return Err(e);
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
        let (hash, exists) = match &user {
            Some(u) => (u.password_hash.clone(), true),
            None => (self.store.dummy_hash().to_owned(), false),
        };
        let matches = self.verify(hash, password).await? && exists;

        let Some(user) = user.filter(|_| matches) else {
            return Err(Error::InvalidCredentials);
        };
        if let Err(e) = self.store.cache().delete(&account_key).await {
            tracing::warn!(error = %e, "cannot reset the failed-login count");
        }
        if let Some(key) = &address_key {
            self.give_back(key).await;
        }
        let session = self.open_session(user.id).await?;
        Ok((to_user(&user), session))
    }

    /// Counts one attempt in `key`'s window and refuses it past `limit`. Fails closed: if the
    /// cache cannot count, the attempt is refused.
    async fn take_attempt(&self, key: &str, limit: u32, window: std::time::Duration) -> Result<()> {
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

    async fn give_back(&self, key: &str) {
        if let Err(e) = self.store.cache().release(key).await {
            tracing::warn!(error = %e, "cannot give back a throttle slot");
        }
    }

    async fn hash(&self, password: Password) -> Result<String> {
        self.store
            .hash_gate()
            .run(move || hash_password(&password))
            .await?
    }

    /// Verifies `candidate` against a stored hash on the bounded hashing pool. Over-long input
    /// is never a valid password; only a bounded slice is hashed so the cost stays fixed.
    async fn verify(&self, hash: String, candidate: &str) -> Result<bool> {
        let candidate: String = candidate.chars().take(Password::MAX + 1).collect();
        self.store
            .hash_gate()
            .run(move || verify_password(&hash, &candidate))
            .await?
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
        if !self.verify(user.password_hash.clone(), password).await? {
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

    /// Creates the configured admin, or promotes and re-passwords an existing account. When an
    /// existing account changes (promoted, or its password reset), every one of its sessions is
    /// revoked: whoever registered the name first and stayed logged in must not become an
    /// operator. An account that already is the admin with this password is left alone, so a
    /// restart does not log the operator out.
    pub(crate) async fn ensure_admin(&self) -> Result<()> {
        let Some(seed) = self.store.settings().admin.clone() else {
            return Ok(());
        };
        let username = Username::parse(&seed.username)?;
        let password = Password::parse(seed.password.expose_secret())?;
        let existing = users::Entity::find()
            .filter(users::Column::Username.eq(username.as_str()))
            .one(self.store.db())
            .await?;
        let Some(user) = existing else {
            let hash = self.hash(password).await?;
            return match self.insert_user(&username, hash, Role::Admin).await {
                Ok(_) => {
                    tracing::info!(username = username.as_str(), "admin account created");
                    Ok(())
                }
                // Another replica created it at the same moment.
                Err(Error::Conflict { .. }) => Ok(()),
                Err(e) => Err(e),
            };
        };
        let unchanged = user.role == Role::Admin.as_str()
            && user.deleted_at.is_none()
            && self
                .verify(user.password_hash.clone(), password.expose())
                .await?;
        if unchanged {
            return Ok(());
        }
        let hash = self.hash(password).await?;
        let now = Utc::now();
        let txn = crate::db::begin_write(self.store.db()).await?;
        users::Entity::update_many()
            .col_expr(users::Column::Role, Expr::value(Role::Admin.as_str()))
            .col_expr(users::Column::PasswordHash, Expr::value(hash))
            .col_expr(
                users::Column::DeletedAt,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .filter(users::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        let revoked = sessions::Entity::update_many()
            .col_expr(sessions::Column::RevokedAt, Expr::value(now))
            .filter(sessions::Column::UserId.eq(user.id))
            .filter(sessions::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        txn.commit().await?;
        live::publish(
            self.store,
            &Envelope::SessionRevoked {
                user_id: user.id,
                session_id: None,
            },
        )
        .await;
        tracing::warn!(
            username = username.as_str(),
            sessions_revoked = revoked,
            "admin account promoted or re-passworded; its sessions were revoked"
        );
        Ok(())
    }
}

/// The account part of a throttle key: a bounded, normalised form of what was typed, so that
/// "Alice" and "alice " share one count and a huge username cannot make a huge key.
fn throttle_name(username: &str) -> String {
    let name: String = username.trim().to_lowercase().chars().take(64).collect();
    hex::encode(Sha256::digest(name.as_bytes()))
}

fn to_user(row: &users::Model) -> User {
    User {
        id: row.id,
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

/// The client's address for throttling. With `trusted_proxies = 0` it is the socket peer.
/// Behind `trusted_proxies` proxies of our own, each of which appends the address it saw to
/// `X-Forwarded-For`, the client is that many entries from the right; anything further left
/// was written by the client and is ignored, so a client cannot choose its own throttle key.
/// `forwarded_for` is every `X-Forwarded-For` header joined with commas, in order.
pub fn client_address(
    forwarded_for: Option<&str>,
    peer: Option<std::net::IpAddr>,
    trusted_proxies: usize,
) -> Option<std::net::IpAddr> {
    if trusted_proxies == 0 {
        return peer;
    }
    let hops: Vec<&str> = forwarded_for
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .collect();
    hops.len()
        .checked_sub(trusted_proxies)
        .and_then(|i| hops[i].parse().ok())
        .or(peer)
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

fn hash_password(password: &Password) -> Result<String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

fn verify_password(hash: &str, candidate: &str) -> Result<bool> {
    let parsed = PasswordHash::new(hash).map_err(Error::internal)?;
    Ok(argon2()
        .verify_password(candidate.as_bytes(), &parsed)
        .is_ok())
}

/// Bounds the password hashing running at once: each argon2id hash holds 19 MiB and a core for
/// tens of milliseconds, so unbounded parallel registrations or logins would exhaust memory.
/// `permits` hashes run on the blocking pool; up to `queue` more wait for a slot (briefly);
/// anything beyond is refused at once with 503 and `Retry-After`.
pub struct HashGate {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
    admitted: std::sync::atomic::AtomicUsize,
    capacity: usize,
}

/// Longest a hash waits for a free slot before the request is refused.
const HASH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl HashGate {
    pub fn new(permits: usize, queue: usize) -> Self {
        let permits = permits.max(1);
        Self {
            permits: std::sync::Arc::new(tokio::sync::Semaphore::new(permits)),
            admitted: std::sync::atomic::AtomicUsize::new(0),
            capacity: permits + queue,
        }
    }

    /// Runs `work` on the blocking pool once a slot is free. The slot stays taken until the
    /// work ends, even if the request that asked for it has gone away.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        use std::sync::atomic::Ordering;
        struct Admission<'a>(&'a std::sync::atomic::AtomicUsize);
        impl Drop for Admission<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let busy = || Error::Unavailable {
            code: "PASSWORD_HASHING_BUSY",
            message: "too many sign-ins at once; try again in a moment".to_owned(),
        };
        let admission = Admission(&self.admitted);
        if self.admitted.fetch_add(1, Ordering::AcqRel) >= self.capacity {
            metrics::counter!("gamestore_password_hash_refused_total").increment(1);
            return Err(busy());
        }
        let permit = tokio::time::timeout(HASH_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| busy())?
            .map_err(Error::internal)?;
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        });
        let result = task.await.map_err(Error::internal);
        drop(admission);
        result
    }
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

    #[test]
    fn hashes_are_argon2id_with_owasp_parameters() {
        let hash =
            hash_password(&Password::parse("correct horse").expect("valid")).expect("hashes");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(&hash, "correct horse").expect("verifies"));
        assert!(!verify_password(&hash, "wrong horse").expect("verifies"));
    }

    #[tokio::test]
    async fn the_hash_gate_refuses_work_beyond_its_capacity() {
        let gate = std::sync::Arc::new(HashGate::new(1, 1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Arc::new(std::sync::Mutex::new(wait));
        let running = {
            let (gate, wait) = (gate.clone(), wait.clone());
            tokio::spawn(async move {
                gate.run(move || {
                    let _ = wait.lock().map(|w| w.recv());
                })
                .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let queued = {
            let gate = gate.clone();
            tokio::spawn(async move { gate.run(|| 2).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let refused = gate.run(|| 3).await;
        assert_eq!(
            refused.err().map(|e| e.code()),
            Some("PASSWORD_HASHING_BUSY")
        );
        release.send(()).expect("release");
        assert!(running.await.expect("joins").is_ok());
        assert_eq!(queued.await.expect("joins").ok(), Some(2));
        assert_eq!(gate.run(|| 4).await.ok(), Some(4));
    }

    #[test]
    fn the_client_is_the_rightmost_address_our_proxies_wrote() {
        let peer: Option<std::net::IpAddr> = "10.0.0.9".parse().ok();
        let ip = |s: &str| s.parse::<std::net::IpAddr>().ok();
        // Not behind a proxy: the header is the client's own words and is ignored.
        assert_eq!(client_address(Some("1.2.3.4"), peer, 0), peer);
        // One proxy: it appended the real client; whatever the client wrote is to its left.
        assert_eq!(
            client_address(Some("6.6.6.6, 1.2.3.4"), peer, 1),
            ip("1.2.3.4")
        );
        assert_eq!(client_address(Some("1.2.3.4"), peer, 1), ip("1.2.3.4"));
        // Two proxies: the client is second from the right.
        assert_eq!(
            client_address(Some("6.6.6.6, 1.2.3.4, 10.0.0.2"), peer, 2),
            ip("1.2.3.4")
        );
        // Fewer entries than proxies, or garbage: the socket peer.
        assert_eq!(client_address(Some("1.2.3.4"), peer, 2), peer);
        assert_eq!(client_address(Some("not-an-ip"), peer, 1), peer);
        assert_eq!(client_address(None, peer, 1), peer);
    }

    #[test]
    fn session_ids_are_hashes_of_tokens() {
        let id = session_id("abc");
        assert_eq!(id.len(), 64);
        assert_ne!(id, "abc");
    }
}
