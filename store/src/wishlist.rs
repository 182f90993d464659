//! Wishlists, and the alerts they get: when a sale starts on a wished-for item, or it is back in
//! stock after selling out, every wishing user who is online gets `wishlist_on_sale`, once per
//! occasion whichever replica notices it first (a unique row per item and occasion).

use std::time::Duration;

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ColumnTrait as _, Condition, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
    QueryOrder as _, QuerySelect as _, Set, TryInsertResult,
};
use uuid::Uuid;

use api_types::{Item, LiveMessage};

use crate::accounts::CurrentUser;
use crate::catalog::to_item;
use crate::entity::{items, wishlist, wishlist_alerts};
use crate::live::{self, Envelope};
use crate::{Error, Result, Store};

/// Most items one wishlist holds.
pub const MAX_ITEMS: usize = 200;

pub struct Wishlists<'a> {
    store: &'a Store,
}

impl<'a> Wishlists<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// The wished-for items, most recent first.
    pub async fn list(&self, user: &CurrentUser) -> Result<Vec<Item>> {
        Ok(wishlist::Entity::find()
            .filter(wishlist::Column::UserId.eq(user.id()))
            .order_by_desc(wishlist::Column::AddedAt)
            .find_also_related(items::Entity)
            .all(self.store.db())
            .await?
            .into_iter()
            .filter_map(|(_, item)| item.as_ref().map(to_item))
            .collect())
    }

    /// Adds an item (adding it again changes nothing). Counted and written under the user's
    /// row lock, so additions at the same moment cannot all pass the size check (an attacker's
    /// pass got 217 items into a wishlist of 200).
    pub async fn add(&self, user: &CurrentUser, item_id: i64) -> Result<Vec<Item>> {
        items::Entity::find_by_id(item_id)
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("item"))?;
        let txn = crate::db::begin_write(self.store.db()).await?;
        crate::db::lock_user(&txn, user.id()).await?;
        let count = wishlist::Entity::find()
            .filter(wishlist::Column::UserId.eq(user.id()))
            .filter(wishlist::Column::ItemId.ne(item_id))
            .count(&txn)
            .await?;
        if count >= MAX_ITEMS as u64 {
            return Err(Error::unprocessable(
                "WISHLIST_FULL",
                format!("a wishlist holds at most {MAX_ITEMS} items"),
            ));
        }
        wishlist::Entity::insert(wishlist::ActiveModel {
            user_id: Set(user.id()),
            item_id: Set(item_id),
            added_at: Set(Utc::now()),
        })
        .on_conflict_do_nothing_on([wishlist::Column::UserId, wishlist::Column::ItemId])
        .exec(&txn)
        .await?;
        txn.commit().await?;
        self.list(user).await
    }

    pub async fn remove(&self, user: &CurrentUser, item_id: i64) -> Result<Vec<Item>> {
        wishlist::Entity::delete_many()
            .filter(wishlist::Column::UserId.eq(user.id()))
            .filter(wishlist::Column::ItemId.eq(item_id))
            .exec(self.store.db())
            .await?;
        self.list(user).await
    }

    /// Which of `item_ids` the user wishes for (the hearts on a page of cards).
    pub async fn contains(&self, user: &CurrentUser, item_ids: &[i64]) -> Result<Vec<i64>> {
        Ok(wishlist::Entity::find()
            .select_only()
            .column(wishlist::Column::ItemId)
            .filter(wishlist::Column::UserId.eq(user.id()))
            .filter(wishlist::Column::ItemId.is_in(item_ids.iter().copied()))
            .into_tuple()
            .all(self.store.db())
            .await?)
    }
}

pub struct Alerts<'a> {
    store: &'a Store,
}

