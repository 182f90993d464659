//! Payment notifications from the provider: verification, exactly-once recording, and the
//! order events they cause (applied through `orders::lifecycle`).
//!
//! Processing a notification is one transaction: insert the event keyed by its provider id
//! (`ON CONFLICT DO NOTHING`), apply the order event, record the outcome, commit. Only then is
//! the buyer notified. A duplicate finds its event already recorded and gets the original
//! answer; a refund that overtakes its payment is parked (`deferred`) and applied the moment the
//! payment lands.

mod log;
mod notification;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::NotSet, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, Set, TryInsertResult,
};
use secrecy::ExposeSecret as _;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use api_types::LiveMessage;
use webhooks::standard::{self, StandardHeaders, VerifyError};

pub use crate::entity::Outcome;
use crate::entity::refunds::{self, RefundStatus};
use crate::entity::{items, orders, payment_events};
use crate::live::{self, Envelope};
use crate::orders::lifecycle::{self, Decision, Event, Note, Refunding};
use crate::orders::refunds as order_refunds;
use crate::{Error, Result, Store};
pub use log::{DeliveryFilter, RejectionBudget};
pub use notification::decline_reason;
use notification::{Kind, Notification, parse_standard, parse_xsolla, storable};

/// The answer the provider gets for an outcome: 2xx for anything it should not send again.
fn answer(outcome: Outcome, detail: Option<&str>) -> Result<Outcome> {
    let detail = detail.unwrap_or_default().to_owned();
    match outcome {
        Outcome::UnknownOrder => Err(Error::unprocessable("UNKNOWN_ORDER", detail)),
        Outcome::AmountMismatch => Err(Error::unprocessable("AMOUNT_MISMATCH", detail)),
        Outcome::Malformed => Err(Error::BadRequest(detail)),
        Outcome::Invalid => Err(Error::unprocessable("INVALID_NOTIFICATION", detail)),
        Outcome::IdReused => Err(Error::conflict("WEBHOOK_ID_REUSED", detail)),
        other => Ok(other),
    }
}

/// What applying one notification did: its outcome (and why), the messages to publish once it
/// is committed, and whether units of limited stock came back.
struct Effects {
    outcome: Outcome,
    detail: Option<String>,
    messages: Vec<LiveMessage>,
    stock_released: bool,
}

impl Effects {
    /// Recorded with its outcome; the order did not move.
    fn recorded(outcome: Outcome, detail: Option<String>) -> Self {
        Self {
            outcome,
            detail,
            messages: vec![],
            stock_released: false,
        }
    }
}

/// What processing a verified notification did, before it is turned into an answer.
struct Processed {
    outcome: Outcome,
    detail: Option<String>,
    duplicate: bool,
    /// Its row in the webhook log.
    delivery_id: i64,
    /// For a duplicate: when the event was first recorded.
    first_recorded_at: Option<chrono::DateTime<Utc>>,
}

/// The HTTP status the provider gets for an outcome.
fn status_of(outcome: Outcome, detail: Option<&str>) -> u16 {
    answer(outcome, detail).map_or_else(|e| e.status(), |_| 204)
}

/// The provider's answer to a delivery: whether it was new or a duplicate, and how it went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receipt {
    pub outcome: Outcome,
    pub duplicate: bool,
}

pub struct Payments<'a> {
    store: &'a Store,
}

/// The three Standard Webhooks headers, as they arrived (any may be missing).
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardDelivery<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

