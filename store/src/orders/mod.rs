//! Orders: purchases (idempotent), what shoppers and operators read about them, the library,
//! expiry and operator refunds. Every change of state goes through [`lifecycle`].

pub mod lifecycle;
pub mod views;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, EntityTrait as _, LoaderTrait as _, ModelTrait as _,
    QueryFilter as _, QueryOrder as _, QuerySelect as _, Set, SqlErr,
};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use api_types::{AdminOrder, IntentItem, LibraryEntry, Order, OrderStatus, PaymentIntent};

use crate::accounts::CurrentUser;
use crate::catalog::to_item;
use crate::domain::IdempotencyKey;
use crate::entity::{
    Status, items, order_status_history as history, orders, payment_events, users,
};
use crate::live::{self, Envelope};
use crate::{Error, Result, Store};
use lifecycle::{Decision, Event, Note};

/// The result of `POST /api/purchases`: the order, and whether it already existed (a replay of
/// the same `Idempotency-Key`).
#[derive(Debug, Clone)]
pub struct Purchase {
    pub order: Order,
    pub replayed: bool,
}

pub struct Orders<'a> {
    store: &'a Store,
}

impl<'a> Orders<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Creates a pending order for one item and registers its payment intent with the provider.
    /// With an `Idempotency-Key`, the same key and body return the same order; the same key with
    /// another body is refused. An intent the provider does not take fails the order at once.
    pub async fn purchase(
        &self,
        buyer: &CurrentUser,
        item_id: i64,
        idempotency_key: Option<&str>,
    ) -> Result<Purchase> {
        let key = idempotency_key.map(IdempotencyKey::parse).transpose()?;
        let fingerprint = hex::encode(Sha256::digest(format!("item:{item_id}")));
        if let Some(key) = &key
            && let Some(existing) = self.by_key(buyer.id(), key, &fingerprint).await?
        {
            return Ok(existing);
        }

        let item = items::Entity::find_by_id(item_id)
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("item"))?;
        if !item.active {
            return Err(Error::conflict(
                "ITEM_UNAVAILABLE",
                "this item is no longer sold",
            ));
        }
        if !item.consumable && self.owns(buyer.id(), item.id).await? {
            return Err(Error::conflict(
                "ALREADY_OWNED",
                "you already own this item",
            ));
        }

        let now = Utc::now();
        let txn = crate::db::begin_write(self.store.db()).await?;
        let inserted = orders::ActiveModel {
            id: Set(Uuid::new_v4()),
            user_id: Set(buyer.id()),
            item_id: Set(item.id),
            amount_cents: Set(item.price_cents),
            currency: Set(item.currency.clone()),
            status: Set(Status::Pending),
            idempotency_key: Set(key.as_ref().map(|k| k.as_str().to_owned())),
            request_fingerprint: Set(key.as_ref().map(|_| fingerprint.clone())),
            provider_transaction_id: Set(None),
            failure_reason: Set(None),
            failure_detail: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&txn)
        .await;
        let row = match inserted {
            Ok(row) => row,
            Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                // A concurrent request with the same key won the race: answer with its order.
                drop(txn);
                if let Some(key) = &key
                    && let Some(existing) = self.by_key(buyer.id(), key, &fingerprint).await?
                {
                    return Ok(existing);
                }
                return Err(Error::conflict(
                    "CONFLICT",
                    "the order could not be created; retry",
                ));
            }
            Err(e) => return Err(e.into()),
        };
        lifecycle::record_placed(&txn, row.id).await?;
        txn.commit().await?;

        let intent = PaymentIntent {
            order_id: row.id,
            user_id: buyer.id(),
            amount_cents: row.amount_cents,
            currency: row.currency.clone(),
            items: vec![IntentItem {
                item_id: item.id,
                sku: item.sku.clone(),
                name: item.name.clone(),
                amount_cents: row.amount_cents,
            }],
            callback_url: self.store.settings().callback_url(),
        };
        if let Err(detail) = self.store.provider().register_intent(&intent).await {
            tracing::error!(order_id = %row.id, %detail, "payment intent not registered");
            self.apply(
                row.id,
                Event::ProviderUnreachable,
                Note {
                    detail: Some(&detail.0),
                    ..Note::default()
                },
            )
            .await?;
            return Err(Error::Unavailable {
                code: "PAYMENT_PROVIDER_UNAVAILABLE",
                message: format!(
                    "the payment provider could not be reached; order {} was marked failed",
                    row.id
                ),
            });
        }
        Ok(Purchase {
            order: views::to_order(&row, &item, None),
            replayed: false,
        })
    }

    /// Applies one event in a transaction of its own and, once committed, tells the buyer.
    async fn apply(
        &self,
        order_id: Uuid,
        event: Event,
        note: Note<'_>,
    ) -> Result<lifecycle::Applied> {
        let txn = crate::db::begin_write(self.store.db()).await?;
        let applied = lifecycle::transition(&txn, order_id, event, note).await?;
        txn.commit().await?;
        if let Some(message) = &applied.message {
            live::publish(self.store, &Envelope::message(message.clone())).await;
        }
        Ok(applied)
    }

    async fn by_key(
        &self,
        user_id: Uuid,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Option<Purchase>> {
        let Some((row, item)) = orders::Entity::find()
            .filter(orders::Column::UserId.eq(user_id))
            .filter(orders::Column::IdempotencyKey.eq(key.as_str()))
            .find_also_related(items::Entity)
            .one(self.store.db())
            .await?
        else {
            return Ok(None);
        };
        if row.request_fingerprint.as_deref() != Some(fingerprint) {
            return Err(Error::unprocessable(
                "IDEMPOTENCY_KEY_REUSED",
                "this Idempotency-Key was already used for a different request",
            ));
        }
        let item = item.ok_or_else(|| missing_item(&row))?;
        Ok(Some(Purchase {
            order: views::to_order(&row, &item, None),
            replayed: true,
        }))
    }

    async fn owns(&self, user_id: Uuid, item_id: i64) -> Result<bool> {
        let paid = orders::Entity::find()
            .filter(orders::Column::UserId.eq(user_id))
            .filter(orders::Column::ItemId.eq(item_id))
            .filter(orders::Column::Status.eq(Status::Paid))
            .one(self.store.db())
            .await?;
        Ok(paid.is_some())
    }

    /// Orders with the item each is for.
    async fn with_items(&self, rows: Vec<orders::Model>) -> Result<Vec<Order>> {
        let items = rows.load_one(items::Entity, self.store.db()).await?;
        rows.iter()
            .zip(items)
            .map(|(row, item)| {
                let item = item.ok_or_else(|| missing_item(row))?;
                Ok(views::to_order(row, &item, None))
            })
            .collect()
    }

    /// A user's orders, newest first.
    pub async fn list_for(&self, user_id: Uuid) -> Result<Vec<Order>> {
        let rows = orders::Entity::find()
            .filter(orders::Column::UserId.eq(user_id))
            .order_by_desc(orders::Column::CreatedAt)
            .order_by_desc(orders::Column::Id)
            .limit(500)
            .all(self.store.db())
            .await?;
        self.with_items(rows).await
    }

    /// Whose orders `viewer` may list: their own, or anyone's for an operator.
    pub async fn list_visible(
        &self,
        viewer: &CurrentUser,
        user_id: Option<Uuid>,
    ) -> Result<Vec<Order>> {
        let target = user_id.unwrap_or(viewer.id());
        if target != viewer.id() && !viewer.is_admin() {
            return Err(Error::forbidden("you can only see your own orders"));
        }
        self.list_for(target).await
    }

    /// One order with its status history, for its owner or an operator. Other users get a 404,
    /// so order ids reveal nothing.
    pub async fn get(&self, viewer: &CurrentUser, order_id: Uuid) -> Result<Order> {
        let (row, item) = orders::Entity::find_by_id(order_id)
            .find_also_related(items::Entity)
            .one(self.store.db())
            .await?
            .filter(|(row, _)| row.user_id == viewer.id() || viewer.is_admin())
            .ok_or(Error::NotFound("order"))?;
        let item = item.ok_or_else(|| missing_item(&row))?;
        let history = row
            .find_related(history::Entity)
            .order_by_asc(history::Column::Id)
            .all(self.store.db())
            .await?
            .iter()
            .map(views::to_change)
            .collect();
        Ok(views::to_order(&row, &item, Some(history)))
    }

    /// Owned items: one entry per item from paid orders; consumables count each purchase.
    pub async fn library(&self, user_id: Uuid) -> Result<Vec<LibraryEntry>> {
        let paid = orders::Entity::find()
            .filter(orders::Column::UserId.eq(user_id))
            .filter(orders::Column::Status.eq(Status::Paid))
            .find_also_related(items::Entity)
            .all(self.store.db())
            .await?;
        let mut owned: BTreeMap<i64, (items::Model, u32, DateTime<Utc>)> = BTreeMap::new();
        for (order, item) in paid {
            let Some(item) = item else { continue };
            let entry = owned
                .entry(item.id)
                .or_insert_with(|| (item, 0, order.updated_at));
            entry.1 += 1;
            entry.2 = entry.2.max(order.updated_at);
        }
        let mut library: Vec<LibraryEntry> = owned
            .into_values()
            .map(|(item, count, acquired_at)| LibraryEntry {
                item: to_item(&item),
                count,
                acquired_at,
            })
            .collect();
        library.sort_by_key(|e| std::cmp::Reverse(e.acquired_at));
        Ok(library)
    }

    /// How many orders are in each state (for metrics).
    pub async fn count_by_status(&self) -> Result<Vec<(OrderStatus, i64)>> {
        let rows: Vec<(Status, i64)> = orders::Entity::find()
            .select_only()
            .column(orders::Column::Status)
            .column_as(orders::Column::Id.count(), "count")
            .group_by(orders::Column::Status)
            .into_tuple()
            .all(self.store.db())
            .await?;
        Ok(OrderStatus::ALL
            .into_iter()
            .map(|status| {
                let n = rows
                    .iter()
                    .find(|(s, _)| OrderStatus::from(*s) == status)
                    .map_or(0, |(_, n)| *n);
                (status, n)
            })
            .collect())
    }

    /// Operators' view: orders (optionally of one status), newest first, with buyer and events.
    pub async fn admin_list(
        &self,
        status: Option<OrderStatus>,
        limit: u64,
    ) -> Result<Vec<AdminOrder>> {
        let mut select = orders::Entity::find()
            .order_by_desc(orders::Column::CreatedAt)
            .order_by_desc(orders::Column::Id)
            .limit(limit.clamp(1, 500));
        if let Some(status) = status {
            select = select.filter(orders::Column::Status.eq(Status::from(status)));
        }
        let rows = select.all(self.store.db()).await?;
        let buyers = rows.load_one(users::Entity, self.store.db()).await?;
        let events = rows
            .load_many(
                payment_events::Entity::find().order_by_asc(payment_events::Column::Id),
                self.store.db(),
            )
            .await?;
        let details: Vec<Option<String>> = rows.iter().map(|r| r.failure_detail.clone()).collect();
        let orders = self.with_items(rows).await?;
        Ok(orders
            .into_iter()
            .zip(buyers)
            .zip(events)
            .zip(details)
            .map(|(((order, buyer), events), failure_detail)| AdminOrder {
                username: buyer.map(|b| b.username).unwrap_or_default(),
                events: events.iter().map(Into::into).collect(),
                failure_detail,
                order,
            })
            .collect())
    }

    /// An operator's refund of a paid order, through the same state machine as the provider's.
    pub async fn refund(
        &self,
        operator: &CurrentUser,
        order_id: Uuid,
        reason: Option<&str>,
    ) -> Result<Order> {
        operator.require_admin()?;
        if let Some(reason) = reason {
            crate::domain::check_text("reason", reason, false)?;
        }
        let note = match reason.map(str::trim).filter(|r| !r.is_empty()) {
            Some(r) if r.chars().count() > 500 => {
                return Err(Error::invalid(
                    "reason",
                    "reason must be at most 500 characters",
                ));
            }
            Some(r) => format!("refunded by {}: {r}", operator.user.username),
            None => format!("refunded by {}", operator.user.username),
        };
        let applied = self
            .apply(
                order_id,
                Event::OperatorRefund,
                Note {
                    reason: Some(&note),
                    ..Note::default()
                },
            )
            .await?;
        if applied.decision == Decision::Refuse {
            return Err(Error::conflict(
                "INVALID_TRANSITION",
                format!(
                    "only paid orders can be refunded; this one is {}",
                    OrderStatus::from(applied.order.status).as_str()
                ),
            ));
        }
        self.get(operator, order_id).await
    }

    /// Expires pending orders older than `ORDER_EXPIRY_SECS`.
    pub async fn expire_stale(&self) -> Result<usize> {
        let expiry = chrono::Duration::from_std(self.store.settings().order_expiry)
            .unwrap_or_else(|_| chrono::Duration::minutes(15));
        self.expire_placed_before(Utc::now() - expiry).await
    }

    /// Expires pending orders placed before `cutoff`. Safe on any number of replicas: each
    /// order moves once, by whichever conditional update lands first.
    pub async fn expire_placed_before(&self, cutoff: DateTime<Utc>) -> Result<usize> {
        let stale = orders::Entity::find()
            .select_only()
            .column(orders::Column::Id)
            .filter(orders::Column::Status.eq(Status::Pending))
            .filter(orders::Column::CreatedAt.lt(cutoff))
            .order_by_asc(orders::Column::CreatedAt)
            .limit(500)
            .into_tuple::<Uuid>()
            .all(self.store.db())
            .await?;
        let mut expired = 0;
        for order_id in stale {
            if self
                .apply(order_id, Event::Expired, Note::default())
                .await?
                .moved()
            {
                expired += 1;
            }
        }
        if expired > 0 {
            tracing::info!(expired, "expired stale pending orders");
        }
        Ok(expired)
    }
}

