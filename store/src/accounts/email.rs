//! A user's optional email address, for receipts: set it, prove it with a link sent through the
//! outbox, or take it away. The link's token is random (256 bits), stored only as its SHA-256,
//! valid for `EMAIL_VERIFICATION_TTL_SECS`, and good once.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::RngCore as _;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait as _, Condition, EntityTrait as _, QueryFilter as _};
use sha2::{Digest as _, Sha256};

use api_types::EmailStatus;

use super::{Accounts, CurrentUser};
use crate::domain::EmailAddress;
use crate::entity::users;
use crate::mail::{self, Notice};
use crate::{Error, Result};

/// The least time between two verification links for one account.
const RESEND_AFTER: Duration = Duration::from_secs(60);
/// Verification links one address may be sent per hour, whichever accounts ask.
const PER_ADDRESS_PER_HOUR: u32 = 5;

fn status(user: &users::Model) -> EmailStatus {
    EmailStatus {
        email: user.email.clone(),
        verified: user.email.is_some() && user.email_verified_at.is_some(),
        // Kept after a removal (it rations links), shown only while an address waits.
        verification_sent_at: (user.email.is_some() && user.email_verified_at.is_none())
            .then_some(user.email_token_sent_at)
            .flatten(),
    }
}

/// The mailbox an address reaches, for rationing links: lower case, without a `+tag` (most
/// providers deliver `ada+1@` and `ada+2@` to `ada@`), and for Gmail without dots (which it
/// ignores: `a.da@gmail.com` is `ada@gmail.com`).
fn mailbox_of(address: &EmailAddress) -> String {
    let lower = address.as_str().to_ascii_lowercase();
    match lower.rsplit_once('@') {
        Some((local, domain)) => {
            let local = local.split('+').next().unwrap_or(local);
            if matches!(domain, "gmail.com" | "googlemail.com") {
                format!("{}@gmail.com", local.replace('.', ""))
            } else {
                format!("{local}@{domain}")
            }
        }
        None => lower,
    }
}

/// The throttle key of a mailbox: a hash of all of it (a username's key keeps only its first
/// 64 characters, which long addresses would share).
fn mailbox_key(address: &EmailAddress) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(mailbox_of(address).as_bytes()))
}

fn invalid_link() -> Error {
    Error::unprocessable(
        "VERIFICATION_INVALID",
        "this verification link is not valid or has expired; ask for a new one from your account page",
    )
}