impl<'a> Payments<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// A Standard Webhooks delivery: verify over the raw bytes, then process. A delivery that
    /// does not verify is recorded (bounded, see `log`) and refused.
    pub async fn receive_standard(
        &self,
        headers: StandardDelivery<'_>,
        body: &[u8],
    ) -> Result<Receipt> {
        match self.verify_standard(headers, body) {
            Ok(id) => self.process(parse_standard(id, body), None).await,
            Err(e) => {
                self.record_rejected("standard", headers.id, body, &e, false)
                    .await;
                Err(e)
            }
        }
    }

    fn verify_standard<'h>(&self, headers: StandardDelivery<'h>, body: &[u8]) -> Result<&'h str> {
        let (Some(id), Some(timestamp), Some(signature)) =
            (headers.id, headers.timestamp, headers.signature)
        else {
            return Err(Error::InvalidSignature(
                "missing webhook-id, webhook-timestamp or webhook-signature header".to_owned(),
            ));
        };
        if id.is_empty() || id.len() > 255 {
            return Err(Error::InvalidSignature(
                "webhook-id must be 1–255 characters".to_owned(),
            ));
        }
        standard::verify(
            &self.store.settings().webhook_secrets,
            StandardHeaders {
                id,
                timestamp,
                signature,
            },
            body,
            Utc::now().timestamp(),
        )
        .map_err(|e| {
            let message = match e {
                VerifyError::Mismatch => "signature does not match".to_owned(),
                other => other.to_string(),
            };
            Error::InvalidSignature(message)
        })?;
        Ok(id)
    }

    /// An Xsolla-style delivery (`Authorization: Signature <sha1>`), when enabled.
    pub async fn receive_xsolla(
        &self,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<Receipt> {
        let verified = self.verify_xsolla(authorization, body);
        if let Err(e) = verified {
            self.record_rejected("xsolla", None, body, &e, false).await;
            return Err(e);
        }
        match parse_xsolla(body) {
            Ok(notification) => self.process(notification, None).await,
            Err(why) => {
                let e = Error::BadRequest(why);
                self.record_rejected("xsolla", None, body, &e, true).await;
                Err(e)
            }
        }
    }

    fn verify_xsolla(&self, authorization: Option<&str>, body: &[u8]) -> Result<()> {
        let Some(secret) = &self.store.settings().xsolla_webhook_secret else {
            return Err(Error::InvalidSignature(
                "Xsolla-style signatures are not enabled".to_owned(),
            ));
        };
        let Some(authorization) = authorization else {
            return Err(Error::InvalidSignature(
                "missing Authorization header".to_owned(),
            ));
        };
        if !webhooks::xsolla::verify(authorization, body, secret.expose_secret()) {
            return Err(Error::InvalidSignature(
                "signature does not match".to_owned(),
            ));
        }
        Ok(())
    }

    /// Processes a verified notification and answers the provider: 2xx for anything it should
    /// not send again (see [`answer`]).
    async fn process(&self, n: Notification, replay_of: Option<i64>) -> Result<Receipt> {
        let processed = self.process_recorded(n, replay_of).await?;
        let outcome = answer(processed.outcome, processed.detail.as_deref())?;
        Ok(Receipt {
            outcome,
            duplicate: processed.duplicate,
        })
    }

    /// Records and applies one verified notification in one transaction, with its delivery in
    /// the webhook log; publishes what it caused once committed.
    async fn process_recorded(&self, n: Notification, replay_of: Option<i64>) -> Result<Processed> {
        let received_at_ms = Utc::now().timestamp_millis();
        let txn = crate::db::begin_write(self.store.db()).await?;
        let now = Utc::now();
        let event = |event_id: String, outcome: Outcome, detail: Option<String>| {
            payment_events::ActiveModel {
                id: NotSet,
                event_id: Set(event_id),
                scheme: Set(n.scheme.to_owned()),
                event_type: Set(n.event_type.chars().take(64).collect()),
                order_id: Set(n.order_id),
                payload: Set(n.payload.clone()),
                payload_sha256: Set(Some(n.payload_sha256.clone())),
                received_at: Set(now),
                processed_at: Set(None),
                outcome: Set(outcome),
                detail: Set(detail),
            }
        };
        let inserted =
            payment_events::Entity::insert(event(n.event_id.clone(), Outcome::Received, None))
                .on_conflict_do_nothing_on([payment_events::Column::EventId])
                .exec(&txn)
                .await?;
        if matches!(inserted, TryInsertResult::Conflicted) {
            let original = payment_events::Entity::find()
                .filter(payment_events::Column::EventId.eq(n.event_id.as_str()))
                .one(&txn)
                .await?
                .ok_or_else(|| Error::internal("conflicting event vanished"))?;
            let same_body = match &original.payload_sha256 {
                Some(hash) => *hash == n.payload_sha256,
                None => original.payload == n.payload,
            };
            if !same_body {
                // A lost payment if acknowledged: record it beside the original and refuse it.
                let detail = format!(
                    "webhook-id {} was already used for a different payload; not applied",
                    storable(&n.event_id, 80)
                );
                let id_hash = hex::encode(Sha256::digest(n.event_id.as_bytes()));
                payment_events::Entity::insert(event(
                    format!("reused:{}:{}", &id_hash[..32], &n.payload_sha256[..32]),
                    Outcome::IdReused,
                    Some(detail.clone()),
                ))
                .on_conflict_do_nothing_on([payment_events::Column::EventId])
                .exec(&txn)
                .await?;
                let delivery_id = log::record_verified(
                    &txn,
                    &n,
                    Outcome::IdReused.as_str(),
                    Some(&detail),
                    status_of(Outcome::IdReused, Some(&detail)),
                    replay_of,
                )
                .await?;
                txn.commit().await?;
                tracing::warn!(event_id = %n.event_id, "webhook id reused with a different payload");
                count_webhook(n.scheme, Outcome::IdReused.as_str());
                return Ok(Processed {
                    outcome: Outcome::IdReused,
                    detail: Some(detail),
                    duplicate: false,
                    delivery_id,
                    first_recorded_at: None,
                });
            }
            let note = format!(
                "a duplicate: this event was recorded on {} as {}",
                api_types::format_minute(&original.received_at),
                original.outcome.as_str()
            );
            let delivery_id = log::record_verified(
                &txn,
                &n,
                "duplicate",
                Some(&note),
                status_of(original.outcome, original.detail.as_deref()),
                replay_of,
            )
            .await?;
            txn.commit().await?;
            tracing::info!(event_id = %n.event_id, outcome = original.outcome.as_str(), "duplicate payment notification");
            count_webhook(n.scheme, "duplicate");
            return Ok(Processed {
                outcome: original.outcome,
                detail: original.detail,
                duplicate: true,
                delivery_id,
                first_recorded_at: Some(original.received_at),
            });
        }

        let Effects {
            outcome,
            detail,
            messages,
            stock_released,
        } = self.apply(&txn, &n).await?;
        payment_events::Entity::update_many()
            .col_expr(payment_events::Column::Outcome, Expr::value(outcome))
            .col_expr(
                payment_events::Column::Detail,
                Expr::value(detail.as_deref().map(|d| storable(d, 1000))),
            )
            .col_expr(payment_events::Column::ProcessedAt, Expr::value(Utc::now()))
            .filter(payment_events::Column::EventId.eq(n.event_id.as_str()))
            .exec(&txn)
            .await?;
        let delivery_id = log::record_verified(
            &txn,
            &n,
            outcome.as_str(),
            detail.as_deref(),
            status_of(outcome, detail.as_deref()),
            replay_of,
        )
        .await?;
        txn.commit().await?;
        tracing::info!(event_id = %n.event_id, event_type = %n.event_type, outcome = outcome.as_str(), "payment notification processed");
        count_webhook(n.scheme, outcome.as_str());

        if stock_released {
            self.store.catalog().stock_changed().await;
        }
        for message in messages {
            live::publish(
                self.store,
                &Envelope::Message {
                    message,
                    received_at_ms: Some(received_at_ms),
                },
            )
            .await;
        }
        Ok(Processed {
            outcome,
            detail,
            duplicate: false,
            delivery_id,
            first_recorded_at: None,
        })
    }

    /// The order event one new notification causes, inside the event's transaction.
    async fn apply(&self, txn: &impl ConnectionTrait, n: &Notification) -> Result<Effects> {
        if let Some((outcome, why)) = &n.refused {
            return Ok(Effects::recorded(*outcome, Some(why.clone())));
        }
        let Some(kind) = n.kind else {
            return Ok(Effects::recorded(
                Outcome::Ignored,
                Some(format!("event type {} is not handled", n.event_type)),
            ));
        };
        let Some(order_id) = n.order_id else {
            return Ok(Effects::recorded(
                Outcome::Malformed,
                Some("no order id".to_owned()),
            ));
        };
        let Some(order) = orders::Entity::find_by_id(order_id).one(txn).await? else {
            return Ok(Effects::recorded(
                Outcome::UnknownOrder,
                Some(format!("no order {order_id}")),
            ));
        };
        if kind == Kind::Refunded {
            return self.apply_refund(txn, n, &order).await;
        }
        if let Some(mismatch) = mismatch(&order, n, true) {
            tracing::warn!(%order_id, %mismatch, "payment notification does not match its order");
            return Ok(Effects::recorded(Outcome::AmountMismatch, Some(mismatch)));
        }
        let (event, reason) = match kind {
            Kind::Paid => (Event::PaymentConfirmed, None),
            Kind::Failed => (
                Event::PaymentDeclined,
                Some(decline_reason(n.reason.as_deref())),
            ),
            Kind::Canceled => (Event::Canceled, None),
            Kind::Refunded => unreachable!("refunds are applied by apply_refund"),
        };
        let note = Note {
            reason,
            transaction_id: n
                .transaction_id
                .as_deref()
                .filter(|_| kind != Kind::Canceled),
            detail: None,
        };
        let applied = lifecycle::transition_from(txn, order, event, note).await?;
        let mut messages: Vec<LiveMessage> = applied
            .message
            .clone()
            .into_iter()
            .chain(applied.gift.clone())
            .collect();
        let (outcome, detail) = match applied.decision {
            Decision::Move(_) => (
                Outcome::Applied,
                n.reason
                    .as_deref()
                    .filter(|_| kind == Kind::Failed)
                    .map(|r| format!("provider reason: {r}")),
            ),
            Decision::Defer => (
                Outcome::Deferred,
                Some(
                    "refund arrived before its payment; applied when the payment lands".to_owned(),
                ),
            ),
            Decision::LatePayment => (
                Outcome::LatePayment,
                Some(format!(
                    "payment arrived for an order that is {}; refund it at the provider",
                    api_types::OrderStatus::from(applied.order.status).as_str()
                )),
            ),
            Decision::Unchanged => (
                Outcome::NoOp,
                (kind != Kind::Paid).then(|| {
                    format!(
                        "order is already {}",
                        api_types::OrderStatus::from(applied.order.status).as_str()
                    )
                }),
            ),
        };
        // Every payment looks for parked refunds, not only those whose order says one waits:
        // a replica of the previous release parks them without setting `refund_deferred`.
        if applied.decision == Decision::Move(lifecycle::Status::Paid) {
            messages.extend(self.apply_deferred_refunds(txn, order_id).await?);
        }
        Ok(Effects {
            outcome,
            detail,
            messages,
            stock_released: applied.stock_released,
        })
    }

    /// A `payment.refunded`: completes the refund the store asked for (named by `refund_id`),
    /// or records one the provider made unasked (a chargeback; an amount equal to the whole
    /// order means everything left), then moves the order through `lifecycle::refund`. A
    /// refund already completed, under this or another event id, changes nothing.
    async fn apply_refund(
        &self,
        txn: &impl ConnectionTrait,
        n: &Notification,
        order: &orders::Model,
    ) -> Result<Effects> {
        if let Some(mismatch) = mismatch(order, n, false) {
            tracing::warn!(order_id = %order.id, %mismatch, "refund notification does not match its order");
            return Ok(Effects::recorded(Outcome::AmountMismatch, Some(mismatch)));
        }
        let amount = n.amount_cents.unwrap_or_default();
        if amount <= 0 {
            return Ok(Effects::recorded(
                Outcome::Invalid,
                Some("a refund's amount_cents must be positive".to_owned()),
            ));
        }
        if amount > order.amount_cents {
            return Ok(Effects::recorded(
                Outcome::AmountMismatch,
                Some(format!(
                    "a refund of {amount} is more than the {} paid",
                    order.amount_cents
                )),
            ));
        }
        let asked = match n.refund_id {
            Some(id) => {
                refunds::Entity::find_by_id(id)
                    .filter(refunds::Column::OrderId.eq(order.id))
                    .one(txn)
                    .await?
            }
            None => None,
        };
        let reason;
        let (refund_id, reserved, line_ids, amount) = match &asked {
            Some(refund) => {
                if refund.amount_cents != amount {
                    return Ok(Effects::recorded(
                        Outcome::AmountMismatch,
                        Some(format!(
                            "refund {} was asked for {}, the provider reports {amount}",
                            refund.id, refund.amount_cents
                        )),
                    ));
                }
                if !order_refunds::claim(txn, refund).await? {
                    return Ok(Effects::recorded(
                        Outcome::NoOp,
                        Some(format!("refund {} is already applied", refund.id)),
                    ));
                }
                reason = match &refund.reason {
                    Some(r) => format!("refunded {}: {r}", money(amount, &order.currency)),
                    None => format!("refunded {}", money(amount, &order.currency)),
                };
                let reserved = if refund.status == RefundStatus::Pending {
                    amount
                } else {
                    0
                };
                (
                    refund.id,
                    reserved,
                    items::ids_from_column(&refund.line_ids),
                    amount,
                )
            }
            None => {
                if order.status == lifecycle::Status::Pending {
                    // Parked on the order's row, which a payment landing at this moment also
                    // updates: whichever comes second waits for the first to commit, so the
                    // payment then finds this refund parked and applies it, or this finds the
                    // order no longer pending.
                    let parked = orders::Entity::update_many()
                        .col_expr(orders::Column::RefundDeferred, Expr::value(true))
                        .filter(orders::Column::Id.eq(order.id))
                        .filter(orders::Column::Status.eq(lifecycle::Status::Pending))
                        .exec(txn)
                        .await?
                        .rows_affected
                        == 1;
                    if parked {
                        return Ok(Effects::recorded(
                            Outcome::Deferred,
                            Some(
                                "refund arrived before its payment; applied when the payment lands"
                                    .to_owned(),
                            ),
                        ));
                    }
                    // The payment landed meanwhile: the refund applies to the order as it is.
                    let now = orders::Entity::find_by_id(order.id)
                        .one(txn)
                        .await?
                        .ok_or(Error::NotFound("order"))?;
                    if now.status == lifecycle::Status::Pending {
                        return Err(Error::internal("a pending order could not be updated"));
                    }
                    return Box::pin(self.apply_refund(txn, n, &now)).await;
                }
                // A whole-order refund after part was already given back: everything left.
                let amount = if amount == order.amount_cents {
                    order.amount_cents - order.refunded_cents
                } else {
                    amount
                };
                let id = n
                    .refund_id
                    .unwrap_or_else(|| order_refunds::unasked_refund_id(&n.event_id));
                if amount <= 0
                    || !order_refunds::record_unasked(txn, id, order, amount, n.reason.as_deref())
                        .await?
                {
                    return Ok(Effects::recorded(
                        Outcome::NoOp,
                        Some("this refund is already applied".to_owned()),
                    ));
                }
                reason = format!(
                    "refunded {} by the payment provider",
                    money(amount, &order.currency)
                );
                (id, 0, vec![], amount)
            }
        };
        let applied = lifecycle::refund(
            txn,
            order.id,
            Refunding {
                amount_cents: amount,
                reserved_cents: reserved,
                line_ids: &line_ids,
                reason: &reason,
            },
        )
        .await;
        let applied = match applied {
            Ok(applied) => applied,
            Err(e) if e.code() == "REFUND_EXCEEDS_CAPTURED" => {
                // Nothing moved. An unasked refund is not kept; one the store asked for stays
                // as it was (only a provider that refused it and paid it anyway, after its
                // lines went to another refund, gets here), and the event says why.
                match &asked {
                    Some(refund) => {
                        refunds::Entity::update_many()
                            .col_expr(refunds::Column::Status, Expr::value(refund.status))
                            .col_expr(
                                refunds::Column::CompletedAt,
                                Expr::value(refund.completed_at),
                            )
                            .filter(refunds::Column::Id.eq(refund_id))
                            .exec(txn)
                            .await?;
                    }
                    None => {
                        refunds::Entity::delete_by_id(refund_id).exec(txn).await?;
                    }
                }
                return Ok(Effects::recorded(
                    Outcome::AmountMismatch,
                    Some(e.to_string()),
                ));
            }
            Err(e) => return Err(e),
        };
        Ok(match applied.decision {
            Decision::Move(to) => Effects {
                outcome: Outcome::Applied,
                detail: (to == lifecycle::Status::PartiallyRefunded && line_ids.is_empty())
                    .then(|| "a partial refund by amount: nothing was revoked".to_owned()),
                messages: applied.message.into_iter().collect(),
                stock_released: false,
            },
            _ => Effects::recorded(
                Outcome::NoOp,
                Some(format!(
                    "order is already {}",
                    api_types::OrderStatus::from(applied.order.status).as_str()
                )),
            ),
        })
    }

    /// Applies refunds that arrived before the payment, now that it has landed: each parked
    /// notification is read again from its stored body and applied as if it arrived now.
    async fn apply_deferred_refunds(
        &self,
        txn: &impl ConnectionTrait,
        order_id: Uuid,
    ) -> Result<Vec<LiveMessage>> {
        let deferred = payment_events::Entity::find()
            .filter(payment_events::Column::OrderId.eq(order_id))
            .filter(payment_events::Column::Outcome.eq(Outcome::Deferred))
            .order_by_asc(payment_events::Column::Id)
            .all(txn)
            .await?;
        let mut messages = vec![];
        for event in deferred {
            let n = match event.scheme.as_str() {
                "xsolla" => match parse_xsolla(event.payload.as_bytes()) {
                    Ok(n) => n,
                    Err(_) => continue,
                },
                _ => parse_standard(&event.event_id, event.payload.as_bytes()),
            };
            let Some(order) = orders::Entity::find_by_id(order_id).one(txn).await? else {
                break;
            };
            let effects = self.apply_refund(txn, &n, &order).await?;
            payment_events::Entity::update_many()
                .col_expr(
                    payment_events::Column::Outcome,
                    Expr::value(effects.outcome),
                )
                .col_expr(
                    payment_events::Column::Detail,
                    Expr::value(
                        effects
                            .detail
                            .as_deref()
                            .map(|d| {
                                storable(&format!("applied when the payment landed: {d}"), 1000)
                            })
                            .or(Some("applied when the payment landed".to_owned())),
                    ),
                )
                .col_expr(payment_events::Column::ProcessedAt, Expr::value(Utc::now()))
                .filter(payment_events::Column::Id.eq(event.id))
                .exec(txn)
                .await?;
            messages.extend(effects.messages);
        }
        Ok(messages)
    }

    /// Every recorded event of one order, oldest first (operators).
    pub async fn events_for(&self, order_id: Uuid) -> Result<Vec<api_types::PaymentEvent>> {
        Ok(payment_events::Entity::find()
            .filter(payment_events::Column::OrderId.eq(order_id))
            .order_by_asc(payment_events::Column::Id)
            .all(self.store.db())
            .await?
            .iter()
            .map(Into::into)
            .collect())
    }
}

