//! Email: receipts, refund and gift notices, and verification links, through a transactional
//! outbox.
//!
//! A message is a row in `outbox`, written in the same transaction as the change it tells of
//! (an order paid or refunded, a gift received, an address to verify), so a change that rolls
//! back sends nothing and one that commits is never forgotten. The row holds what to say as
//! data ([`Notice`]); each replica's worker ([`spawn_outbox_task`]) takes due rows under a
//! lease — one conditional `UPDATE` per row, so two replicas never take the same row at once —
//! renders them ([`templates`]) and hands them to the [`transport::Transport`]: SMTP when
//! `SMTP_URL` is set, `.eml` files under `MAIL_OUTBOX_DIR` otherwise. A failure is retried with
//! exponential backoff up to `OUTBOX_MAX_ATTEMPTS`; a permanent SMTP refusal (5xx) is given up
//! at once. Each message carries a `Message-ID` made from its row, so the rare resend after a
//! crash between sending and recording it can be recognised by the receiving side.
//!
//! Mail goes only to verified addresses, except the verification link itself.

pub mod templates;
pub mod transport;

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait as _, Condition, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, Set,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::entity::{order_lines, orders, outbox, users};
use crate::{Result, Store};

pub use transport::Transport;

/// Rows one pass of the worker takes.
const BATCH: u64 = 20;
/// How long a worker holds a row it took: longer than the transport's timeout, so a row is
/// never taken by a second replica while the first is still sending it.
const LEASE: Duration = Duration::from_secs(120);
/// The longest one send may take, transport and all (well inside the lease).
const SEND_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// What a message says, kept as data until it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// An order was paid: the buyer's receipt.
    Receipt {
        order_id: Uuid,
        username: String,
        lines: Vec<Line>,
        discount_cents: i64,
        total_cents: i64,
        currency: String,
        /// The recipient's name, for a gift.
        gift_to: Option<String>,
    },
    /// Money came back to the buyer: `amount_cents` now, `refunded_cents` in all.
    Refund {
        order_id: Uuid,
        username: String,
        amount_cents: i64,
        refunded_cents: i64,
        total_cents: i64,
        currency: String,
        /// Lines taken back by this refund (empty: a refund by amount).
        lines: Vec<Line>,
        fully_refunded: bool,
        /// The order was a gift: what it takes back leaves the recipient's library, not the
        /// buyer's (absent in notices written before this was known: not a gift).
        #[serde(default)]
        gift: bool,
    },
    /// A paid gift, for its recipient.
    GiftReceived {
        order_id: Uuid,
        username: String,
        from_username: String,
        lines: Vec<Line>,
        message: Option<String>,
    },
    /// A link that proves the address is the user's. The token is blanked once sent.
    VerifyEmail {
        username: String,
        token: String,
        expires_at: DateTime<Utc>,
    },
}

impl Notice {
    pub fn kind(&self) -> &'static str {
        match self {
            Notice::Receipt { .. } => "receipt",
            Notice::Refund { .. } => "refund",
            Notice::GiftReceived { .. } => "gift_received",
            Notice::VerifyEmail { .. } => "verify_email",
        }
    }

    /// What is kept of the notice once it went out: everything but a secret.
    fn redacted(mut self) -> Self {
        if let Notice::VerifyEmail { token, .. } = &mut self {
            token.clear();
        }
        self
    }
}

/// One line of an order, as a message shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub name: String,
    pub quantity: i32,
    pub line_total_cents: i64,
}

impl From<&order_lines::Model> for Line {
    fn from(line: &order_lines::Model) -> Self {
        Self {
            name: line.name.clone(),
            quantity: line.quantity,
            line_total_cents: line.line_total_cents,
        }
    }
}

