//! Refunds the store asks of the payment provider.
//!
//! A request sets money aside on the order (`refund_pending_cents`, one conditional update
//! that keeps `refunded + pending <= paid`) and claims the lines it takes back (a line is
//! claimed by one refund only), writes the refund as `pending`, and only then asks the
//! provider. Nothing about the order changes until the provider's signed `payment.refunded`
//! webhook names the refund: `payments` then completes it exactly once, through
//! `lifecycle::refund`. A request the provider refuses is marked `failed` and gives its
//! reservation and lines back; one it does not answer stays `pending` (it may have been done)
//! until its webhook arrives or the same request sends it again.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, ModelTrait as _, PaginatorTrait as _, QueryFilter as _,
    QueryOrder as _, Set, TransactionTrait as _,
};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use api_types::{NewRefund, Refund, RefundAccepted, RefundRequest};

use super::{Orders, views};
use crate::accounts::CurrentUser;
use crate::domain::IdempotencyKey;
use crate::entity::refunds::{self, Initiator, RefundStatus};
use crate::entity::{items, license_keys, order_lines, order_status_history, orders};
use crate::orders::lifecycle::{self, Status};
use crate::{Error, Result};

/// Namespace of refund ids derived from an order and an `Idempotency-Key`.
const REFUND_NAMESPACE: Uuid = Uuid::from_u128(0x6a1f_0c55_6d8e_4b63_9a1e_2f3c_7d40_b5e1);

/// A refund the provider did not answer is sent again at most once in this long.
const RESEND_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Most lines one refund may name.
const MAX_LINES: usize = 100;

/// The id of the refund an order's `Idempotency-Key` asks for: the same key, the same refund.
pub fn refund_id(order_id: Uuid, key: &str) -> Uuid {
    Uuid::new_v5(&REFUND_NAMESPACE, format!("{order_id}:{key}").as_bytes())
}

/// The id recorded for a refund the provider reports without naming one of ours.
pub(crate) fn unasked_refund_id(event_id: &str) -> Uuid {
    Uuid::new_v5(&REFUND_NAMESPACE, format!("event:{event_id}").as_bytes())
}

fn refundable(status: Status) -> bool {
    matches!(status, Status::Paid | Status::PartiallyRefunded)
}

fn not_refundable(status: Status) -> Error {
    Error::conflict(
        "ORDER_NOT_REFUNDABLE",
        format!(
            "only paid orders can be refunded; this one is {}",
            api_types::OrderStatus::from(status).as_str()
        ),
    )
}

fn exceeds(order: &orders::Model, amount: i64) -> Error {
    Error::unprocessable(
        "REFUND_EXCEEDS_CAPTURED",
        format!(
            "a refund of {amount} exceeds what is left to refund: {} paid, {} refunded, {} being refunded",
            order.amount_cents, order.refunded_cents, order.refund_pending_cents
        ),
    )
}

/// A validated request.
struct Checked {
    amount: Option<i64>,
    line_ids: Vec<i64>,
    reason: Option<String>,
    fingerprint: String,
}

fn check(input: &NewRefund) -> Result<Checked> {
    if let Some(amount) = input.amount_cents
        && amount <= 0
    {
        return Err(Error::invalid(
            "amount_cents",
            "amount_cents must be a positive whole number of cents",
        ));
    }
    let mut line_ids = input.line_item_ids.clone().unwrap_or_default();
    if line_ids.len() > MAX_LINES {
        return Err(Error::invalid(
            "line_item_ids",
            format!("a refund may name at most {MAX_LINES} lines"),
        ));
    }
    line_ids.sort_unstable();
    line_ids.dedup();
    let reason = match input.reason.as_deref().map(str::trim) {
        Some(r) if !r.is_empty() => {
            crate::domain::check_text("reason", r, false)?;
            if r.chars().count() > 500 {
                return Err(Error::invalid(
                    "reason",
                    "reason must be at most 500 characters",
                ));
            }
            Some(r.to_owned())
        }
        _ => None,
    };
    let fingerprint = hex::encode(Sha256::digest(
        format!("{:?}|{:?}|{:?}", input.amount_cents, line_ids, reason).as_bytes(),
    ));
    Ok(Checked {
        amount: input.amount_cents,
        line_ids,
        reason,
        fingerprint,
    })
}