/// An amount as people read it in a history line: `$5.00`.
fn money(cents: i64, currency: &str) -> String {
    api_types::format_money(cents, currency)
}

fn count_webhook(scheme: &'static str, outcome: &'static str) {
    metrics::counter!("gamestore_webhooks_total", "scheme" => scheme, "outcome" => outcome)
        .increment(1);
}

/// How a notification disagrees with its order: the amount (`compare_amount`: a payment
/// carries the order's total, a refund its own amount), the currency or the buyer.
fn mismatch(order: &orders::Model, n: &Notification, compare_amount: bool) -> Option<String> {
    if let Some(amount) = n.amount_cents
        && compare_amount
        && amount != order.amount_cents
    {
        return Some(format!(
            "amount {amount} does not match the order's {}",
            order.amount_cents
        ));
    }
    if let Some(currency) = &n.currency
        && !currency.eq_ignore_ascii_case(&order.currency)
    {
        return Some(format!(
            "currency {currency} does not match the order's {}",
            order.currency
        ));
    }
    if let Some(user) = n.user_id
        && user != order.user_id
    {
        return Some("user does not match the order's buyer".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;
    use api_types::OrderStatus;

    fn event(kind: &str, order: &api_types::Order) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": kind,
            "timestamp": "2026-12-02T00:00:00Z",
            "data": {
                "order_id": order.order_id,
                "transaction_id": "tx_unit",
                "amount_cents": order.amount_cents,
                "currency": order.currency,
                "user_id": order.user_id,
            }
        }))
        .expect("json")
    }

    async fn deliver(t: &testing::TestStore, id: &str, body: &[u8]) -> Result<Receipt> {
        let ts = Utc::now().timestamp();
        let signature = t.secret.sign(id, ts, body);
        let ts = ts.to_string();
        t.store
            .payments()
            .receive_standard(
                StandardDelivery {
                    id: Some(id),
                    timestamp: Some(&ts),
                    signature: Some(&signature),
                },
                body,
            )
            .await
    }

    #[tokio::test]
    async fn a_payment_is_applied_once_and_its_duplicate_is_acknowledged() {
        let t = testing::store().await;
        let buyer = t.customer("buyer").await;
        let order = t
            .store
            .orders()
            .purchase(&buyer, 1, None)
            .await
            .expect("placed")
            .order;
        let body = event("payment.succeeded", &order);
        let first = deliver(&t, "msg_1", &body).await.expect("applied");
        assert_eq!((first.outcome, first.duplicate), (Outcome::Applied, false));
        let again = deliver(&t, "msg_1", &body).await.expect("duplicate");
        assert_eq!((again.outcome, again.duplicate), (Outcome::Applied, true));
        let other_copy = deliver(&t, "msg_2", &body).await.expect("no-op");
        assert_eq!(other_copy.outcome, Outcome::NoOp);
        let paid = t
            .store
            .orders()
            .get(&buyer, order.order_id)
            .await
            .expect("order");
        assert_eq!(paid.status, OrderStatus::Paid);
        assert_eq!(paid.provider_transaction_id.as_deref(), Some("tx_unit"));
        assert_eq!(paid.history.map(|h| h.len()), Some(2));
    }

    #[tokio::test]
    async fn a_refund_before_its_payment_waits_for_it() {
        let t = testing::store().await;
        let buyer = t.customer("buyer").await;
        let order = t
            .store
            .orders()
            .purchase(&buyer, 1, None)
            .await
            .expect("placed")
            .order;
        let refund = deliver(&t, "msg_r", &event("payment.refunded", &order))
            .await
            .expect("deferred");
        assert_eq!(refund.outcome, Outcome::Deferred);
        deliver(&t, "msg_p", &event("payment.succeeded", &order))
            .await
            .expect("applied");
        let done = t
            .store
            .orders()
            .get(&buyer, order.order_id)
            .await
            .expect("order");
        assert_eq!(done.status, OrderStatus::Refunded);
    }

    #[tokio::test]
    async fn mismatches_unknown_orders_and_reused_ids_are_refused_and_recorded() {
        let t = testing::store().await;
        let buyer = t.customer("buyer").await;
        let order = t
            .store
            .orders()
            .purchase(&buyer, 1, None)
            .await
            .expect("placed")
            .order;
        let mut wrong = order.clone();
        wrong.amount_cents += 1;
        let refused = deliver(&t, "msg_a", &event("payment.succeeded", &wrong)).await;
        assert_eq!(refused.err().map(|e| e.code()), Some("AMOUNT_MISMATCH"));
        let mut unknown = order.clone();
        unknown.order_id = Uuid::new_v4();
        let refused = deliver(&t, "msg_u", &event("payment.succeeded", &unknown)).await;
        assert_eq!(refused.err().map(|e| e.code()), Some("UNKNOWN_ORDER"));
        deliver(&t, "msg_ok", &event("payment.succeeded", &order))
            .await
            .expect("applied");
        let reused = deliver(&t, "msg_ok", &event("payment.failed", &order)).await;
        assert_eq!(reused.err().map(|e| e.code()), Some("WEBHOOK_ID_REUSED"));
        let outcomes: Vec<String> = t
            .store
            .payments()
            .events_for(order.order_id)
            .await
            .expect("events")
            .into_iter()
            .map(|e| e.outcome)
            .collect();
        assert_eq!(outcomes, vec!["amount_mismatch", "applied", "id_reused"]);
    }
}