/// Writes a message into the outbox inside `conn` (the caller's transaction). A second
/// message with the same `dedupe_key` is dropped: one change, one message.
pub(crate) async fn enqueue(
    conn: &impl ConnectionTrait,
    dedupe_key: String,
    user_id: Option<Uuid>,
    to_address: &str,
    notice: &Notice,
) -> Result<()> {
    let now = Utc::now();
    let payload = serde_json::to_string(notice).map_err(crate::Error::internal)?;
    outbox::Entity::insert(outbox::ActiveModel {
        dedupe_key: Set(dedupe_key),
        kind: Set(notice.kind().to_owned()),
        user_id: Set(user_id),
        to_address: Set(to_address.to_owned()),
        payload: Set(payload),
        created_at: Set(now),
        attempts: Set(0),
        next_attempt_at: Set(now),
        locked_until: Set(None),
        sent_at: Set(None),
        failed_at: Set(None),
        last_error: Set(None),
        ..Default::default()
    })
    .on_conflict_do_nothing_on([outbox::Column::DedupeKey])
    .exec(conn)
    .await?;
    Ok(())
}

/// The verified address of a user, when they have one and their account is open.
async fn verified_address(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
) -> Result<Option<(String, String)>> {
    Ok(users::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .and_then(|u| {
            u.verified_email()
                .map(|e| (e.to_owned(), u.username.clone()))
        }))
}

async fn username(conn: &impl ConnectionTrait, user_id: Uuid) -> Result<String> {
    Ok(users::Entity::find_by_id(user_id)
        .one(conn)
        .await?
        .map_or_else(|| "a former member".to_owned(), |u| u.username))
}

/// An order was just paid (inside its transaction): the buyer's receipt, and for a gift the
/// recipient's notice, each only to a verified address.
pub(crate) async fn order_paid(
    conn: &impl ConnectionTrait,
    order: &orders::Model,
    lines: &[order_lines::Model],
) -> Result<()> {
    let shown: Vec<Line> = lines.iter().map(Line::from).collect();
    let recipient = if order.is_gift() {
        Some(username(conn, order.owner()).await?)
    } else {
        None
    };
    if let Some((address, buyer)) = verified_address(conn, order.user_id).await? {
        let notice = Notice::Receipt {
            order_id: order.id,
            username: buyer,
            lines: shown.clone(),
            discount_cents: order.discount_cents,
            total_cents: order.amount_cents,
            currency: order.currency.clone(),
            gift_to: recipient,
        };
        enqueue(
            conn,
            format!("receipt:{}", order.id),
            Some(order.user_id),
            &address,
            &notice,
        )
        .await?;
    }
    if order.is_gift()
        && let Some((address, name)) = verified_address(conn, order.owner()).await?
    {
        let notice = Notice::GiftReceived {
            order_id: order.id,
            username: name,
            from_username: username(conn, order.user_id).await?,
            lines: shown,
            message: order.gift_message.clone(),
        };
        enqueue(
            conn,
            format!("gift:{}", order.id),
            Some(order.owner()),
            &address,
            &notice,
        )
        .await?;
    }
    Ok(())
}

/// Money came back (inside the refund's transaction): `amount_cents` of it now, the order's
/// `refunded_cents` becoming `refunded_after`; `lines` are the lines it took back.
pub(crate) async fn order_refunded(
    conn: &impl ConnectionTrait,
    order: &orders::Model,
    lines: &[order_lines::Model],
    amount_cents: i64,
    refunded_after: i64,
) -> Result<()> {
    let Some((address, buyer)) = verified_address(conn, order.user_id).await? else {
        return Ok(());
    };
    let notice = Notice::Refund {
        order_id: order.id,
        username: buyer,
        amount_cents,
        refunded_cents: refunded_after,
        total_cents: order.amount_cents,
        currency: order.currency.clone(),
        lines: lines.iter().map(Line::from).collect(),
        fully_refunded: refunded_after >= order.amount_cents,
        gift: order.is_gift(),
    };
    // Each refund moves `refunded_cents` to a new total, once: that total names it.
    enqueue(
        conn,
        format!("refund:{}:{refunded_after}", order.id),
        Some(order.user_id),
        &address,
        &notice,
    )
    .await
}

/// What the outbox holds, for operators and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OutboxCounts {
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
}

/// The outbox worker's operations.
pub struct Mail<'a> {
    store: &'a Store,
}