impl Orders<'_> {
    /// An operator asks for (part of) a paid order back (`POST
    /// /api/admin/orders/{order_id}/refunds`). Answers at once with the pending refund; the
    /// order changes when the provider's webhook arrives. The same key and request answer the
    /// same refund; the same key with another request is refused.
    pub async fn request_refund(
        &self,
        operator: &CurrentUser,
        order_id: Uuid,
        input: &NewRefund,
        idempotency_key: &str,
    ) -> Result<RefundAccepted> {
        operator.require_admin()?;
        self.ask_refund(
            operator,
            Initiator::Operator,
            order_id,
            input,
            idempotency_key,
        )
        .await
    }

    /// A buyer asks for lines of their own order back (`POST
    /// /api/purchases/{order_id}/refunds`, the order page's "Refund" button): only lines of
    /// items they keep (not consumables), that delivered no license key (a key, once shown,
    /// cannot be taken back), within `REFUND_WINDOW_DAYS` of the payment, and not for a gift
    /// (its recipient holds it). It then goes the operator's way: asked of the provider, applied
    /// when the provider confirms.
    pub async fn request_own_refund(
        &self,
        buyer: &CurrentUser,
        order_id: Uuid,
        line_ids: &[i64],
        reason: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<RefundAccepted> {
        let db = self.store.db();
        let order = orders::Entity::find_by_id(order_id)
            .one(db)
            .await?
            .filter(|o| o.user_id == buyer.id())
            .ok_or(Error::NotFound("order"))?;
        let mut line_ids = line_ids.to_vec();
        line_ids.sort_unstable();
        line_ids.dedup();
        if line_ids.is_empty() || line_ids.len() > MAX_LINES {
            return Err(Error::invalid(
                "line_item_ids",
                format!("name between 1 and {MAX_LINES} lines you want refunded"),
            ));
        }
        let input = NewRefund {
            amount_cents: None,
            line_item_ids: Some(line_ids.clone()),
            reason: reason.map(str::to_owned),
        };
        let lines = order.find_related(order_lines::Entity).all(db).await?;
        // The same request again answers what the first one got, before anything is re-checked
        // (by then its lines are claimed): with a key, the refund that key made; without one,
        // the pending refund of the buyer's that claims exactly these lines.
        let key = match idempotency_key {
            Some(key) => {
                let key = format!("customer:{key}");
                let id = refund_id(order_id, IdempotencyKey::parse(&key)?.as_str());
                if let Some(existing) = self
                    .existing_refund(id, &check(&input)?.fingerprint)
                    .await?
                {
                    return Ok(existing);
                }
                key
            }
            None => {
                if let Some(existing) = self.pending_own_refund(&lines, &line_ids).await? {
                    return Ok(existing);
                }
                // A try after a refund the provider refused is a new request.
                let earlier = refunds::Entity::find()
                    .filter(refunds::Column::OrderId.eq(order_id))
                    .count(db)
                    .await?;
                format!(
                    "customer:{earlier}:{}",
                    &hex::encode(Sha256::digest(format!("{line_ids:?}").as_bytes()))[..32]
                )
            }
        };
        if order.is_gift() {
            return Err(Error::unprocessable(
                "NOT_SELF_REFUNDABLE",
                "a gift cannot be refunded from your order page: its recipient holds it; please contact us",
            ));
        }
        if !refundable(order.status) {
            return Err(not_refundable(order.status));
        }
        let rules = SelfRefunds::load(
            self.store,
            std::slice::from_ref(&order),
            std::slice::from_ref(&lines),
        )
        .await?;
        if rules.window_end(&order).is_none() {
            return Err(Error::unprocessable(
                "REFUND_WINDOW_CLOSED",
                format!(
                    "refunds can be asked for within {} days of payment; please contact us",
                    rules.window.as_secs() / 86_400
                ),
            ));
        }
        let items: std::collections::HashMap<i64, items::Model> = items::Entity::find()
            .filter(items::Column::Id.is_in(lines.iter().map(|l| l.item_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        for line_id in &line_ids {
            let Some(line) = lines.iter().find(|l| l.id == *line_id) else {
                return Err(Error::invalid(
                    "line_item_ids",
                    format!("line {line_id} is not a line of this order"),
                ));
            };
            if line.refunded_at.is_some() || line.refund_id.is_some() {
                // (The same request at the same moment may be what claimed it.)
                let id = refund_id(order_id, IdempotencyKey::parse(&key)?.as_str());
                return self
                    .same_key_or(
                        id,
                        &check(&input)?.fingerprint,
                        Error::conflict(
                            "LINE_ALREADY_REFUNDED",
                            format!("the line for {} is already refunded", line.name),
                        ),
                    )
                    .await;
            }
            if !rules.line_ok(line, items.get(&line.item_id)) {
                let why = if rules.keyed.contains(&line.id) {
                    "its license key was delivered"
                } else {
                    "it is used up when bought"
                };
                return Err(Error::unprocessable(
                    "NOT_SELF_REFUNDABLE",
                    format!(
                        "{} cannot be refunded from your order page ({why}); please contact us",
                        line.name
                    ),
                ));
            }
        }
        self.ask_refund(buyer, Initiator::Customer, order_id, &input, &key)
            .await
    }

    /// The buyer's own pending refund that claims exactly `line_ids`, if there is one.
    async fn pending_own_refund(
        &self,
        lines: &[order_lines::Model],
        line_ids: &[i64],
    ) -> Result<Option<RefundAccepted>> {
        let claims: std::collections::HashSet<Option<Uuid>> = lines
            .iter()
            .filter(|l| line_ids.contains(&l.id))
            .map(|l| l.refund_id)
            .collect();
        let (1, Some(Some(id))) = (claims.len(), claims.iter().next()) else {
            return Ok(None);
        };
        let refund = refunds::Entity::find_by_id(*id)
            .one(self.store.db())
            .await?
            .filter(|r| {
                r.status == RefundStatus::Pending
                    && r.initiated_by == Initiator::Customer
                    && items::ids_from_column(&r.line_ids) == line_ids
            });
        let Some(refund) = refund else {
            return Ok(None);
        };
        self.resend_unanswered(&refund).await?;
        Ok(Some(RefundAccepted {
            refund_id: refund.id,
            status: refund.status.as_str().to_owned(),
            amount_cents: refund.amount_cents,
            currency: refund.currency.clone(),
        }))
    }

    async fn ask_refund(
        &self,
        requester: &CurrentUser,
        initiator: Initiator,
        order_id: Uuid,
        input: &NewRefund,
        idempotency_key: &str,
    ) -> Result<RefundAccepted> {
        let key = IdempotencyKey::parse(idempotency_key)?;
        let checked = check(input)?;
        let id = refund_id(order_id, key.as_str());
        if let Some(existing) = self.existing_refund(id, &checked.fingerprint).await? {
            return Ok(existing);
        }

        let txn = crate::db::begin_write(self.store.db()).await?;
        let order = orders::Entity::find_by_id(order_id)
            .one(&txn)
            .await?
            .ok_or(Error::NotFound("order"))?;
        if !refundable(order.status) {
            return Err(not_refundable(order.status));
        }
        let lines = order.find_related(order_lines::Entity).all(&txn).await?;
        let mut lines_total = 0;
        for line_id in &checked.line_ids {
            let line = lines.iter().find(|l| l.id == *line_id).ok_or_else(|| {
                Error::invalid(
                    "line_item_ids",
                    format!("line {line_id} is not a line of this order"),
                )
            })?;
            if line.refunded_at.is_some() || line.refund_id.is_some() {
                let name = line.name.clone();
                drop(txn);
                return self
                    .same_key_or(
                        id,
                        &checked.fingerprint,
                        Error::conflict(
                            "LINE_ALREADY_REFUNDED",
                            format!("the line for {name} is already refunded"),
                        ),
                    )
                    .await;
            }
            lines_total += line.line_total_cents;
        }
        let amount = match (checked.amount, checked.line_ids.is_empty()) {
            (Some(amount), false) if amount > lines_total => {
                return Err(Error::invalid(
                    "amount_cents",
                    format!("amount_cents is more than the {lines_total} those lines cost"),
                ));
            }
            (Some(amount), _) => amount,
            (None, false) => lines_total,
            (None, true) => order.amount_cents - order.refunded_cents - order.refund_pending_cents,
        };
        // Checked here too, not only in SQL: there, an amount near `i64::MAX` would overflow
        // the sum (an error on PostgreSQL) before it was compared.
        if amount > order.amount_cents {
            return Err(exceeds(&order, amount));
        }
        if amount <= 0 {
            return Err(if checked.line_ids.is_empty() {
                exceeds(&order, amount)
            } else {
                Error::unprocessable("NOTHING_TO_REFUND", "those lines were free")
            });
        }
        let reserved = orders::Entity::update_many()
            .col_expr(
                orders::Column::RefundPendingCents,
                Expr::col(orders::Column::RefundPendingCents).add(amount),
            )
            .filter(orders::Column::Id.eq(order_id))
            .filter(orders::Column::Status.is_in([Status::Paid, Status::PartiallyRefunded]))
            .filter(
                Expr::col(orders::Column::RefundedCents)
                    .add(Expr::col(orders::Column::RefundPendingCents))
                    .add(amount)
                    .lte(Expr::col(orders::Column::AmountCents)),
            )
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if !reserved {
            let now = orders::Entity::find_by_id(order_id)
                .one(&txn)
                .await?
                .ok_or(Error::NotFound("order"))?;
            drop(txn);
            return self
                .same_key_or(
                    id,
                    &checked.fingerprint,
                    if refundable(now.status) {
                        exceeds(&now, amount)
                    } else {
                        not_refundable(now.status)
                    },
                )
                .await;
        }
        if !checked.line_ids.is_empty() {
            let claimed = order_lines::Entity::update_many()
                .col_expr(order_lines::Column::RefundId, Expr::value(id))
                .filter(order_lines::Column::OrderId.eq(order_id))
                .filter(order_lines::Column::Id.is_in(checked.line_ids.iter().copied()))
                .filter(order_lines::Column::RefundId.is_null())
                .filter(order_lines::Column::RefundedAt.is_null())
                .exec(&txn)
                .await?
                .rows_affected;
            if claimed != checked.line_ids.len() as u64 {
                drop(txn);
                return self
                    .same_key_or(
                        id,
                        &checked.fingerprint,
                        Error::conflict(
                            "LINE_ALREADY_REFUNDED",
                            "one of those lines is already being refunded",
                        ),
                    )
                    .await;
            }
        }
        let inserted = refunds::Entity::insert(refunds::ActiveModel {
            id: Set(id),
            order_id: Set(order_id),
            amount_cents: Set(amount),
            currency: Set(order.currency.clone()),
            line_ids: Set(items::ids_to_column(&checked.line_ids)),
            reason: Set(checked.reason.clone()),
            status: Set(RefundStatus::Pending),
            initiated_by: Set(initiator),
            requested_by: Set(Some(requester.id())),
            idempotency_key: Set(Some(key.as_str().to_owned())),
            request_fingerprint: Set(Some(checked.fingerprint.clone())),
            detail: Set(None),
            created_at: Set(Utc::now()),
            completed_at: Set(None),
        })
        .on_conflict_do_nothing_on([refunds::Column::Id])
        .exec(&txn)
        .await?;
        if matches!(inserted, sea_orm::TryInsertResult::Conflicted) {
            // The same key, at the same moment: the other request's refund is the answer.
            drop(txn);
            return self
                .existing_refund(id, &checked.fingerprint)
                .await?
                .ok_or_else(|| Error::internal("a conflicting refund vanished"));
        }
        crate::audit::record(
            &txn,
            crate::audit::Entry::new(
                crate::audit::Actor::user(requester),
                crate::audit::action::REFUND_REQUEST,
                "order",
                order_id,
                serde_json::json!({
                    "refund_id": id,
                    "amount_cents": amount,
                    "currency": order.currency,
                    "line_ids": checked.line_ids,
                    "reason": checked.reason,
                    "initiated_by": initiator.as_str(),
                }),
            ),
        )
        .await?;
        txn.commit().await?;
        tracing::info!(%order_id, refund_id = %id, amount, "refund requested");

        let request = RefundRequest {
            refund_id: id,
            order_id,
            transaction_id: order.provider_transaction_id.clone().unwrap_or_default(),
            amount_cents: amount,
            currency: order.currency.clone(),
        };
        self.send(&request, false).await?;
        Ok(RefundAccepted {
            refund_id: id,
            status: RefundStatus::Pending.as_str().to_owned(),
            amount_cents: amount,
            currency: order.currency.clone(),
        })
    }

    /// What a request that lost a race answers: the refund its key made meanwhile (the same
    /// request sent twice at once, which the provider is asked for once), else `error`.
    async fn same_key_or(
        &self,
        id: Uuid,
        fingerprint: &str,
        error: Error,
    ) -> Result<RefundAccepted> {
        match self.existing_refund(id, fingerprint).await? {
            Some(existing) => Ok(existing),
            None => Err(error),
        }
    }

    /// The refund an `Idempotency-Key` already made, if any, sent to the provider again when
    /// the first try heard no answer.
    async fn existing_refund(&self, id: Uuid, fingerprint: &str) -> Result<Option<RefundAccepted>> {
        let Some(existing) = refunds::Entity::find_by_id(id).one(self.store.db()).await? else {
            return Ok(None);
        };
        if existing.request_fingerprint.as_deref() != Some(fingerprint) {
            return Err(Error::conflict(
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was used for another refund of this order",
            ));
        }
        self.resend_unanswered(&existing).await?;
        Ok(Some(RefundAccepted {
            refund_id: existing.id,
            status: existing.status.as_str().to_owned(),
            amount_cents: existing.amount_cents,
            currency: existing.currency.clone(),
        }))
    }

    /// Asks the provider for a refund written down as `pending`. A refusal marks it `failed`
    /// and gives back what it set aside. No usable answer (no connection, a timeout, a 5xx)
    /// cannot tell whether the provider did it, so the refund stays `pending`, its amount and
    /// lines still held, with why in `detail`: the provider's webhook completes it if it was
    /// done, and the same request asked again sends it again (the provider takes a
    /// `refund_id` once). Both are 503 for the caller. Marking such a refund `failed` would
    /// free its lines for a second refund while the first may still be paid out.
    async fn send(&self, request: &RefundRequest, resent: bool) -> Result<()> {
        let (order_id, id) = (request.order_id, request.refund_id);
        let error = match self.store.provider().request_refund(request).await {
            Ok(()) => {
                if resent {
                    self.note_unanswered(id, None).await?;
                }
                return Ok(());
            }
            Err(error) => error,
        };
        if error.refused {
            // After an unanswered first try, a refusal of the resend may mean the first went
            // through ("exceeds what is refundable"); the lines are freed all the same, and a
            // late webhook for this refund is still believed (see `payments::apply_refund`).
            tracing::error!(%order_id, refund_id = %id, detail = %error, "the provider refused the refund");
            self.fail_refund(id, &error.detail).await?;
            return Err(Error::Unavailable {
                code: "PAYMENT_PROVIDER_UNAVAILABLE",
                message: "the payment provider refused the refund; nothing was refunded".to_owned(),
            });
        }
        tracing::error!(%order_id, refund_id = %id, detail = %error, "no answer from the provider to a refund");
        if !resent {
            // The window for sending it again starts with this first try.
            self.note_send(id).await;
        }
        self.note_unanswered(id, Some(&error.detail)).await?;
        Err(Error::Unavailable {
            code: "PAYMENT_PROVIDER_UNAVAILABLE",
            message: "the payment provider did not answer: the refund stays pending until the \
                      provider confirms it; asking again sends it again"
                .to_owned(),
        })
    }

    /// Sends a pending refund again if the provider never answered it; at most once in
    /// `RESEND_EVERY` per refund, so a client asking in a loop cannot keep the store calling a
    /// provider that is down (each call may wait out its 5 s timeout).
    async fn resend_unanswered(&self, refund: &refunds::Model) -> Result<()> {
        if refund.status != RefundStatus::Pending || refund.detail.is_none() {
            return Ok(());
        }
        let first = self.note_send(refund.id).await == Some(1);
        if !first {
            return Err(Error::Unavailable {
                code: "PAYMENT_PROVIDER_UNAVAILABLE",
                message: "the payment provider has not answered this refund yet; it was just \
                          sent again, please try again in a few seconds"
                    .to_owned(),
            });
        }
        let order = orders::Entity::find_by_id(refund.order_id)
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("order"))?;
        let request = RefundRequest {
            refund_id: refund.id,
            order_id: order.id,
            transaction_id: order.provider_transaction_id.unwrap_or_default(),
            amount_cents: refund.amount_cents,
            currency: refund.currency.clone(),
        };
        self.send(&request, true).await
    }

    /// Counts a send of a refund in its `RESEND_EVERY` window; `None` if the cache did not
    /// answer (then no resend is made: it fails closed).
    async fn note_send(&self, id: Uuid) -> Option<i64> {
        self.store
            .cache()
            .hit(&format!("refund-resend:{id}"), RESEND_EVERY)
            .await
            .ok()
            .map(|(count, _)| count)
    }

    /// Writes (or, with `None`, clears) why a still-pending refund has no answer from the
    /// provider.
    async fn note_unanswered(&self, id: Uuid, detail: Option<&str>) -> Result<()> {
        refunds::Entity::update_many()
            .col_expr(
                refunds::Column::Detail,
                Expr::value(detail.map(|d| d.chars().take(1000).collect::<String>())),
            )
            .filter(refunds::Column::Id.eq(id))
            .filter(refunds::Column::Status.eq(RefundStatus::Pending))
            .exec(self.store.db())
            .await?;
        Ok(())
    }

    /// Marks a pending refund failed and gives back what it set aside, once.
    async fn fail_refund(&self, id: Uuid, detail: &str) -> Result<()> {
        let txn = self.store.db().begin().await?;
        let Some(refund) = refunds::Entity::find_by_id(id).one(&txn).await? else {
            return Ok(());
        };
        let failed = refunds::Entity::update_many()
            .col_expr(refunds::Column::Status, Expr::value(RefundStatus::Failed))
            .col_expr(
                refunds::Column::Detail,
                Expr::value(detail.chars().take(1000).collect::<String>()),
            )
            .col_expr(refunds::Column::CompletedAt, Expr::value(Utc::now()))
            .filter(refunds::Column::Id.eq(id))
            .filter(refunds::Column::Status.eq(RefundStatus::Pending))
            .exec(&txn)
            .await?
            .rows_affected
            == 1;
        if failed {
            lifecycle::release_reservation(&txn, refund.order_id, refund.amount_cents).await?;
            order_lines::Entity::update_many()
                .col_expr(
                    order_lines::Column::RefundId,
                    Expr::value(Option::<Uuid>::None),
                )
                .filter(order_lines::Column::RefundId.eq(id))
                .filter(order_lines::Column::RefundedAt.is_null())
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// The refunds of one order, oldest first (operators).
    pub async fn refunds_for(&self, order_id: Uuid) -> Result<Vec<Refund>> {
        Ok(refunds::Entity::find()
            .filter(refunds::Column::OrderId.eq(order_id))
            .order_by_asc(refunds::Column::CreatedAt)
            .all(self.store.db())
            .await?
            .iter()
            .map(views::to_refund)
            .collect())
    }
}

/// What a buyer may ask back themselves, for a set of orders: when each was paid, and which of
/// their lines delivered a license key.
pub(crate) struct SelfRefunds {
    window: std::time::Duration,
    now: chrono::DateTime<Utc>,
    paid_at: std::collections::HashMap<Uuid, chrono::DateTime<Utc>>,
    keyed: std::collections::HashSet<i64>,
}

impl SelfRefunds {
    /// At most two queries whatever the number of orders: their moves to `paid`, and the keys
    /// their lines (`lines`, per order; may be empty) were given, both for the orders a buyer
    /// may still refund only.
    pub(crate) async fn load(
        store: &crate::Store,
        rows: &[orders::Model],
        lines: &[Vec<order_lines::Model>],
    ) -> Result<Self> {
        let db = store.db();
        let candidates: Vec<Uuid> = rows
            .iter()
            .filter(|r| refundable(r.status) && !r.is_gift())
            .map(|r| r.id)
            .collect();
        let mut paid_at = std::collections::HashMap::new();
        if !candidates.is_empty() {
            for change in order_status_history::Entity::find()
                .filter(order_status_history::Column::OrderId.is_in(candidates))
                .filter(order_status_history::Column::ToStatus.eq(Status::Paid))
                .all(db)
                .await?
            {
                paid_at
                    .entry(change.order_id)
                    .and_modify(|at: &mut chrono::DateTime<Utc>| *at = Ord::min(*at, change.at))
                    .or_insert(change.at);
            }
        }
        // Only a candidate's lines are ever judged: a pending order (a purchase's own answer)
        // or a gift costs no key lookup.
        let line_ids: Vec<i64> = rows
            .iter()
            .zip(lines)
            .filter(|(r, _)| refundable(r.status) && !r.is_gift())
            .flat_map(|(_, lines)| lines.iter().map(|l| l.id))
            .collect();
        let keyed = if line_ids.is_empty() {
            Default::default()
        } else {
            license_keys::Entity::find()
                .filter(license_keys::Column::OrderLineId.is_in(line_ids))
                .all(db)
                .await?
                .into_iter()
                .filter_map(|k| k.order_line_id)
                .collect()
        };
        Ok(Self {
            window: store.settings().refund_window,
            now: Utc::now(),
            paid_at,
            keyed,
        })
    }

    /// Until when the buyer may ask: a paid (or partly refunded) order that is not a gift,
    /// within the window after its payment.
    pub(crate) fn window_end(&self, row: &orders::Model) -> Option<chrono::DateTime<Utc>> {
        if !refundable(row.status) || row.is_gift() {
            return None;
        }
        let end = *self.paid_at.get(&row.id)?
            + chrono::Duration::from_std(self.window).unwrap_or_default();
        (end > self.now).then_some(end)
    }

    /// A line the buyer keeps (not a consumable), that delivered no key and is not refunded or
    /// being refunded.
    pub(crate) fn line_ok(&self, line: &order_lines::Model, item: Option<&items::Model>) -> bool {
        line.refunded_at.is_none()
            && line.refund_id.is_none()
            && item.is_some_and(|i| !i.consumable)
            && !self.keyed.contains(&line.id)
    }

    /// Fills in `refundable_until` and the lines' `self_refundable` for the buyer's view.
    pub(crate) fn mark(
        &self,
        row: &orders::Model,
        lines: &[order_lines::Model],
        items: &std::collections::HashMap<i64, items::Model>,
        order: &mut api_types::Order,
    ) {
        let Some(end) = self.window_end(row) else {
            return;
        };
        order.refundable_until = Some(end);
        for (line, shown) in lines.iter().zip(order.lines.iter_mut()) {
            shown.self_refundable = self.line_ok(line, items.get(&line.item_id));
        }
    }
}

/// Writes down a refund the provider made without being asked (a chargeback), already done.
/// `false` when it is already recorded (a redelivery under another event id).
pub(crate) async fn record_unasked(
    conn: &impl sea_orm::ConnectionTrait,
    id: Uuid,
    order: &orders::Model,
    amount_cents: i64,
    reason: Option<&str>,
) -> Result<bool> {
    let now = Utc::now();
    let inserted = refunds::Entity::insert(refunds::ActiveModel {
        id: Set(id),
        order_id: Set(order.id),
        amount_cents: Set(amount_cents),
        currency: Set(order.currency.clone()),
        line_ids: Set(String::new()),
        reason: Set(reason.map(str::to_owned)),
        status: Set(RefundStatus::Succeeded),
        initiated_by: Set(Initiator::Provider),
        requested_by: Set(None),
        idempotency_key: Set(None),
        request_fingerprint: Set(None),
        detail: Set(None),
        created_at: Set(now),
        completed_at: Set(Some(now)),
    })
    .on_conflict_do_nothing_on([refunds::Column::Id])
    .exec(conn)
    .await?;
    Ok(!matches!(inserted, sea_orm::TryInsertResult::Conflicted))
}

/// Completes a pending (or failed: the provider did it after all) refund the store asked
/// for, once: `true` for the one caller that moved it.
pub(crate) async fn claim(
    conn: &impl sea_orm::ConnectionTrait,
    refund: &refunds::Model,
) -> Result<bool> {
    let claimed = refunds::Entity::update_many()
        .col_expr(
            refunds::Column::Status,
            Expr::value(RefundStatus::Succeeded),
        )
        .col_expr(refunds::Column::CompletedAt, Expr::value(Utc::now()))
        .filter(refunds::Column::Id.eq(refund.id))
        .filter(refunds::Column::Status.eq(refund.status))
        .filter(refunds::Column::Status.ne(RefundStatus::Succeeded))
        .exec(conn)
        .await?
        .rows_affected;
    Ok(claimed == 1)
}
