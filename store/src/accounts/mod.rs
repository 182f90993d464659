//! Accounts: registration, login with throttling, roles, account deletion, the configured
//! operator. Passwords, sessions and the throttle each have their own module.

mod email;
mod passwords;
mod sessions;
mod throttle;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, QueryFilter as _, QueryOrder as _,
    Set, SqlErr,
};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use api_types::User;

use crate::audit::{self, Actor, Entry};
use crate::domain::{Password, Username};
use crate::entity::{Role, sessions as session_rows, users};
use crate::live::{self, Envelope};
use crate::{Error, Result, Store};

pub use passwords::HashGate;
pub(crate) use passwords::dummy_hash;
pub use sessions::{NewSession, session_id};

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
        self.user.role == api_types::Role::Admin
    }

    pub fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::forbidden("this needs an operator account"))
        }
    }
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
            role: Set(role),
            created_at: Set(Utc::now()),
            deleted_at: Set(None),
            ..Default::default()
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
        let account_key = format!("login:user:{}", throttle::throttle_name(username));
        let address_key = client.map(|ip| format!("login:ip:{ip}"));
        if let Err(refused) = self
            .count_attempt(&account_key, limits.per_account, limits.window)
            .await
        {
            if refused.first {
                self.audit_security(audit::action::LOCKOUT, username, client, "account")
                    .await;
            }
            return Err(refused.into());
        }
        if let Some(key) = &address_key
            && let Err(refused) = self
                .count_attempt(key, limits.per_address, limits.window)
                .await
        {
            self.give_back(&account_key).await;
            if refused.first {
                self.audit_security(audit::action::LOCKOUT, username, client, "address")
                    .await;
            }
            return Err(refused.into());
        }

        // An attempt that could not be evaluated (the hashing gate full, the database away)
        // gives its slots back: only a password really checked counts toward a lockout.
        let (user, matches) = match self.check_password(username, password).await {
            Ok(checked) => checked,
            Err(e) => {
                self.give_back(&account_key).await;
                if let Some(key) = &address_key {
                    self.give_back(key).await;
                }
                return Err(e);
            }
        };

        let Some(user) = user.filter(|_| matches) else {
            self.audit_security(audit::action::LOGIN_FAILED, username, client, "password")
                .await;
            return Err(Error::InvalidCredentials);
        };
        if let Err(e) = self.store.cache().delete(&account_key).await {
            tracing::warn!(error = %e, "cannot reset the failed-login count");
        }
        if let Some(key) = &address_key {
            self.give_back(key).await;
        }
        let session = self.open_session(user.id).await?;
        let _ = audit::record(
            self.store.db(),
            Entry::new(
                Actor {
                    id: Some(user.id),
                    name: user.username.clone(),
                },
                audit::action::LOGIN,
                "user",
                user.id,
                serde_json::json!({ "role": api_types::Role::from(user.role).as_str() }),
            )
            .from_ip(client),
        )
        .await
        .inspect_err(|e| tracing::warn!(error = %e, "login not audited"));
        Ok((to_user(&user), session))
    }

    /// Writes a security event about the account named `username` (the account, when it
    /// exists; the name as typed otherwise). A log that cannot be written is logged, never
    /// turned into a refused login.
    async fn audit_security(
        &self,
        action: &'static str,
        username: &str,
        client: Option<std::net::IpAddr>,
        why: &str,
    ) {
        let account = match Username::parse(username) {
            Ok(name) => users::Entity::find()
                .filter(users::Column::Username.eq(name.as_str()))
                .one(self.store.db())
                .await
                .ok()
                .flatten(),
            Err(_) => None,
        };
        let (actor, target) = match &account {
            Some(u) => (
                Actor {
                    id: Some(u.id),
                    name: u.username.clone(),
                },
                u.id.to_string(),
            ),
            None => (Actor::anonymous(username), "unknown".to_owned()),
        };
        let entry = Entry::new(
            actor,
            action,
            "user",
            target,
            serde_json::json!({ "by": why }),
        )
        .from_ip(client);
        if let Err(e) = audit::record(self.store.db(), entry).await {
            tracing::warn!(error = %e, action, "security event not audited");
        }
    }

    /// The user called `username` (not deleted), if any, and whether `password` is theirs. An
    /// unknown name costs the same argon2 verification as a wrong password.
    async fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(Option<users::Model>, bool)> {
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
        Ok((user, matches))
    }

    /// Closes the account after checking the password: it can no longer log in, every session
    /// is revoked, and its orders stay for the store's records. The password check counts in
    /// the account's failed-login window, as a login's does: a session (a stolen cookie, say)
    /// cannot guess the password faster than the login form, nor fill the hashing gate.
    pub async fn delete_account(&self, current: &CurrentUser, password: &str) -> Result<()> {
        let Some(user) = users::Entity::find_by_id(current.id())
            .one(self.store.db())
            .await?
        else {
            return Err(Error::Unauthenticated);
        };
        let limits = self.store.settings().login_throttle;
        let account_key = format!("login:user:{}", throttle::throttle_name(&user.username));
        self.take_attempt(&account_key, limits.per_account, limits.window)
            .await?;
        match self.verify(user.password_hash.clone(), password).await {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::invalid("password", "the password is not correct"));
            }
            Err(e) => {
                self.give_back(&account_key).await;
                return Err(e);
            }
        }
        let txn = crate::db::begin_write(self.store.db()).await?;
        let now = Utc::now();
        users::Entity::update_many()
            .col_expr(users::Column::DeletedAt, Expr::value(now))
            .filter(users::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        session_rows::Entity::update_many()
            .col_expr(session_rows::Column::RevokedAt, Expr::value(now))
            .filter(session_rows::Column::UserId.eq(user.id))
            .filter(session_rows::Column::RevokedAt.is_null())
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
                Ok(user) => {
                    tracing::info!(username = username.as_str(), "admin account created");
                    audit::record(
                        self.store.db(),
                        Entry::new(
                            Actor::system(),
                            audit::action::ADMIN_PROMOTED,
                            "user",
                            user.user_id,
                            serde_json::json!({ "username": username.as_str(), "created": true }),
                        ),
                    )
                    .await
                }
                // Another replica created it at the same moment.
                Err(Error::Conflict { .. }) => Ok(()),
                Err(e) => Err(e),
            };
        };
        let unchanged = user.role == Role::Admin
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
            .col_expr(users::Column::Role, Expr::value(Role::Admin))
            .col_expr(users::Column::PasswordHash, Expr::value(hash))
            .col_expr(
                users::Column::DeletedAt,
                Expr::value(Option::<chrono::DateTime<Utc>>::None),
            )
            .filter(users::Column::Id.eq(user.id))
            .exec(&txn)
            .await?;
        let revoked = session_rows::Entity::update_many()
            .col_expr(session_rows::Column::RevokedAt, Expr::value(now))
            .filter(session_rows::Column::UserId.eq(user.id))
            .filter(session_rows::Column::RevokedAt.is_null())
            .exec(&txn)
            .await?
            .rows_affected;
        audit::record(
            &txn,
            Entry::new(
                Actor::system(),
                audit::action::ADMIN_PROMOTED,
                "user",
                user.id,
                serde_json::json!({
                    "username": username.as_str(),
                    "role": [api_types::Role::from(user.role).as_str(), "admin"],
                    "password_reset": true,
                    "sessions_revoked": revoked,
                }),
            ),
        )
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
        tracing::warn!(
            username = username.as_str(),
            sessions_revoked = revoked,
            "admin account promoted or re-passworded; its sessions were revoked"
        );
        Ok(())
    }
}

fn to_user(row: &users::Model) -> User {
    User {
        id: row.id,
        user_id: row.id,
        username: row.username.clone(),
        role: row.role.into(),
        created_at: row.created_at,
    }
}
