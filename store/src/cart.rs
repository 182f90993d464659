//! Carts: one per user, kept server-side (any replica, any device), holding item ids and
//! quantities only. A cart is priced from the catalog every time it is read; lines whose item
//! was archived, sold out or bought elsewhere since are dropped with a warning, and a quantity
//! above what is left is lowered. Every change tells the user's other tabs (`cart_updated`).

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, Set,
};
use uuid::Uuid;

use api_types::{Cart, CartLine, CartWarning, LiveMessage};

use crate::accounts::CurrentUser;
use crate::entity::{cart_lines, items};
use crate::live::{self, Envelope};
use crate::orders::{MAX_QUANTITY, check_line, held_units};
use crate::{Error, Result, Store};

/// Most lines one cart holds.
pub const MAX_LINES: u64 = 50;
/// The currency of an empty cart.
const DEFAULT_CURRENCY: &str = "USD";

pub struct Carts<'a> {
    store: &'a Store,
}

impl<'a> Carts<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// The cart, priced now. What changed since it was last read is in `warnings` (once: the
    /// cart is corrected as it is read).
    pub async fn get(&self, user: &CurrentUser) -> Result<Cart> {
        let rows = cart_lines::Entity::find()
            .filter(cart_lines::Column::UserId.eq(user.id()))
            .order_by_asc(cart_lines::Column::AddedAt)
            .order_by_asc(cart_lines::Column::ItemId)
            .find_also_related(items::Entity)
            .all(self.store.db())
            .await?;
        let ids: Vec<i64> = rows.iter().map(|(line, _)| line.item_id).collect();
        let held = held_units(self.store.db(), user.id(), &ids).await?;
        let mut lines = Vec::new();
        let mut warnings = Vec::new();
        let mut dropped = Vec::new();
        let mut lowered = Vec::new();
        let mut currency = None;
        for (line, item) in rows {
            let Some(item) = item else {
                dropped.push(line.item_id);
                continue;
            };
            let held = held.get(&item.id).copied().unwrap_or(0);
            let mut quantity = i64::from(line.quantity);
            let warning = |code: &str, message: String| CartWarning {
                code: code.to_owned(),
                item_id: item.id,
                message,
            };
            if !item.active {
                warnings.push(warning(
                    "ITEM_UNAVAILABLE",
                    format!("{} is no longer sold and was removed", item.name),
                ));
                dropped.push(item.id);
                continue;
            }
            if !item.consumable && held > 0 {
                warnings.push(warning(
                    "ALREADY_OWNED",
                    format!("you already own {}; it was removed", item.name),
                ));
                dropped.push(item.id);
                continue;
            }
            match item.available() {
                Some(0) => {
                    warnings.push(warning(
                        "SOLD_OUT",
                        format!("{} sold out and was removed", item.name),
                    ));
                    dropped.push(item.id);
                    continue;
                }
                Some(left) if left < quantity => {
                    warnings.push(warning(
                        "QUANTITY_REDUCED",
                        format!(
                            "only {left} of {} left; the quantity was lowered",
                            item.name
                        ),
                    ));
                    quantity = left;
                    lowered.push((item.id, quantity));
                }
                _ => {}
            }
            currency.get_or_insert_with(|| item.currency.clone());
            lines.push(CartLine {
                item_id: item.id,
                sku: item.sku.clone(),
                name: item.name.clone(),
                image: item.image.clone(),
                quantity: u32::try_from(quantity).unwrap_or_default(),
                unit_price_cents: item.price_cents,
                line_total_cents: item.price_cents * quantity,
                consumable: item.consumable,
                available: item.available(),
            });
        }
        if !dropped.is_empty() || !lowered.is_empty() {
            self.correct(user.id(), &dropped, &lowered).await?;
        }
        let subtotal: i64 = lines.iter().map(|l| l.line_total_cents).sum();
        Ok(Cart {
            lines,
            subtotal_cents: subtotal,
            discount_cents: 0,
            total_cents: subtotal,
            currency: currency.unwrap_or_else(|| DEFAULT_CURRENCY.to_owned()),
            promo_code: None,
            warnings,
        })
    }

    /// Sets how many of an item the cart holds (0 removes it), checking what the shopper may
    /// buy and what is left.
    pub async fn set_quantity(
        &self,
        user: &CurrentUser,
        item_id: i64,
        quantity: i64,
    ) -> Result<Cart> {
        if !(0..=MAX_QUANTITY).contains(&quantity) {
            return Err(Error::invalid(
                "quantity",
                format!("quantity must be a whole number from 0 to {MAX_QUANTITY}"),
            ));
        }
        let item = items::Entity::find_by_id(item_id)
            .one(self.store.db())
            .await?
            .filter(|item| item.active)
            .ok_or(Error::NotFound("item"))?;
        if quantity == 0 {
            return self.remove(user, item_id).await;
        }
        let held = held_units(self.store.db(), user.id(), &[item_id])
            .await?
            .get(&item_id)
            .copied()
            .unwrap_or(0);
        check_line(&item, quantity, held)?;
        if item.available().is_some_and(|left| left < quantity) {
            return Err(Error::conflict(
                "INSUFFICIENT_STOCK",
                format!(
                    "only {} of {} left",
                    item.available().unwrap_or(0),
                    item.name
                ),
            ));
        }
        let others = cart_lines::Entity::find()
            .filter(cart_lines::Column::UserId.eq(user.id()))
            .filter(cart_lines::Column::ItemId.ne(item_id))
            .find_also_related(items::Entity)
            .all(self.store.db())
            .await?;
        if others
            .iter()
            .filter_map(|(_, other)| other.as_ref())
            .any(|other| other.currency != item.currency)
        {
            return Err(Error::conflict(
                "CURRENCY_MISMATCH",
                "a cart holds items of one currency; check this one out on its own",
            ));
        }
        if others.len() as u64 >= MAX_LINES {
            return Err(Error::unprocessable(
                "CART_FULL",
                format!("a cart holds at most {MAX_LINES} different items"),
            ));
        }
        cart_lines::Entity::insert(cart_lines::ActiveModel {
            user_id: Set(user.id()),
            item_id: Set(item_id),
            quantity: Set(i32::try_from(quantity).unwrap_or(1)),
            added_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([cart_lines::Column::UserId, cart_lines::Column::ItemId])
                .update_column(cart_lines::Column::Quantity)
                .to_owned(),
        )
        .exec(self.store.db())
        .await?;
        self.changed(user).await
    }

    /// One more of an item (for an item that is not consumable: the one).
    pub async fn add_one(&self, user: &CurrentUser, item_id: i64) -> Result<Cart> {
        let item = items::Entity::find_by_id(item_id)
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("item"))?;
        let current = cart_lines::Entity::find_by_id((user.id(), item_id))
            .one(self.store.db())
            .await?
            .map_or(0, |line| i64::from(line.quantity));
        let quantity = if item.consumable { current + 1 } else { 1 };
        self.set_quantity(user, item_id, quantity).await
    }

    /// Takes an item out of the cart (nothing to do if it is not there).
    pub async fn remove(&self, user: &CurrentUser, item_id: i64) -> Result<Cart> {
        cart_lines::Entity::delete_many()
            .filter(cart_lines::Column::UserId.eq(user.id()))
            .filter(cart_lines::Column::ItemId.eq(item_id))
            .exec(self.store.db())
            .await?;
        self.changed(user).await
    }

    /// Empties the cart.
    pub async fn clear(&self, user: &CurrentUser) -> Result<Cart> {
        cart_lines::Entity::delete_many()
            .filter(cart_lines::Column::UserId.eq(user.id()))
            .exec(self.store.db())
            .await?;
        self.changed(user).await
    }

    /// How many lines the cart has (the header's badge), without pricing it.
    pub async fn line_count(&self, user: &CurrentUser) -> Result<u64> {
        Ok(cart_lines::Entity::find()
            .filter(cart_lines::Column::UserId.eq(user.id()))
            .count(self.store.db())
            .await?)
    }

    async fn changed(&self, user: &CurrentUser) -> Result<Cart> {
        let cart = self.get(user).await?;
        announce(self.store, user.id(), cart.line_count()).await;
        Ok(cart)
    }

    async fn correct(&self, user_id: Uuid, dropped: &[i64], lowered: &[(i64, i64)]) -> Result<()> {
        if !dropped.is_empty() {
            cart_lines::Entity::delete_many()
                .filter(cart_lines::Column::UserId.eq(user_id))
                .filter(cart_lines::Column::ItemId.is_in(dropped.iter().copied()))
                .exec(self.store.db())
                .await?;
        }
        for (item_id, quantity) in lowered {
            cart_lines::Entity::update_many()
                .col_expr(
                    cart_lines::Column::Quantity,
                    sea_orm::sea_query::Expr::value(i32::try_from(*quantity).unwrap_or(0)),
                )
                .filter(cart_lines::Column::UserId.eq(user_id))
                .filter(cart_lines::Column::ItemId.eq(*item_id))
                .exec(self.store.db())
                .await?;
        }
        Ok(())
    }
}

/// Tells every tab of the user that the cart changed.
pub(crate) async fn announce(store: &Store, user_id: Uuid, line_count: usize) {
    live::publish(
        store,
        &Envelope::message(LiveMessage::CartUpdated {
            user_id,
            line_count: u32::try_from(line_count).unwrap_or(u32::MAX),
        }),
    )
    .await;
}