impl Accounts<'_> {
    async fn row(&self, user: &CurrentUser) -> Result<users::Model> {
        users::Entity::find_by_id(user.id())
            .one(self.store.db())
            .await?
            .filter(|u| u.deleted_at.is_none())
            .ok_or(Error::Unauthenticated)
    }

    pub async fn email(&self, user: &CurrentUser) -> Result<EmailStatus> {
        Ok(status(&self.row(user).await?))
    }

    /// Sets the address and sends a verification link to it. The same address again, once
    /// verified, changes nothing; otherwise it waits for its link.
    pub async fn set_email(&self, user: &CurrentUser, raw: &str) -> Result<EmailStatus> {
        let address = EmailAddress::parse(raw)?;
        let row = self.row(user).await?;
        let same = row
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(address.as_str()));
        if same && row.email_verified_at.is_some() {
            return Ok(status(&row));
        }
        self.send_link(&row, &address).await
    }

    /// Sends a new link to the address waiting for verification.
    pub async fn resend_verification(&self, user: &CurrentUser) -> Result<EmailStatus> {
        let row = self.row(user).await?;
        let Some(email) = row
            .email
            .clone()
            .filter(|_| row.email_verified_at.is_none())
        else {
            return Err(Error::conflict(
                "NOTHING_TO_VERIFY",
                "there is no address waiting for verification",
            ));
        };
        self.send_link(&row, &EmailAddress::parse(&email)?).await
    }

    async fn send_link(&self, row: &users::Model, address: &EmailAddress) -> Result<EmailStatus> {
        let now = Utc::now();
        if let Some(sent) = row.email_token_sent_at {
            let wait = (sent + chrono::Duration::from_std(RESEND_AFTER).unwrap_or_default()) - now;
            if wait > chrono::Duration::zero() {
                return Err(Error::RateLimited {
                    retry_after_secs: u64::try_from(wait.num_seconds()).unwrap_or(0).max(1),
                });
            }
        }
        self.take_attempt(
            &format!("verify-email:{}", mailbox_key(address)),
            PER_ADDRESS_PER_HOUR,
            Duration::from_secs(3600),
        )
        .await?;

        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let token = hex::encode(bytes);
        let digest = hex::encode(Sha256::digest(token.as_bytes()));
        let expires_at: DateTime<Utc> = now
            + chrono::Duration::from_std(self.store.settings().mail.verification_ttl)
                .unwrap_or_default();

        let txn = crate::db::begin_write(self.store.db()).await?;
        let resend_before = now - chrono::Duration::from_std(RESEND_AFTER).unwrap_or_default();
        // Conditional on the last link being old enough, so concurrent requests cannot all
        // pass the check above: one link a minute, whatever arrives at once.
        let written = users::Entity::update_many()
            .col_expr(users::Column::Email, Expr::value(address.as_str()))
            .col_expr(
                users::Column::EmailVerifiedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(users::Column::EmailTokenSha256, Expr::value(digest.clone()))
            .col_expr(users::Column::EmailTokenExpiresAt, Expr::value(expires_at))
            .col_expr(users::Column::EmailTokenSentAt, Expr::value(now))
            .filter(users::Column::Id.eq(row.id))
            .filter(
                Condition::any()
                    .add(users::Column::EmailTokenSentAt.is_null())
                    .add(users::Column::EmailTokenSentAt.lte(resend_before)),
            )
            .exec(&txn)
            .await?
            .rows_affected;
        if written != 1 {
            return Err(Error::RateLimited {
                retry_after_secs: RESEND_AFTER.as_secs(),
            });
        }
        mail::enqueue(
            &txn,
            format!("verify:{}:{}", row.id, &digest[..16]),
            Some(row.id),
            address.as_str(),
            &Notice::VerifyEmail {
                username: row.username.clone(),
                token,
                expires_at,
            },
        )
        .await?;
        txn.commit().await?;
        Ok(EmailStatus {
            email: Some(address.as_str().to_owned()),
            verified: false,
            verification_sent_at: Some(now),
        })
    }

    /// Takes the address away: nothing more is sent.
    pub async fn remove_email(&self, user: &CurrentUser) -> Result<EmailStatus> {
        let row = self.row(user).await?;
        users::Entity::update_many()
            .col_expr(users::Column::Email, Expr::value(Option::<String>::None))
            .col_expr(
                users::Column::EmailVerifiedAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(
                users::Column::EmailTokenSha256,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                users::Column::EmailTokenExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(users::Column::Id.eq(row.id))
            .exec(self.store.db())
            .await?;
        Ok(EmailStatus::default())
    }

    /// Confirms an address with the token from its link (no session needed: the token is the
    /// proof). A token works once, before it expires.
    pub async fn verify_email(&self, token: &str) -> Result<EmailStatus> {
        let token = token.trim();
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid_link());
        }
        let digest = hex::encode(Sha256::digest(token.to_ascii_lowercase().as_bytes()));
        let now = Utc::now();
        let Some(row) = users::Entity::find()
            .filter(users::Column::EmailTokenSha256.eq(digest.as_str()))
            .filter(users::Column::DeletedAt.is_null())
            .one(self.store.db())
            .await?
        else {
            return Err(invalid_link());
        };
        if row.email.is_none() || row.email_token_expires_at.is_none_or(|at| at < now) {
            return Err(invalid_link());
        }
        let verified = users::Entity::update_many()
            .col_expr(users::Column::EmailVerifiedAt, Expr::value(now))
            .col_expr(
                users::Column::EmailTokenSha256,
                Expr::value(Option::<String>::None),
            )
            .col_expr(
                users::Column::EmailTokenExpiresAt,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(users::Column::Id.eq(row.id))
            .filter(users::Column::EmailTokenSha256.eq(digest.as_str()))
            .exec(self.store.db())
            .await?
            .rows_affected
            == 1;
        if !verified {
            return Err(invalid_link());
        }
        tracing::info!(user_id = %row.id, "email address verified");
        Ok(EmailStatus {
            email: row.email,
            verified: true,
            verification_sent_at: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_rationed_per_mailbox_not_per_spelling() {
        let a = EmailAddress::parse("Ada+games@Example.com").expect("valid");
        let b = EmailAddress::parse("ada+other@example.com").expect("valid");
        assert_eq!(mailbox_of(&a), "ada@example.com");
        assert_eq!(mailbox_of(&a), mailbox_of(&b));
        let dotted = EmailAddress::parse("A.d.a+x@googlemail.com").expect("valid");
        let plain = EmailAddress::parse("ada@gmail.com").expect("valid");
        assert_eq!(mailbox_of(&dotted), mailbox_of(&plain));
        let elsewhere = EmailAddress::parse("a.da@example.com").expect("valid");
        assert_eq!(
            mailbox_of(&elsewhere),
            "a.da@example.com",
            "dots matter elsewhere"
        );
        let long = |end: &str| {
            EmailAddress::parse(&format!("{}{end}@example.com", "x".repeat(60))).expect("valid")
        };
        assert_ne!(mailbox_key(&long("a")), mailbox_key(&long("b")));
    }
}
