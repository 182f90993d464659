//! Payment notifications from the provider: verification, exactly-once recording, and the
//! order events they cause (applied through `orders::lifecycle`).
//!
//! Processing a notification is one transaction: insert the event keyed by its provider id
//! (`ON CONFLICT DO NOTHING`), apply the order event, record the outcome, commit. Only then is
//! the buyer notified. A duplicate finds its event already recorded and gets the original
//! answer; a refund that overtakes its payment is parked (`deferred`) and applied the moment the
//! payment lands.

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
use crate::entity::{orders, payment_events};
use crate::live::{self, Envelope};
use crate::orders::lifecycle::{self, Decision, Event, Note};
use crate::{Error, Result, Store};
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

    /// A Standard Webhooks delivery: verify over the raw bytes, then process.
    pub async fn receive_standard(
        &self,
        headers: StandardDelivery<'_>,
        body: &[u8],
    ) -> Result<Receipt> {
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
        self.process(parse_standard(id, body)).await
    }

    /// An Xsolla-style delivery (`Authorization: Signature <sha1>`), when enabled.
    pub async fn receive_xsolla(
        &self,
        authorization: Option<&str>,
        body: &[u8],
    ) -> Result<Receipt> {
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
        let notification = parse_xsolla(body).map_err(Error::BadRequest)?;
        self.process(notification).await
    }

    async fn process(&self, n: Notification) -> Result<Receipt> {
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
                txn.commit().await?;
                tracing::warn!(event_id = %n.event_id, "webhook id reused with a different payload");
                count_webhook(n.scheme, Outcome::IdReused.as_str());
                return Err(Error::conflict("WEBHOOK_ID_REUSED", detail));
            }
            txn.commit().await?;
            tracing::info!(event_id = %n.event_id, outcome = original.outcome.as_str(), "duplicate payment notification");
            count_webhook(n.scheme, "duplicate");
            let outcome = answer(original.outcome, original.detail.as_deref())?;
            return Ok(Receipt {
                outcome,
                duplicate: true,
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
        let outcome = answer(outcome, detail.as_deref())?;
        Ok(Receipt {
            outcome,
            duplicate: false,
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
        if let Some(mismatch) = mismatch(&order, n) {
            tracing::warn!(%order_id, %mismatch, "payment notification does not match its order");
            return Ok(Effects::recorded(Outcome::AmountMismatch, Some(mismatch)));
        }
        let (event, reason) = match kind {
            Kind::Paid => (Event::PaymentConfirmed, None),
            Kind::Failed => (
                Event::PaymentDeclined,
                Some(decline_reason(n.reason.as_deref())),
            ),
            Kind::Refunded => (Event::ProviderRefund, None),
            Kind::Canceled => (Event::Canceled, None),
        };
        let note = Note {
            reason,
            transaction_id: n
                .transaction_id
                .as_deref()
                .filter(|_| kind != Kind::Refunded),
            detail: None,
        };
        let applied = lifecycle::transition(txn, order_id, event, note).await?;
        let mut messages: Vec<LiveMessage> = applied.message.clone().into_iter().collect();
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
            Decision::Unchanged | Decision::Refuse => (
                Outcome::NoOp,
                (kind != Kind::Paid).then(|| {
                    format!(
                        "order is already {}",
                        api_types::OrderStatus::from(applied.order.status).as_str()
                    )
                }),
            ),
        };
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

    /// Applies refunds that arrived before the payment, now that it has landed.
    async fn apply_deferred_refunds(
        &self,
        txn: &impl ConnectionTrait,
        order_id: Uuid,
    ) -> Result<Option<LiveMessage>> {
        let deferred = payment_events::Entity::find()
            .filter(payment_events::Column::OrderId.eq(order_id))
            .filter(payment_events::Column::Outcome.eq(Outcome::Deferred))
            .all(txn)
            .await?;
        if deferred.is_empty() {
            return Ok(None);
        }
        let applied = lifecycle::transition(
            txn,
            order_id,
            Event::ProviderRefund,
            Note {
                reason: Some("refund received before its payment"),
                ..Note::default()
            },
        )
        .await?;
        payment_events::Entity::update_many()
            .col_expr(
                payment_events::Column::Outcome,
                Expr::value(Outcome::Applied),
            )
            .col_expr(payment_events::Column::ProcessedAt, Expr::value(Utc::now()))
            .filter(payment_events::Column::Id.is_in(deferred.iter().map(|e| e.id)))
            .exec(txn)
            .await?;
        Ok(applied.message)
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

fn count_webhook(scheme: &'static str, outcome: &'static str) {
    metrics::counter!("gamestore_webhooks_total", "scheme" => scheme, "outcome" => outcome)
        .increment(1);
}

fn mismatch(order: &orders::Model, n: &Notification) -> Option<String> {
    if let Some(amount) = n.amount_cents
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
