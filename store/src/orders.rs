//! Orders: purchases (idempotent), the order state machine, history, the library, expiry and
//! operator refunds.
//!
//! States: `pending → paid | failed | expired`, `paid → refunded`. Every transition is one
//! conditional update (`… WHERE status = <from>`) in the same transaction as its history row, so
//! racing actors (duplicate webhooks, the expiry sweep, an operator) can never both win.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, Set, SqlErr,
};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use api_types::{
    AdminOrder, LibraryEntry, LiveItem, LiveMessage, Order, OrderItem, OrderStatus, StatusChange,
};

use crate::accounts::CurrentUser;
use crate::catalog::to_item;
use crate::domain::IdempotencyKey;
use crate::entity::{items, order_status_history as history, orders, payment_events, users};
use crate::live::{self, Envelope};
use crate::payments;
use crate::{Error, Result, Store};

/// What a shopper is told when the payment provider could not take the payment.
const PROVIDER_UNREACHABLE: &str =
    "The payment provider could not be reached. You have not been charged.";

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
    /// another body is refused.
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
        let order_id = Uuid::new_v4();
        let txn = crate::db::begin_write(self.store.db()).await?;
        let inserted = orders::ActiveModel {
            id: Set(order_id),
            user_id: Set(buyer.id()),
            item_id: Set(item.id),
            amount_cents: Set(item.price_cents),
            currency: Set(item.currency.clone()),
            status: Set(OrderStatus::Pending.as_str().to_owned()),
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
        record_history(
            &txn,
            order_id,
            None,
            OrderStatus::Pending,
            Some("order placed"),
        )
        .await?;
        txn.commit().await?;

        let intent = paysim::PaymentIntent {
            order_id,
            user_id: buyer.id(),
            amount_cents: row.amount_cents,
            currency: row.currency.clone(),
            items: vec![paysim::IntentItem {
                item_id: item.id,
                sku: item.sku.clone(),
                name: item.name.clone(),
                amount_cents: row.amount_cents,
            }],
            callback_url: self.store.settings().callback_url(),
        };
        if let Err(detail) = self.store.provider().register(&intent).await {
            tracing::error!(%order_id, %detail, "payment intent not registered");
            self.fail_unregistered(&row, &item, &detail).await?;
            return Err(Error::Unavailable {
                code: "PAYMENT_PROVIDER_UNAVAILABLE",
                message: format!(
                    "the payment provider could not be reached; order {order_id} was marked failed"
                ),
            });
        }
        Ok(Purchase {
            order: to_order(&row, &item, None),
            replayed: false,
        })
    }

    /// Fails an order whose intent the provider never took. The shopper sees a stable reason;
    /// what went wrong (`detail`, which may name the provider's URL) is kept for operators.
    async fn fail_unregistered(
        &self,
        row: &orders::Model,
        item: &items::Model,
        detail: &str,
    ) -> Result<()> {
        let txn = crate::db::begin_write(self.store.db()).await?;
        let moved = transition(
            &txn,
            row.id,
            OrderStatus::Pending,
            OrderStatus::Failed,
            Some(PROVIDER_UNREACHABLE),
            None,
        )
        .await?;
        if moved {
            orders::Entity::update_many()
                .col_expr(
                    orders::Column::FailureDetail,
                    Expr::value(detail.chars().take(1000).collect::<String>()),
                )
                .filter(orders::Column::Id.eq(row.id))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        if moved {
            live::publish(
                self.store,
                &Envelope::message(LiveMessage::PurchaseFailed {
                    order_id: row.id,
                    user_id: row.user_id,
                    items: vec![live_item(item)],
                    reason: Some(PROVIDER_UNREACHABLE.to_owned()),
                }),
            )
            .await;
        }
        Ok(())
    }

    async fn by_key(
        &self,
        user_id: Uuid,
        key: &IdempotencyKey,
        fingerprint: &str,
    ) -> Result<Option<Purchase>> {
        let Some(row) = orders::Entity::find()
            .filter(orders::Column::UserId.eq(user_id))
            .filter(orders::Column::IdempotencyKey.eq(key.as_str()))
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
        let item = self.item_row(row.item_id).await?;
        Ok(Some(Purchase {
            order: to_order(&row, &item, None),
            replayed: true,
        }))
    }

    async fn owns(&self, user_id: Uuid, item_id: i64) -> Result<bool> {
        let paid = orders::Entity::find()
            .filter(orders::Column::UserId.eq(user_id))
            .filter(orders::Column::ItemId.eq(item_id))
            .filter(orders::Column::Status.eq(OrderStatus::Paid.as_str()))
            .one(self.store.db())
            .await?;
        Ok(paid.is_some())
    }

    async fn item_row(&self, id: i64) -> Result<items::Model> {
        items::Entity::find_by_id(id)
            .one(self.store.db())
            .await?
            .ok_or_else(|| Error::internal(format!("order refers to missing item {id}")))
    }

    async fn items_by_id(
        &self,
        ids: impl IntoIterator<Item = i64>,
    ) -> Result<HashMap<i64, items::Model>> {
        let mut ids: Vec<i64> = ids.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(items::Entity::find()
            .filter(items::Column::Id.is_in(ids))
            .all(self.store.db())
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect())
    }

    async fn with_items(&self, rows: Vec<orders::Model>) -> Result<Vec<Order>> {
        let items = self.items_by_id(rows.iter().map(|r| r.item_id)).await?;
        rows.iter()
            .map(|row| {
                let item = items.get(&row.item_id).ok_or_else(|| {
                    Error::internal(format!("order refers to missing item {}", row.item_id))
                })?;
                Ok(to_order(row, item, None))
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
        let row = orders::Entity::find_by_id(order_id)
            .one(self.store.db())
            .await?
            .filter(|row| row.user_id == viewer.id() || viewer.is_admin())
            .ok_or(Error::NotFound("order"))?;
        let item = self.item_row(row.item_id).await?;
        let history = history::Entity::find()
            .filter(history::Column::OrderId.eq(order_id))
            .order_by_asc(history::Column::Id)
            .all(self.store.db())
            .await?
            .iter()
            .map(to_change)
            .collect();
        Ok(to_order(&row, &item, Some(history)))
    }

    /// Owned items: one entry per item from paid orders; consumables count each purchase.
    pub async fn library(&self, user_id: Uuid) -> Result<Vec<LibraryEntry>> {
        let paid = orders::Entity::find()
            .filter(orders::Column::UserId.eq(user_id))
            .filter(orders::Column::Status.eq(OrderStatus::Paid.as_str()))
            .order_by_asc(orders::Column::UpdatedAt)
            .all(self.store.db())
            .await?;
        let mut owned: BTreeMap<i64, (u32, chrono::DateTime<Utc>)> = BTreeMap::new();
        for order in &paid {
            let entry = owned.entry(order.item_id).or_insert((0, order.updated_at));
            entry.0 += 1;
            entry.1 = entry.1.max(order.updated_at);
        }
        let items = self.items_by_id(owned.keys().copied()).await?;
        let mut library: Vec<LibraryEntry> = owned
            .into_iter()
            .filter_map(|(id, (count, at))| {
                items.get(&id).map(|item| LibraryEntry {
                    item: to_item(item),
                    count,
                    acquired_at: at,
                })
            })
            .collect();
        library.sort_by_key(|e| std::cmp::Reverse(e.acquired_at));
        Ok(library)
    }

    /// How many orders are in each state (for metrics).
    pub async fn count_by_status(&self) -> Result<Vec<(OrderStatus, i64)>> {
        let rows: Vec<(String, i64)> = orders::Entity::find()
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
                    .find(|(s, _)| s == status.as_str())
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
            select = select.filter(orders::Column::Status.eq(status.as_str()));
        }
        let rows = select.all(self.store.db()).await?;
        let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
        let user_ids: Vec<Uuid> = rows.iter().map(|r| r.user_id).collect();
        let names: HashMap<Uuid, String> = if user_ids.is_empty() {
            HashMap::new()
        } else {
            users::Entity::find()
                .filter(users::Column::Id.is_in(user_ids))
                .all(self.store.db())
                .await?
                .into_iter()
                .map(|u| (u.id, u.username))
                .collect()
        };
        let mut events: HashMap<Uuid, Vec<api_types::PaymentEvent>> = HashMap::new();
        if !ids.is_empty() {
            for event in payment_events::Entity::find()
                .filter(payment_events::Column::OrderId.is_in(ids))
                .order_by_asc(payment_events::Column::Id)
                .all(self.store.db())
                .await?
            {
                if let Some(order_id) = event.order_id {
                    events
                        .entry(order_id)
                        .or_default()
                        .push(payments::to_event(&event));
                }
            }
        }
        let details: HashMap<Uuid, Option<String>> = rows
            .iter()
            .map(|r| (r.id, r.failure_detail.clone()))
            .collect();
        let orders = self.with_items(rows).await?;
        Ok(orders
            .into_iter()
            .map(|order| AdminOrder {
                username: names.get(&order.user_id).cloned().unwrap_or_default(),
                events: events.remove(&order.order_id).unwrap_or_default(),
                failure_detail: details.get(&order.order_id).cloned().flatten(),
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
        let row = orders::Entity::find_by_id(order_id)
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("order"))?;
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
        let txn = crate::db::begin_write(self.store.db()).await?;
        let moved = transition(
            &txn,
            order_id,
            OrderStatus::Paid,
            OrderStatus::Refunded,
            Some(&note),
            None,
        )
        .await?;
        txn.commit().await?;
        if !moved {
            let current = orders::Entity::find_by_id(order_id)
                .one(self.store.db())
                .await?;
            let status = current.map(|c| c.status).unwrap_or(row.status);
            return Err(Error::conflict(
                "INVALID_TRANSITION",
                format!("only paid orders can be refunded; this one is {status}"),
            ));
        }
        let item = self.item_row(row.item_id).await?;
        live::publish(
            self.store,
            &Envelope::message(LiveMessage::PurchaseRefunded {
                order_id,
                user_id: row.user_id,
                items: vec![live_item(&item)],
            }),
        )
        .await;
        self.get(operator, order_id).await
    }

    /// Expires pending orders older than `ORDER_EXPIRY_SECS`. Safe on any number of replicas:
    /// each order moves once, by whichever conditional update lands first.
    pub async fn expire_stale(&self) -> Result<usize> {
        let cutoff = Utc::now()
            - chrono::Duration::from_std(self.store.settings().order_expiry)
                .unwrap_or_else(|_| chrono::Duration::minutes(15));
        let stale = orders::Entity::find()
            .filter(orders::Column::Status.eq(OrderStatus::Pending.as_str()))
            .filter(orders::Column::CreatedAt.lt(cutoff))
            .order_by_asc(orders::Column::CreatedAt)
            .limit(500)
            .all(self.store.db())
            .await?;
        let mut expired = 0;
        for row in stale {
            let txn = crate::db::begin_write(self.store.db()).await?;
            let moved = transition(
                &txn,
                row.id,
                OrderStatus::Pending,
                OrderStatus::Expired,
                Some("payment not confirmed in time"),
                None,
            )
            .await?;
            txn.commit().await?;
            if moved {
                expired += 1;
                let item = self.item_row(row.item_id).await?;
                live::publish(
                    self.store,
                    &Envelope::message(LiveMessage::PurchaseFailed {
                        order_id: row.id,
                        user_id: row.user_id,
                        items: vec![live_item(&item)],
                        reason: Some("expired".to_owned()),
                    }),
                )
                .await;
            }
        }
        if expired > 0 {
            tracing::info!(expired, "expired stale pending orders");
        }
        Ok(expired)
    }
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

/// Moves an order from `from` to `to` if, and only if, it is still in `from`; records the
/// change in its history. Returns whether this call made the move.
pub(crate) async fn transition(
    conn: &impl ConnectionTrait,
    order_id: Uuid,
    from: OrderStatus,
    to: OrderStatus,
    reason: Option<&str>,
    transaction_id: Option<&str>,
) -> Result<bool> {
    let mut update = orders::Entity::update_many()
        .col_expr(orders::Column::Status, Expr::value(to.as_str()))
        .col_expr(orders::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(orders::Column::Id.eq(order_id))
        .filter(orders::Column::Status.eq(from.as_str()));
    if let Some(tx) = transaction_id {
        update = update.col_expr(orders::Column::ProviderTransactionId, Expr::value(tx));
    }
    if matches!(to, OrderStatus::Failed | OrderStatus::Expired) {
        update = update.col_expr(
            orders::Column::FailureReason,
            Expr::value(reason.map(str::to_owned)),
        );
    }
    let result = update.exec(conn).await?;
    if result.rows_affected != 1 {
        return Ok(false);
    }
    metrics::counter!("gamestore_order_transitions_total", "to" => to.as_str()).increment(1);
    record_history(conn, order_id, Some(from), to, reason).await?;
    Ok(true)
}

async fn record_history(
    conn: &impl ConnectionTrait,
    order_id: Uuid,
    from: Option<OrderStatus>,
    to: OrderStatus,
    reason: Option<&str>,
) -> Result<()> {
    history::ActiveModel {
        order_id: Set(order_id),
        from_status: Set(from.map(|s| s.as_str().to_owned())),
        to_status: Set(to.as_str().to_owned()),
        reason: Set(reason.map(str::to_owned)),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

pub(crate) fn parse_status(raw: &str) -> OrderStatus {
    OrderStatus::parse(raw).unwrap_or_else(|| {
        tracing::error!(status = raw, "unknown order status in the database");
        OrderStatus::Failed
    })
}

pub(crate) fn live_item(item: &items::Model) -> LiveItem {
    LiveItem {
        id: item.id,
        name: item.name.clone(),
    }
}

fn to_change(row: &history::Model) -> StatusChange {
    StatusChange {
        from: row.from_status.as_deref().map(parse_status),
        to: parse_status(&row.to_status),
        reason: row.reason.clone(),
        at: row.at,
    }
}

pub(crate) fn to_order(
    row: &orders::Model,
    item: &items::Model,
    history: Option<Vec<StatusChange>>,
) -> Order {
    Order {
        order_id: row.id,
        user_id: row.user_id,
        status: parse_status(&row.status),
        item_id: row.item_id,
        item: OrderItem {
            id: item.id,
            sku: item.sku.clone(),
            name: item.name.clone(),
            image: item.image.clone(),
            description: item.description.clone(),
            price: api_types::major_units(row.amount_cents, &row.currency),
        },
        amount_cents: row.amount_cents,
        currency: row.currency.clone(),
        provider_transaction_id: row.provider_transaction_id.clone(),
        failure_reason: row.failure_reason.clone(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        timestamp: row.created_at,
        history,
    }
}