impl<'a> Mail<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// One pass: takes the messages that are due (up to a batch), sends each, and records the
    /// outcome. Returns how many were sent.
    pub async fn deliver_due(&self) -> Result<usize> {
        let db = self.store.db();
        let now = Utc::now();
        let due = outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .filter(outbox::Column::FailedAt.is_null())
            .filter(outbox::Column::NextAttemptAt.lte(now))
            .filter(
                Condition::any()
                    .add(outbox::Column::LockedUntil.is_null())
                    .add(outbox::Column::LockedUntil.lt(now)),
            )
            .order_by_asc(outbox::Column::Id)
            .limit(BATCH)
            .all(db)
            .await?;
        let mut sent = 0;
        for row in due {
            let Some(lease) = self.take(&row).await? else {
                continue;
            };
            if self.send(row, lease).await? {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Takes a row under a lease of its own, unless another worker took it (or sent it) first.
    /// The lease is read off the clock now, per row, and kept to the microsecond so that the
    /// outcome can be recorded only while it is still this worker's.
    async fn take(&self, row: &outbox::Model) -> Result<Option<DateTime<Utc>>> {
        let now = Utc::now();
        let lease_end = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let lease_end =
            DateTime::from_timestamp_micros(lease_end.timestamp_micros()).unwrap_or(lease_end);
        let taken = outbox::Entity::update_many()
            .col_expr(outbox::Column::LockedUntil, Expr::value(lease_end))
            .col_expr(
                outbox::Column::Attempts,
                Expr::col(outbox::Column::Attempts).add(1),
            )
            .filter(outbox::Column::Id.eq(row.id))
            .filter(outbox::Column::SentAt.is_null())
            .filter(outbox::Column::FailedAt.is_null())
            .filter(
                Condition::any()
                    .add(outbox::Column::LockedUntil.is_null())
                    .add(outbox::Column::LockedUntil.lt(now)),
            )
            .exec(self.store.db())
            .await?
            .rows_affected;
        Ok((taken == 1).then_some(lease_end))
    }

    /// Renders and sends a taken row, then records the outcome — only while the lease is still
    /// this worker's. The whole conversation is cut off well inside the lease.
    async fn send(&self, row: outbox::Model, lease: DateTime<Utc>) -> Result<bool> {
        let db = self.store.db();
        let attempts = u32::try_from(row.attempts + 1).unwrap_or(u32::MAX);
        let outcome = match serde_json::from_str::<Notice>(&row.payload) {
            Ok(notice) => match self.superseded(&row, &notice).await? {
                Some(why) => Err(transport::SendError::permanent(why)),
                None => {
                    let rendered =
                        templates::render(&notice, &templates::Context::from(self.store));
                    let sending = self.store.mail_transport().send(
                        &row,
                        &self.store.settings().mail.from,
                        &rendered,
                    );
                    match tokio::time::timeout(SEND_TIMEOUT, sending).await {
                        Ok(result) => result.map(|()| notice),
                        Err(_) => Err(transport::SendError::transient(
                            "the transport took too long; cut off",
                        )),
                    }
                }
            },
            Err(e) => Err(transport::SendError::permanent(format!(
                "unreadable message: {e}"
            ))),
        };
        let mut update = outbox::Entity::update_many()
            .filter(outbox::Column::Id.eq(row.id))
            .filter(outbox::Column::LockedUntil.eq(lease))
            .filter(outbox::Column::SentAt.is_null());
        let redacted = |payload: &str| {
            serde_json::from_str::<Notice>(payload)
                .ok()
                .and_then(|n| serde_json::to_string(&n.redacted()).ok())
                .unwrap_or_default()
        };
        let delivered = match outcome {
            Ok(notice) => {
                metrics::counter!("gamestore_mail_sent_total", "kind" => notice.kind())
                    .increment(1);
                update = update
                    .col_expr(outbox::Column::SentAt, Expr::value(Utc::now()))
                    .col_expr(outbox::Column::Payload, Expr::value(redacted(&row.payload)))
                    .col_expr(
                        outbox::Column::LastError,
                        Expr::value(Option::<String>::None),
                    );
                tracing::info!(outbox_id = row.id, kind = %row.kind, "email sent");
                true
            }
            Err(e) => {
                let give_up = e.permanent || attempts >= self.store.settings().mail.max_attempts;
                let error: String = e.message.chars().take(1000).collect();
                tracing::warn!(outbox_id = row.id, kind = %row.kind, attempts, give_up, error = %error, "email not sent");
                metrics::counter!("gamestore_mail_failures_total").increment(1);
                update = update.col_expr(outbox::Column::LastError, Expr::value(error));
                if give_up {
                    update = update
                        .col_expr(outbox::Column::FailedAt, Expr::value(Utc::now()))
                        .col_expr(outbox::Column::Payload, Expr::value(redacted(&row.payload)));
                } else {
                    update = update.col_expr(
                        outbox::Column::NextAttemptAt,
                        Expr::value(Utc::now() + backoff(attempts)),
                    );
                }
                false
            }
        };
        let recorded = update
            .col_expr(
                outbox::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .exec(db)
            .await?
            .rows_affected;
        if recorded == 0 {
            tracing::warn!(
                outbox_id = row.id,
                "the lease ran out before the outcome was recorded"
            );
        }
        Ok(delivered)
    }

    /// Why a message must not go out any more: its address was removed or changed since it was
    /// written (or, for a link, a newer link replaced it), or the account was closed.
    async fn superseded(&self, row: &outbox::Model, notice: &Notice) -> Result<Option<String>> {
        let Some(user_id) = row.user_id else {
            return Ok(None);
        };
        let Some(user) = users::Entity::find_by_id(user_id)
            .one(self.store.db())
            .await?
            .filter(|u| u.deleted_at.is_none())
        else {
            return Ok(Some("superseded: the account was closed".to_owned()));
        };
        let same_address = user
            .email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&row.to_address));
        let current = match notice {
            Notice::VerifyEmail { token, .. } => {
                same_address
                    && user.email_token_sha256.as_deref()
                        == Some(hex::encode(Sha256::digest(token.as_bytes())).as_str())
            }
            _ => same_address && user.email_verified_at.is_some(),
        };
        Ok((!current).then(|| "superseded: the address was changed or removed".to_owned()))
    }

    /// How many messages wait, went out, or were given up on.
    pub async fn counts(&self) -> Result<OutboxCounts> {
        use sea_orm::PaginatorTrait as _;
        let db = self.store.db();
        let sent = outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_not_null())
            .count(db)
            .await?;
        let failed = outbox::Entity::find()
            .filter(outbox::Column::FailedAt.is_not_null())
            .count(db)
            .await?;
        let pending = outbox::Entity::find()
            .filter(outbox::Column::SentAt.is_null())
            .filter(outbox::Column::FailedAt.is_null())
            .count(db)
            .await?;
        Ok(OutboxCounts {
            pending,
            sent,
            failed,
        })
    }
}

/// The wait before try `attempts + 1`: 2 s, 4 s, 8 s … up to an hour.
fn backoff(attempts: u32) -> chrono::Duration {
    let secs = 2u64.saturating_pow(Ord::min(attempts, 20));
    chrono::Duration::from_std(Duration::from_secs(secs).min(MAX_BACKOFF)).unwrap_or_default()
}

/// Runs the outbox worker on this replica every `MAIL`'s poll interval.
pub fn spawn_outbox_task(store: Store) -> tokio::task::JoinHandle<()> {
    let interval = store.settings().mail.poll_interval;
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = store.mail().deliver_due().await {
                tracing::warn!(error = %e, "outbox pass failed; will retry");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1).num_seconds(), 2);
        assert_eq!(backoff(2).num_seconds(), 4);
        assert_eq!(backoff(5).num_seconds(), 32);
        assert_eq!(backoff(30).num_seconds(), 3600);
    }

    #[test]
    fn a_sent_verification_keeps_no_token() {
        let notice = Notice::VerifyEmail {
            username: "ada".into(),
            token: "secret".into(),
            expires_at: Utc::now(),
        };
        let Notice::VerifyEmail { token, .. } = notice.redacted() else {
            unreachable!()
        };
        assert!(token.is_empty());
    }
}