impl<'a> Alerts<'a> {
    pub fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Sends the alerts that are due: for every wished-for item whose sale is on, or that is in
    /// stock again after selling out. Returns how many occasions were announced.
    ///
    /// Due items are read in pages by id, and occasions already claimed are left out before
    /// any claim is tried, so every due item is reached on every pass: a fixed first hundred
    /// (an attacker's pass) kept returning the same claimed items, and any item after them never
    /// got its alert.
    pub async fn sweep(&self) -> Result<usize> {
        const PAGE: u64 = 500;
        let now = Utc::now();
        let mut announced = 0;
        let mut after = i64::MIN;
        loop {
            let wished = wishlist::Entity::find()
                .select_only()
                .column(wishlist::Column::ItemId)
                .distinct();
            let due = items::Entity::find()
                .filter(items::Column::Id.in_subquery(sea_orm::QueryTrait::into_query(wished)))
                .filter(items::Column::Id.gt(after))
                .filter(items::Column::Active.eq(true))
                .filter(
                    Condition::any()
                        .add(
                            Condition::all()
                                .add(items::Column::SaleStartsAt.lte(now))
                                .add(items::Column::SaleEndsAt.gt(now)),
                        )
                        .add(
                            Condition::all()
                                .add(items::Column::Sellouts.gt(0))
                                .add(items::Column::Stock.is_not_null())
                                .add(
                                    Expr::col(items::Column::Stock)
                                        .sub(Expr::col(items::Column::Committed))
                                        .gt(0),
                                ),
                        ),
                )
                .order_by_asc(items::Column::Id)
                .limit(PAGE)
                .all(self.store.db())
                .await?;
            let Some(last) = due.last() else {
                break;
            };
            after = last.id;
            let occasions: Vec<(&items::Model, String, &str)> = due
                .iter()
                .flat_map(|item| {
                    let sale = item
                        .sale_price_at(now)
                        .and(item.sale_starts_at)
                        .map(|starts| (item, format!("sale:{}", starts.timestamp()), "sale"));
                    let restock = (item.sellouts > 0 && item.available().is_some_and(|n| n > 0))
                        .then(|| (item, format!("restock:{}", item.sellouts), "restock"));
                    sale.into_iter().chain(restock)
                })
                .collect();
            let claimed: std::collections::HashSet<(i64, String)> = wishlist_alerts::Entity::find()
                .select_only()
                .column(wishlist_alerts::Column::ItemId)
                .column(wishlist_alerts::Column::Occasion)
                .filter(wishlist_alerts::Column::ItemId.is_in(due.iter().map(|i| i.id)))
                .filter(
                    wishlist_alerts::Column::Occasion
                        .is_in(occasions.iter().map(|(_, occasion, _)| occasion.clone())),
                )
                .into_tuple()
                .all(self.store.db())
                .await?
                .into_iter()
                .collect();
            for (item, occasion, reason) in occasions {
                if claimed.contains(&(item.id, occasion.clone())) {
                    continue;
                }
                if self.claim(item.id, &occasion).await? {
                    self.announce(item, reason).await?;
                    announced += 1;
                }
            }
            if due.len() < PAGE as usize {
                break;
            }
        }
        Ok(announced)
    }

    /// Whether this replica is the first to see the occasion (and so announces it).
    async fn claim(&self, item_id: i64, occasion: &str) -> Result<bool> {
        let inserted = wishlist_alerts::Entity::insert(wishlist_alerts::ActiveModel {
            item_id: Set(item_id),
            occasion: Set(occasion.to_owned()),
            sent_at: Set(Utc::now()),
        })
        .on_conflict_do_nothing_on([
            wishlist_alerts::Column::ItemId,
            wishlist_alerts::Column::Occasion,
        ])
        .exec(self.store.db())
        .await?;
        Ok(matches!(inserted, TryInsertResult::Inserted(_)))
    }

    async fn announce(&self, item: &items::Model, reason: &str) -> Result<()> {
        let users: Vec<Uuid> = wishlist::Entity::find()
            .select_only()
            .column(wishlist::Column::UserId)
            .filter(wishlist::Column::ItemId.eq(item.id))
            .into_tuple()
            .all(self.store.db())
            .await?;
        let price = item.price_at(Utc::now());
        for user_id in users {
            live::publish(
                self.store,
                &Envelope::message(LiveMessage::WishlistOnSale {
                    user_id,
                    item_id: item.id,
                    name: item.name.clone(),
                    reason: reason.to_owned(),
                    price_cents: price,
                    currency: item.currency.clone(),
                }),
            )
            .await;
        }
        Ok(())
    }
}

/// Runs the alert sweep forever, every `interval` (each replica; occasions are claimed once).
pub fn spawn_alert_task(store: Store, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = Alerts::new(&store).sweep().await {
                tracing::warn!(error = %e, "wishlist alert sweep failed; will retry");
            }
        }
    })
}