fn missing_item(row: &orders::Model) -> Error {
    Error::internal(format!(
        "order {} refers to a missing item {}",
        row.id, row.item_id
    ))
}

/// Runs the expiry sweep forever, every `interval`.
pub fn spawn_expiry_task(store: Store, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = store.orders().expire_stale().await {
                tracing::warn!(error = %e, "expiry sweep failed; will retry");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing;

    #[tokio::test]
    async fn a_purchase_registers_one_intent_for_its_item() {
        let t = testing::store().await;
        let buyer = t.customer("buyer").await;
        let purchase = t
            .store
            .orders()
            .purchase(&buyer, 1, None)
            .await
            .expect("placed");
        assert_eq!(purchase.order.status, OrderStatus::Pending);
        let intents = t.provider.intents.lock().expect("lock").clone();
        assert_eq!(intents.len(), 1);
        let intent = &intents[0];
        assert_eq!(intent.order_id, purchase.order.order_id);
        assert_eq!(intent.user_id, buyer.id());
        assert_eq!(intent.amount_cents, purchase.order.amount_cents);
        assert_eq!(intent.items.len(), 1);
        assert_eq!(intent.items[0].item_id, 1);
        assert!(intent.callback_url.ends_with("/api/webhooks/payment"));
    }

    #[tokio::test]
    async fn the_same_key_returns_the_same_order_without_a_second_intent() {
        let t = testing::store().await;
        let buyer = t.customer("buyer").await;
        let first = t
            .store
            .orders()
            .purchase(&buyer, 4, Some("k-1"))
            .await
            .expect("placed");
        let again = t
            .store
            .orders()
            .purchase(&buyer, 4, Some("k-1"))
            .await
            .expect("replayed");
        assert!(again.replayed && !first.replayed);
        assert_eq!(again.order.order_id, first.order.order_id);
        assert_eq!(t.provider.intents.lock().expect("lock").len(), 1);
        let other_body = t.store.orders().purchase(&buyer, 5, Some("k-1")).await;
        assert_eq!(
            other_body.err().map(|e| e.code()),
            Some("IDEMPOTENCY_KEY_REUSED")
        );
    }

    #[tokio::test]
    async fn a_provider_that_refuses_fails_the_order_with_a_stable_reason() {
        let t = testing::store().await;
        t.provider
            .failing
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let buyer = t.customer("buyer").await;
        let refused = t.store.orders().purchase(&buyer, 1, None).await;
        assert_eq!(refused.err().map(|e| e.status()), Some(503));
        let orders = t.store.orders().list_for(buyer.id()).await.expect("orders");
        assert_eq!(orders[0].status, OrderStatus::Failed);
        let reason = orders[0].failure_reason.clone().expect("reason");
        assert!(!reason.contains("10.0.0.1"), "{reason}");
        let admin = t
            .store
            .orders()
            .admin_list(None, 10)
            .await
            .expect("admin view");
        assert!(
            admin[0]
                .failure_detail
                .as_deref()
                .is_some_and(|d| d.contains("10.0.0.1"))
        );
    }

    #[tokio::test]
    async fn expiry_moves_only_orders_placed_before_the_cutoff() {
        let t = testing::store().await;
        let buyer = t.customer("buyer").await;
        let order = t
            .store
            .orders()
            .purchase(&buyer, 4, None)
            .await
            .expect("placed")
            .order;
        let orders = t.store.orders();
        assert_eq!(
            orders
                .expire_placed_before(order.created_at)
                .await
                .expect("sweep"),
            0
        );
        let later = order.created_at + chrono::Duration::seconds(1);
        assert_eq!(orders.expire_placed_before(later).await.expect("sweep"), 1);
        assert_eq!(orders.expire_placed_before(later).await.expect("sweep"), 0);
        let expired = orders.get(&buyer, order.order_id).await.expect("order");
        assert_eq!(expired.status, OrderStatus::Expired);
    }

    #[tokio::test]
    async fn operators_refund_only_paid_orders() {
        let t = testing::store().await;
        let buyer = t.customer("buyer").await;
        let mut operator = t.customer("operator").await;
        operator.user.role = api_types::Role::Admin;
        let order = t
            .store
            .orders()
            .purchase(&buyer, 1, None)
            .await
            .expect("placed")
            .order;
        let refused = t
            .store
            .orders()
            .refund(&operator, order.order_id, None)
            .await;
        assert_eq!(refused.err().map(|e| e.code()), Some("INVALID_TRANSITION"));
        let customer_refund = t.store.orders().refund(&buyer, order.order_id, None).await;
        assert_eq!(customer_refund.err().map(|e| e.status()), Some(403));
    }
}
