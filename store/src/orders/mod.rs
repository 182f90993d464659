//! Orders: purchases (idempotent), what shoppers and operators read about them, the library,
//! expiry and operator refunds. Every change of state goes through [`lifecycle`].

pub mod lifecycle;
pub mod refunds;
pub mod search;
pub mod stats;
pub mod views;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, Condition, ConnectionTrait, DbBackend,
    EntityTrait as _, LoaderTrait as _, QueryFilter as _, QueryOrder as _, QuerySelect as _, Set,
    SqlErr, Statement,
};
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use api_types::{AdminOrder, IntentItem, LibraryEntry, Order, OrderStatus, PaymentIntent};

use crate::accounts::CurrentUser;
use crate::catalog::to_item;
use crate::domain::IdempotencyKey;
use crate::entity::{
    Status, cart_lines, carts, items, order_lines, order_status_history as history, orders,
    payment_events, promo_codes, users,
};
use crate::live::{self, Envelope};
use crate::{Error, Result, Store, pricing, promotions};
use lifecycle::{Event, Note};

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

    /// Places an order for one item (`POST /api/purchases`, the Buy button): a one-line order,
    /// through the same checkout as a cart.
    pub async fn purchase(
        &self,
        buyer: &CurrentUser,
        item_id: i64,
        idempotency_key: Option<&str>,
    ) -> Result<Purchase> {
        self.place(
            buyer,
            Source::Item(item_id),
            idempotency_key,
            format!("item:{item_id}"),
        )
        .await
    }

    /// Turns the buyer's cart into an order (`POST /api/cart/checkout`) and empties the cart,
    /// in one transaction.
    pub async fn checkout(
        &self,
        buyer: &CurrentUser,
        idempotency_key: Option<&str>,
    ) -> Result<Purchase> {
        self.checkout_as(
            buyer,
            &api_types::CheckoutRequest::default(),
            idempotency_key,
        )
        .await
    }

    /// A checkout, possibly as a gift (`gift_to`: the recipient's username, who gets the
    /// items; `gift_message`: up to 200 characters for them). An unknown recipient, or the
    /// buyer themself, is 422; a recipient who already owns a non-consumable in the cart is
    /// 409, before anything is paid.
    pub async fn checkout_as(
        &self,
        buyer: &CurrentUser,
        request: &api_types::CheckoutRequest,
        idempotency_key: Option<&str>,
    ) -> Result<Purchase> {
        let gift = GiftTo::parse(request)?;
        let fingerprint_source = match &gift {
            Some(g) => format!(
                "cart:gift:{}:{}",
                g.username,
                g.message.as_deref().unwrap_or("")
            ),
            None => "cart".to_owned(),
        };
        self.place_for(
            buyer,
            Source::Cart,
            gift,
            idempotency_key,
            fingerprint_source,
        )
        .await
    }

    /// The one way an order is placed. In one transaction: the buyer's orders are locked
    /// against each other (a row lock on PostgreSQL; SQLite writers take turns anyway), every
    /// line is checked (item on sale, quantity, ownership, per-user limit, one currency), its
    /// units are taken with a conditional update (`stock - committed >= quantity`), and the
    /// order with its lines and first history row is written; a cart is emptied. Then the
    /// payment intent goes to the provider, unless the total is zero, which is paid at once.
    /// With an `Idempotency-Key`, the same key and request return the same order; the same key
    /// with another request is refused.
    async fn place(
        &self,
        buyer: &CurrentUser,
        source: Source,
        idempotency_key: Option<&str>,
        request: String,
    ) -> Result<Purchase> {
        self.place_for(buyer, source, None, idempotency_key, request)
            .await
    }

    async fn place_for(
        &self,
        buyer: &CurrentUser,
        source: Source,
        gift: Option<GiftTo>,
        idempotency_key: Option<&str>,
        request: String,
    ) -> Result<Purchase> {
        let key = idempotency_key.map(IdempotencyKey::parse).transpose()?;
        let fingerprint = hex::encode(Sha256::digest(request.as_bytes()));
        if let Some(key) = &key
            && let Some(existing) = self.by_key(buyer.id(), key, &fingerprint).await?
        {
            return Ok(existing);
        }

        let txn = crate::db::begin_write(self.store.db()).await?;
        // The owner's row is what serialises ownership checks: a gift's recipient is locked
        // as well as the buyer, always in id order, so two orders cannot lock them in turn.
        let recipient = match &gift {
            Some(g) => {
                let user = users::Entity::find()
                    .filter(users::Column::Username.eq(g.username.as_str()))
                    .filter(users::Column::DeletedAt.is_null())
                    .one(&txn)
                    .await?
                    .ok_or_else(|| {
                        Error::invalid(
                            "gift_to",
                            format!("there is no member called {}", g.username),
                        )
                    })?;
                if user.id == buyer.id() {
                    return Err(Error::invalid(
                        "gift_to",
                        "a gift is for someone else: check out without gift_to to buy for yourself",
                    ));
                }
                Some(user)
            }
            None => None,
        };
        let owner_id = recipient.as_ref().map_or(buyer.id(), |r| r.id);
        let mut locked = vec![buyer.id(), owner_id];
        locked.sort_unstable();
        locked.dedup();
        for id in &locked {
            crate::db::lock_user(&txn, *id).await?;
        }
        let for_recipient = |e: Error| match (&recipient, e) {
            (Some(r), Error::Conflict { code, message })
                if code == "ALREADY_OWNED" || code == "PER_USER_LIMIT" =>
            {
                Error::conflict(
                    "RECIPIENT_ALREADY_OWNS",
                    format!(
                        "{} cannot receive this: {}",
                        r.username,
                        message.replace("you already own", "they already own")
                    ),
                )
            }
            (_, e) => e,
        };
        let (wanted, seen): (Vec<(i64, i64)>, Vec<Option<String>>) = match source {
            Source::Item(item_id) => (vec![(item_id, 1)], vec![None]),
            Source::Cart => cart_lines::Entity::find()
                .filter(cart_lines::Column::UserId.eq(buyer.id()))
                .order_by_asc(cart_lines::Column::AddedAt)
                .order_by_asc(cart_lines::Column::ItemId)
                .all(&txn)
                .await?
                .into_iter()
                .map(|l| ((l.item_id, i64::from(l.quantity)), l.seen_currency))
                .unzip(),
        };
        if wanted.is_empty() {
            return Err(Error::unprocessable("CART_EMPTY", "your cart is empty"));
        }
        let now = Utc::now();
        let checked = checked_lines(&txn, owner_id, &wanted)
            .await
            .map_err(for_recipient)?;
        // A line is paid in the currency the shopper saw it in, or not at all: an item an
        // operator moved to another currency since is for the cart to drop, with its warning
        // (a checkout that skipped reading the cart was charged ¥1000 for a $10 line).
        for ((item, _), seen) in checked.iter().zip(&seen) {
            if let Some(seen) = seen
                && *seen != item.currency
            {
                return Err(Error::conflict(
                    "CURRENCY_MISMATCH",
                    format!(
                        "{} is now priced in {}, not the {seen} your cart showed; please review \
                         your cart",
                        item.name, item.currency
                    ),
                ));
            }
        }
        let lines = pricing::price_lines(self.store, owner_id, checked, now)
            .await
            .map_err(for_recipient)?;
        let promo = match source {
            Source::Cart => self.cart_promo(&txn, buyer.id()).await?,
            Source::Item(_) => None,
        };
        if let Some(promo) = &promo {
            let views = pricing::promo_views(&lines);
            promotions::check(
                &txn,
                Some(promo),
                buyer.id(),
                &views,
                &lines[0].item.currency,
                now,
            )
            .await?;
        }
        let priced = pricing::total(lines, promo.as_ref());
        let stocked = priced.lines.iter().any(|l| l.item.stock.is_some());
        // Always in id order, so two orders sharing items cannot lock them in opposite orders.
        let mut by_id: Vec<&pricing::Line> = priced.lines.iter().collect();
        by_id.sort_by_key(|l| l.item.id);
        for line in by_id {
            take_units(&txn, &line.item, line.quantity).await?;
        }

        let order_id = Uuid::new_v4();
        let total = priced.total_cents;
        let first = &priced.lines[0].item;
        let inserted = orders::ActiveModel {
            id: Set(order_id),
            user_id: Set(buyer.id()),
            item_id: Set(first.id),
            amount_cents: Set(total),
            currency: Set(first.currency.clone()),
            promo_code: Set(promo.as_ref().map(|p| p.code.clone())),
            discount_cents: Set(priced.discount_cents),
            refunded_cents: Set(0),
            refund_pending_cents: Set(0),
            status: Set(Status::Pending),
            idempotency_key: Set(key.as_ref().map(|k| k.as_str().to_owned())),
            request_fingerprint: Set(key.as_ref().map(|_| fingerprint.clone())),
            provider_transaction_id: Set(None),
            failure_reason: Set(None),
            failure_detail: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            owner_id: Set(Some(owner_id)),
            gift_message: Set(gift.as_ref().and_then(|g| g.message.clone())),
            refund_deferred: Set(false),
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
        let line_rows: Vec<order_lines::ActiveModel> = priced
            .lines
            .iter()
            .map(|line| order_lines::ActiveModel {
                order_id: Set(order_id),
                item_id: Set(line.item.id),
                sku: Set(line.item.sku.clone()),
                name: Set(line.item.name.clone()),
                quantity: Set(i32::try_from(line.quantity).unwrap_or(i32::MAX)),
                unit_price_cents: Set(line.unit_price_cents),
                discount_cents: Set(line.discount_cents),
                line_total_cents: Set(line.line_total_cents),
                granted_item_ids: Set(items::ids_to_column(&line.granted)),
                currency: Set(row.currency.clone()),
                ..Default::default()
            })
            .collect();
        order_lines::Entity::insert_many(line_rows)
            .exec(&txn)
            .await?;
        if let Some(promo) = &promo {
            promotions::take_use(&txn, promo, buyer.id(), order_id).await?;
        }
        lifecycle::record_placed(&txn, order_id).await?;
        if matches!(source, Source::Cart) {
            cart_lines::Entity::delete_many()
                .filter(cart_lines::Column::UserId.eq(buyer.id()))
                .exec(&txn)
                .await?;
            carts::Entity::delete_by_id(buyer.id()).exec(&txn).await?;
        }
        let free = if total == 0 {
            let applied = lifecycle::transition(
                &txn,
                order_id,
                Event::PaymentConfirmed,
                Note {
                    reason: Some("nothing to pay"),
                    ..Note::default()
                },
            )
            .await?;
            Some(
                applied
                    .message
                    .into_iter()
                    .chain(applied.gift)
                    .collect::<Vec<_>>(),
            )
        } else {
            None
        };
        txn.commit().await?;

        if matches!(source, Source::Cart) {
            crate::cart::announce(self.store, buyer.id(), 0).await;
        }
        if stocked {
            self.store.catalog().stock_changed().await;
        }
        let row = match free {
            Some(messages) => {
                for message in messages {
                    live::publish(self.store, &Envelope::message(message)).await;
                }
                // Answered as it now is (paid), not as it was written.
                orders::Entity::find_by_id(row.id)
                    .one(self.store.db())
                    .await?
                    .unwrap_or(row)
            }
            None => {
                self.register_intent(&row, &priced.lines).await?;
                row
            }
        };
        Ok(Purchase {
            order: self.views(vec![row], false).await?.remove(0),
            replayed: false,
        })
    }

    /// The promo code on the buyer's cart, if any.
    async fn cart_promo(
        &self,
        conn: &impl ConnectionTrait,
        user_id: Uuid,
    ) -> Result<Option<promo_codes::Model>> {
        let Some(cart) = carts::Entity::find_by_id(user_id).one(conn).await? else {
            return Ok(None);
        };
        let Some(id) = cart.promo_code_id else {
            return Ok(None);
        };
        Ok(promo_codes::Entity::find_by_id(id).one(conn).await?)
    }

    /// Asks the provider to take the payment; an intent it does not take fails the order at
    /// once (which gives its units back) and the shopper gets a 503.
    async fn register_intent(&self, row: &orders::Model, lines: &[pricing::Line]) -> Result<()> {
        let intent = PaymentIntent {
            order_id: row.id,
            user_id: row.user_id,
            amount_cents: row.amount_cents,
            currency: row.currency.clone(),
            items: lines
                .iter()
                .map(|line| IntentItem {
                    item_id: line.item.id,
                    sku: line.item.sku.clone(),
                    name: line.item.name.clone(),
                    quantity: u32::try_from(line.quantity).unwrap_or_default(),
                    amount_cents: line.line_total_cents,
                })
                .collect(),
            callback_url: self.store.settings().callback_url(),
        };
        let Err(detail) = self.store.provider().register_intent(&intent).await else {
            return Ok(());
        };
        tracing::error!(order_id = %row.id, %detail, "payment intent not registered");
        self.apply(
            row.id,
            Event::ProviderUnreachable,
            Note {
                detail: Some(&detail.detail),
                ..Note::default()
            },
        )
        .await?;
        Err(Error::Unavailable {
            code: "PAYMENT_PROVIDER_UNAVAILABLE",
            message: format!(
                "the payment provider could not be reached; order {} was marked failed",
                row.id
            ),
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
        if applied.stock_released {
            self.store.catalog().stock_changed().await;
        }
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
        Ok(Some(Purchase {
            order: self.views(vec![row], false).await?.remove(0),
            replayed: true,
        }))
    }

    /// Orders with their lines and items (and their history, when asked).
    async fn views(&self, rows: Vec<orders::Model>, with_history: bool) -> Result<Vec<Order>> {
        let db = self.store.db();
        let lines = rows.load_many(order_lines::Entity, db).await?;
        let mut ids: Vec<i64> = rows
            .iter()
            .map(|r| r.item_id)
            .chain(lines.iter().flatten().map(|l| l.item_id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let items: HashMap<i64, items::Model> = items::Entity::find()
            .filter(items::Column::Id.is_in(ids))
            .all(db)
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        let histories: Vec<Option<Vec<api_types::StatusChange>>> = if with_history {
            rows.load_many(
                history::Entity::find().order_by_asc(history::Column::Id),
                db,
            )
            .await?
            .into_iter()
            .map(|h| Some(h.iter().map(views::to_change).collect()))
            .collect()
        } else {
            vec![None; rows.len()]
        };
        let recipients: HashMap<Uuid, String> = {
            let ids: Vec<Uuid> = rows
                .iter()
                .filter(|r| r.is_gift())
                .map(|r| r.owner())
                .collect();
            if ids.is_empty() {
                HashMap::new()
            } else {
                users::Entity::find()
                    .filter(users::Column::Id.is_in(ids))
                    .all(db)
                    .await?
                    .into_iter()
                    .map(|u| (u.id, u.username))
                    .collect()
            }
        };
        let self_refunds = refunds::SelfRefunds::load(self.store, &rows, &lines).await?;
        rows.iter()
            .zip(lines)
            .zip(histories)
            .map(|((row, lines), history)| {
                let mut order = views::to_order(row, &lines, &items, history)?;
                self_refunds.mark(row, &lines, &items, &mut order);
                if row.is_gift() {
                    order.gift = Some(api_types::Gift {
                        to_user_id: row.owner(),
                        to_username: recipients
                            .get(&row.owner())
                            .cloned()
                            .unwrap_or_else(|| "a former member".to_owned()),
                        message: row.gift_message.clone(),
                    });
                }
                Ok(order)
            })
            .collect()
    }

    /// Gifts others bought the user that were paid (newest first), with who sent them.
    pub async fn gifts_received(&self, user_id: Uuid) -> Result<Vec<api_types::GiftReceived>> {
        let db = self.store.db();
        let rows = orders::Entity::find()
            .filter(orders::Column::OwnerId.eq(user_id))
            .filter(orders::Column::UserId.ne(user_id))
            .filter(orders::Column::Status.is_in([Status::Paid, Status::PartiallyRefunded]))
            .order_by_desc(orders::Column::UpdatedAt)
            .limit(200)
            .all(db)
            .await?;
        let lines = rows.load_many(order_lines::Entity, db).await?;
        let senders: HashMap<Uuid, String> = users::Entity::find()
            .filter(users::Column::Id.is_in(rows.iter().map(|r| r.user_id)))
            .all(db)
            .await?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect();
        Ok(rows
            .iter()
            .zip(lines)
            .map(|(row, lines)| api_types::GiftReceived {
                order_id: row.id,
                from_username: senders
                    .get(&row.user_id)
                    .cloned()
                    .unwrap_or_else(|| "a former member".to_owned()),
                items: lines
                    .iter()
                    .filter(|l| l.refunded_at.is_none())
                    .map(views::live_item)
                    .collect(),
                message: row.gift_message.clone(),
                received_at: row.updated_at,
            })
            .collect())
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
        self.views(rows, false).await
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
        let buyer = row.user_id == viewer.id();
        let mut order = self.views(vec![row], true).await?.remove(0);
        if !buyer {
            // What the buyer may ask back is theirs to ask, not an operator's looking on.
            order.refundable_until = None;
            order
                .lines
                .iter_mut()
                .for_each(|l| l.self_refundable = false);
        }
        Ok(order)
    }

    /// Owned items: every line of the user's paid (or partly refunded) orders that no refund
    /// took back, one entry per item; a consumable counts every unit bought.
    pub async fn library(&self, user_id: Uuid) -> Result<Vec<LibraryEntry>> {
        let paid: Vec<(i64, i32, String, DateTime<Utc>)> = order_lines::Entity::find()
            .inner_join(orders::Entity)
            .filter(orders::owned_by(user_id))
            .filter(orders::Column::Status.is_in([Status::Paid, Status::PartiallyRefunded]))
            .filter(order_lines::Column::RefundedAt.is_null())
            .select_only()
            .column(order_lines::Column::ItemId)
            .column(order_lines::Column::Quantity)
            .column(order_lines::Column::GrantedItemIds)
            .column(orders::Column::UpdatedAt)
            .into_tuple()
            .all(self.store.db())
            .await?;
        let mut owned: BTreeMap<i64, (u32, DateTime<Utc>)> = BTreeMap::new();
        let mut grant = |item_id: i64, units: u32, at: DateTime<Utc>| {
            let entry = owned.entry(item_id).or_insert((0, at));
            entry.0 += units;
            entry.1 = Ord::max(entry.1, at);
        };
        for (item_id, quantity, granted, at) in paid {
            let parts = items::ids_from_column(&granted);
            if parts.is_empty() {
                grant(item_id, u32::try_from(quantity).unwrap_or_default(), at);
            } else {
                // A bundle grants its items, not itself.
                for part in parts {
                    grant(part, 1, at);
                }
            }
        }
        let mut keys = self.store.keys().held_by(user_id).await?;
        let items: HashMap<i64, items::Model> = items::Entity::find()
            .filter(items::Column::Id.is_in(owned.keys().copied()))
            .all(self.store.db())
            .await?
            .into_iter()
            .map(|i| (i.id, i))
            .collect();
        let mut library: Vec<LibraryEntry> = owned
            .into_iter()
            .filter_map(|(id, (count, acquired_at))| {
                items.get(&id).map(|item| LibraryEntry {
                    item: to_item(item),
                    count,
                    acquired_at,
                    keys: keys.remove(&id).unwrap_or_default(),
                })
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

    /// Orders as operators see them: with the buyer, payment events and refunds.
    pub(crate) async fn admin_views(&self, rows: Vec<orders::Model>) -> Result<Vec<AdminOrder>> {
        let buyers = rows.load_one(users::Entity, self.store.db()).await?;
        let events = rows
            .load_many(
                payment_events::Entity::find().order_by_asc(payment_events::Column::Id),
                self.store.db(),
            )
            .await?;
        let refunds = rows
            .load_many(
                crate::entity::refunds::Entity::find()
                    .order_by_asc(crate::entity::refunds::Column::CreatedAt),
                self.store.db(),
            )
            .await?;
        let details: Vec<Option<String>> = rows.iter().map(|r| r.failure_detail.clone()).collect();
        let orders = self.views(rows, false).await?;
        Ok(orders
            .into_iter()
            .zip(buyers)
            .zip(events)
            .zip(refunds)
            .zip(details)
            .map(
                |((((order, buyer), events), refunds), failure_detail)| AdminOrder {
                    username: buyer.map(|b| b.username).unwrap_or_default(),
                    events: events.iter().map(Into::into).collect(),
                    refunds: refunds.iter().map(views::to_refund).collect(),
                    failure_detail,
                    order,
                },
            )
            .collect())
    }

    /// The original store's operator refund (`POST /api/purchases/{order_id}/refund`):
    /// everything not yet refunded, asked of the provider like any refund. Answers the order as
    /// it is now (still paid until the provider's webhook arrives). Without an
    /// `Idempotency-Key`, each call is a new request.
    pub async fn refund(
        &self,
        operator: &CurrentUser,
        order_id: Uuid,
        reason: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Order> {
        let key = idempotency_key.map_or_else(|| format!("once:{}", Uuid::new_v4()), str::to_owned);
        let input = api_types::NewRefund {
            reason: reason.map(str::to_owned),
            ..api_types::NewRefund::default()
        };
        self.request_refund(operator, order_id, &input, &key)
            .await?;
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

/// Where an order's lines come from.
#[derive(Debug, Clone, Copy)]
enum Source {
    Item(i64),
    Cart,
}

/// Most units of one item in one line.
pub const MAX_QUANTITY: i64 = 99;

/// Units of each item the user holds: in their pending and paid orders (lines no refund took
/// back), bought or granted by a bundle.
pub(crate) async fn held_units(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    item_ids: &[i64],
) -> Result<HashMap<i64, i64>> {
    if item_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(i64, i32, String)> = order_lines::Entity::find()
        .inner_join(orders::Entity)
        .filter(orders::owned_by(user_id))
        .filter(orders::Column::Status.is_in([
            Status::Pending,
            Status::Paid,
            Status::PartiallyRefunded,
        ]))
        .filter(order_lines::Column::RefundedAt.is_null())
        .filter(
            Condition::any()
                .add(order_lines::Column::ItemId.is_in(item_ids.iter().copied()))
                .add(order_lines::Column::GrantedItemIds.ne("")),
        )
        .select_only()
        .column(order_lines::Column::ItemId)
        .column(order_lines::Column::Quantity)
        .column(order_lines::Column::GrantedItemIds)
        .into_tuple()
        .all(conn)
        .await?;
    let mut held: HashMap<i64, i64> = HashMap::new();
    for (item_id, quantity, granted) in rows {
        if item_ids.contains(&item_id) {
            *held.entry(item_id).or_default() += i64::from(quantity);
        }
        for part in items::ids_from_column(&granted) {
            if item_ids.contains(&part) {
                *held.entry(part).or_default() += 1;
            }
        }
    }
    Ok(held)
}

/// Checks what a user may buy of an item, whatever the stock: the item is on sale, the
/// quantity is 1–99 (one, for an item that is not consumable and not already held), and it is
/// within the item's per-user limit.
pub(crate) fn check_line(item: &items::Model, quantity: i64, held: i64) -> Result<()> {
    if !item.active {
        return Err(Error::conflict(
            "ITEM_UNAVAILABLE",
            format!("{} is no longer sold", item.name),
        ));
    }
    if !(1..=MAX_QUANTITY).contains(&quantity) {
        return Err(Error::invalid(
            "quantity",
            format!("quantity must be a whole number from 1 to {MAX_QUANTITY}"),
        ));
    }
    if !item.consumable {
        // A bundle may be bought again while some of its items are missing; its quote says.
        if held > 0 && !item.is_bundle() {
            return Err(Error::conflict(
                "ALREADY_OWNED",
                format!("you already own {} (or have an order for it)", item.name),
            ));
        }
        if quantity > 1 {
            return Err(Error::invalid(
                "quantity",
                format!("{} can only be bought once", item.name),
            ));
        }
    }
    if let Some(max) = item.max_per_user
        && held + quantity > i64::from(max)
    {
        return Err(Error::conflict(
            "PER_USER_LIMIT",
            format!("at most {max} of {} per customer", item.name),
        ));
    }
    Ok(())
}

/// The items of an order's lines, each checked, all in one currency.
async fn checked_lines(
    conn: &impl ConnectionTrait,
    user_id: Uuid,
    wanted: &[(i64, i64)],
) -> Result<Vec<(items::Model, i64)>> {
    let ids: Vec<i64> = wanted.iter().map(|(id, _)| *id).collect();
    let items: HashMap<i64, items::Model> = items::Entity::find()
        .filter(items::Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(|i| (i.id, i))
        .collect();
    // Holdings only matter to items sold once or limited per customer: a consumable without a
    // limit (bought again and again) skips a lookup that grows with the buyer's history.
    let limited: Vec<i64> = items
        .values()
        .filter(|item| !item.consumable || item.max_per_user.is_some())
        .map(|item| item.id)
        .collect();
    let held = held_units(conn, user_id, &limited).await?;
    let mut lines = Vec::with_capacity(wanted.len());
    for (id, quantity) in wanted {
        let item = items.get(id).cloned().ok_or(Error::NotFound("item"))?;
        check_line(&item, *quantity, held.get(id).copied().unwrap_or(0))?;
        lines.push((item, *quantity));
    }
    if lines
        .iter()
        .any(|(item, _)| item.currency != lines[0].0.currency)
    {
        return Err(Error::conflict(
            "CURRENCY_MISMATCH",
            "every item of an order must be priced in the same currency",
        ));
    }
    Ok(lines)
}

/// Takes `quantity` units of an item, if that many are left: one conditional update, so
/// concurrent orders can never take more than the stock between them.
///
/// An item of unlimited stock takes no units and so writes nothing: its row would otherwise be
/// one hot lock that every checkout of a best seller queues on. A shared row lock confirms it
/// is still on sale and still unlimited; shared locks do not wait on each other, and an
/// operator limiting the item meanwhile waits for this order and then counts it
/// ([`recount_committed`]).
async fn take_units(conn: &impl ConnectionTrait, item: &items::Model, quantity: i64) -> Result<()> {
    let insufficient = || {
        Error::conflict(
            "INSUFFICIENT_STOCK",
            format!("not enough {} left", item.name),
        )
    };
    if item.stock.is_none() {
        let now = items::Entity::find_by_id(item.id)
            .select_only()
            .column(items::Column::Active)
            .column(items::Column::Stock)
            .lock_shared()
            .into_tuple::<(bool, Option<i64>)>()
            .one(conn)
            .await?;
        return match now {
            Some((true, None)) => Ok(()),
            // Limited since it was read, by an operator whose recount has committed. Taking the
            // units now would upgrade this transaction's shared lock, which two such checkouts
            // would do at once (a deadlock): this one starts over instead.
            Some((true, Some(_))) => Err(Error::conflict(
                "STOCK_CHANGED",
                format!(
                    "the stock of {} changed while your order was placed; please try again",
                    item.name
                ),
            )),
            _ => Err(insufficient()),
        };
    }
    // Taking the last units counts a sell-out, which a wishlist's "back in stock" alert
    // waits for (`wishlist::Alerts`); the `CASE` reads the row as it was before this update.
    let sells_out = Expr::col(items::Column::Stock)
        .sub(Expr::col(items::Column::Committed))
        .eq(quantity);
    let taken = items::Entity::update_many()
        .col_expr(
            items::Column::Committed,
            Expr::col(items::Column::Committed).add(quantity),
        )
        .col_expr(
            items::Column::Sellouts,
            Expr::col(items::Column::Sellouts).add(Expr::case(sells_out, 1).finally(0)),
        )
        .filter(items::Column::Id.eq(item.id))
        .filter(items::Column::Active.eq(true))
        .filter(
            Condition::any().add(items::Column::Stock.is_null()).add(
                Expr::col(items::Column::Stock)
                    .sub(Expr::col(items::Column::Committed))
                    .gte(quantity),
            ),
        )
        .exec(conn)
        .await?
        .rows_affected;
    if taken == 1 {
        Ok(())
    } else {
        Err(insufficient())
    }
}

/// Sets an item's `committed` to the units of its pending, paid and refunded orders. Called
/// when an item of unlimited stock becomes limited (unlimited items do not count their units),
/// by a caller holding the item's row lock: checkouts that confirmed the item unlimited have
/// committed by then (they hold a shared lock on the row until they do), and later ones wait
/// and see the stock.
pub(crate) async fn recount_committed(conn: &impl ConnectionTrait, item_id: i64) -> Result<i64> {
    let backend = conn.get_database_backend();
    let p = match backend {
        DbBackend::Postgres => "$1",
        _ => "?1",
    };
    let sql = format!(
        "SELECT CAST(COALESCE(SUM(l.quantity), 0) AS BIGINT) AS units FROM order_lines l \
           JOIN orders o ON o.id = l.order_id \
          WHERE l.item_id = {p} AND o.status IN ('pending', 'paid', 'partially_refunded', 'refunded')"
    );
    let row = conn
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [item_id.into()],
        ))
        .await?;
    let units: i64 = match row {
        Some(row) => row.try_get("", "units")?,
        None => 0,
    };
    items::Entity::update_many()
        .col_expr(items::Column::Committed, Expr::value(units))
        .filter(items::Column::Id.eq(item_id))
        .exec(conn)
        .await?;
    Ok(units)
}

/// Runs the expiry sweep forever, every `interval`.
pub fn spawn_expiry_task(store: Store, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_prune: Option<tokio::time::Instant> = None;
        loop {
            tick.tick().await;
            if let Err(e) = store.orders().expire_stale().await {
                tracing::warn!(error = %e, "expiry sweep failed; will retry");
            }
            // Refused webhook deliveries past their retention or their count, about every ten
            // minutes (20 a second fill at most 12,000 places between two passes).
            if last_prune.is_none_or(|at| at.elapsed() >= Duration::from_secs(600)) {
                last_prune = Some(tokio::time::Instant::now());
                match store.payments().prune_rejections().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "old refused webhook deliveries pruned"),
                    Err(e) => tracing::warn!(error = %e, "pruning the webhook log failed"),
                }
            }
        }
    })
}

/// A checkout's gift, validated: the recipient's name and the message.
struct GiftTo {
    username: String,
    message: Option<String>,
}

/// Longest gift message, in characters.
pub const MAX_GIFT_MESSAGE: usize = 200;

impl GiftTo {
    fn parse(request: &api_types::CheckoutRequest) -> Result<Option<Self>> {
        let message = request
            .gift_message
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty());
        let Some(to) = request
            .gift_to
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            if message.is_some() {
                return Err(Error::invalid(
                    "gift_to",
                    "a gift message needs a recipient (gift_to)",
                ));
            }
            return Ok(None);
        };
        let username = crate::domain::Username::parse(to)
            .map_err(|_| Error::invalid("gift_to", format!("there is no member called {to}")))?;
        if let Some(m) = message {
            if m.chars().count() > MAX_GIFT_MESSAGE {
                return Err(Error::invalid(
                    "gift_message",
                    format!("a gift message is at most {MAX_GIFT_MESSAGE} characters"),
                ));
            }
            crate::domain::check_text("gift_message", m, true)?;
        }
        Ok(Some(Self {
            username: username.as_str().to_owned(),
            message: message.map(str::to_owned),
        }))
    }
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
            .search(&t.operator(), &search::OrderQuery::default())
            .await
            .expect("admin view")
            .orders;
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
            .refund(&operator, order.order_id, None, None)
            .await;
        assert_eq!(
            refused.err().map(|e| e.code()),
            Some("ORDER_NOT_REFUNDABLE")
        );
        let customer_refund = t
            .store
            .orders()
            .refund(&buyer, order.order_id, None, None)
            .await;
        assert_eq!(customer_refund.err().map(|e| e.status()), Some(403));
    }
}
