//! Carts: one per user, kept server-side (any replica, any device), holding item ids and
//! quantities only. A cart is priced from the catalog every time it is read; lines whose item
//! was archived, sold out or bought elsewhere since are dropped with a warning, and a quantity
//! above what is left is lowered. Every change tells the user's other tabs (`cart_updated`).

use chrono::Utc;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait as _, EntityTrait as _, PaginatorTrait as _, QueryFilter as _, QueryOrder as _, Set,
};
use uuid::Uuid;

use api_types::{Cart, CartLine, CartWarning, LiveMessage};

use crate::accounts::CurrentUser;
use crate::entity::{cart_lines, carts, items, promo_codes};
use crate::live::{self, Envelope};
use crate::orders::{MAX_QUANTITY, check_line, held_units};
use crate::{Error, Result, Store, pricing, promotions};

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
    /// cart is corrected as it is read): lines dropped (archived, sold out, owned since, now
    /// priced in another currency than the cart's), quantities lowered to what is left, prices
    /// changed (a sale ended), and a promo code that no longer applies.
    pub async fn get(&self, user: &CurrentUser) -> Result<Cart> {
        let now = Utc::now();
        let rows = cart_lines::Entity::find()
            .filter(cart_lines::Column::UserId.eq(user.id()))
            .order_by_asc(cart_lines::Column::AddedAt)
            .order_by_asc(cart_lines::Column::ItemId)
            .find_also_related(items::Entity)
            .all(self.store.db())
            .await?;
        let ids: Vec<i64> = rows.iter().map(|(line, _)| line.item_id).collect();
        let held = held_units(self.store.db(), user.id(), &ids).await?;
        let mut kept = Vec::new();
        let mut warnings = Vec::new();
        let mut dropped = Vec::new();
        let mut changed = Vec::new();
        for (line, item) in rows {
            let Some(item) = item else {
                dropped.push(line.item_id);
                continue;
            };
            let warning = |code: &str, message: String| CartWarning {
                code: code.to_owned(),
                item_id: item.id,
                message,
            };
            let held = held.get(&item.id).copied().unwrap_or(0);
            let mut quantity = i64::from(line.quantity);
            if !item.active {
                warnings.push(warning(
                    "ITEM_UNAVAILABLE",
                    format!("{} is no longer sold and was removed", item.name),
                ));
                dropped.push(item.id);
                continue;
            }
            if !item.consumable && !item.is_bundle() && held > 0 {
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
                }
                _ => {}
            }
            kept.push((line, item, quantity));
        }
        // A cart holds one currency. An operator may change an item's currency after it was
        // put in a cart: the currency its oldest line was seen in stays, and lines now priced
        // in another are removed, rather than summed into one total or, for the oldest line
        // itself, silently charged in another currency (both found by attackers' passes).
        if let Some(currency) = kept.first().map(|(line, item, _)| {
            line.seen_currency
                .clone()
                .unwrap_or_else(|| item.currency.clone())
        }) {
            kept.retain(|(_, item, _)| {
                if item.currency == currency {
                    return true;
                }
                warnings.push(CartWarning {
                    code: "CURRENCY_MISMATCH".to_owned(),
                    item_id: item.id,
                    message: format!(
                        "{} is now priced in {}, not in your cart's {currency}; it was removed",
                        item.name, item.currency
                    ),
                });
                dropped.push(item.id);
                false
            });
        }
        let wanted: Vec<(items::Model, i64)> =
            kept.iter().map(|(_, item, q)| (item.clone(), *q)).collect();
        let mut lines = Vec::with_capacity(wanted.len());
        for (wanted, (line, _, _)) in wanted.into_iter().zip(&kept) {
            match pricing::price_lines(self.store, user.id(), vec![wanted], now).await {
                Ok(mut priced) => {
                    let priced = priced.remove(0);
                    let seen_other_currency = line
                        .seen_currency
                        .as_ref()
                        .is_some_and(|seen| *seen != priced.item.currency);
                    if seen_other_currency
                        || line
                            .seen_price_cents
                            .is_some_and(|seen| seen != priced.unit_price_cents)
                    {
                        warnings.push(CartWarning {
                            code: "PRICE_CHANGED".to_owned(),
                            item_id: priced.item.id,
                            message: format!(
                                "{} now costs {}",
                                priced.item.name,
                                api_types::format_money(
                                    priced.unit_price_cents,
                                    &priced.item.currency
                                )
                            ),
                        });
                    }
                    if line.seen_price_cents != Some(priced.unit_price_cents)
                        || line.seen_currency.as_deref() != Some(priced.item.currency.as_str())
                        || i64::from(line.quantity) != priced.quantity
                    {
                        changed.push((
                            priced.item.id,
                            priced.quantity,
                            priced.unit_price_cents,
                            priced.item.currency.clone(),
                        ));
                    }
                    lines.push(priced);
                }
                Err(Error::Conflict { code, message }) => {
                    warnings.push(CartWarning {
                        code: code.to_owned(),
                        item_id: line.item_id,
                        message: format!("{message}; it was removed"),
                    });
                    dropped.push(line.item_id);
                }
                Err(e) => return Err(e),
            }
        }
        if !dropped.is_empty() || !changed.is_empty() {
            self.correct(user.id(), &dropped, &changed).await?;
        }
        let currency = lines
            .first()
            .map_or_else(|| DEFAULT_CURRENCY.to_owned(), |l| l.item.currency.clone());
        let promo = self.promo_of(user.id()).await?;
        let promo = match promo {
            None => None,
            Some(promo) => {
                let views = pricing::promo_views(&lines);
                match promotions::check(
                    self.store.db(),
                    Some(&promo),
                    user.id(),
                    &views,
                    &currency,
                    now,
                )
                .await
                {
                    Ok(()) => Some(promo),
                    Err(e) => {
                        warnings.push(CartWarning {
                            code: "PROMO_REMOVED".to_owned(),
                            item_id: 0,
                            message: format!(
                                "the promo code {} was removed: {}",
                                promo.code,
                                e.public_message()
                            ),
                        });
                        self.set_promo(user.id(), None).await?;
                        None
                    }
                }
            }
        };
        let priced = pricing::total(lines, promo.as_ref());
        Ok(Cart {
            lines: priced
                .lines
                .iter()
                .map(|l| CartLine {
                    item_id: l.item.id,
                    sku: l.item.sku.clone(),
                    name: l.item.name.clone(),
                    image: l.item.image.clone(),
                    quantity: u32::try_from(l.quantity).unwrap_or_default(),
                    unit_price_cents: l.unit_price_cents,
                    discount_cents: l.discount_cents,
                    line_total_cents: l.line_total_cents,
                    consumable: l.item.consumable,
                    available: l.item.available(),
                })
                .collect(),
            subtotal_cents: priced.subtotal_cents,
            discount_cents: priced.discount_cents,
            total_cents: priced.total_cents,
            currency,
            promo_code: promo.map(|p| p.code),
            warnings,
        })
    }

    /// Applies a promo code to the cart, if it passes every check now (422 naming the first it
    /// fails: `PROMO_INVALID`, `PROMO_NOT_STARTED`, `PROMO_EXPIRED`, `PROMO_LIMIT_REACHED`,
    /// `PROMO_NOT_APPLICABLE`). It is checked again whenever the cart is read and at checkout.
    pub async fn apply_promo(&self, user: &CurrentUser, code: &str) -> Result<Cart> {
        crate::domain::check_text("code", code, false)?;
        let promo = match promotions::normalise_code(code) {
            Ok(code) => {
                promo_codes::Entity::find()
                    .filter(promo_codes::Column::Code.eq(code))
                    .one(self.store.db())
                    .await?
            }
            Err(_) => None,
        };
        let cart = self.get(user).await?;
        let wanted = self.wanted(user.id()).await?;
        let lines = pricing::price_lines(self.store, user.id(), wanted, Utc::now()).await?;
        let views = pricing::promo_views(&lines);
        promotions::check(
            self.store.db(),
            promo.as_ref(),
            user.id(),
            &views,
            &cart.currency,
            Utc::now(),
        )
        .await?;
        self.set_promo(user.id(), promo.map(|p| p.id)).await?;
        self.changed(user).await
    }

    /// Takes the promo code off the cart.
    pub async fn remove_promo(&self, user: &CurrentUser) -> Result<Cart> {
        self.set_promo(user.id(), None).await?;
        self.changed(user).await
    }

    async fn wanted(&self, user_id: Uuid) -> Result<Vec<(items::Model, i64)>> {
        Ok(cart_lines::Entity::find()
            .filter(cart_lines::Column::UserId.eq(user_id))
            .order_by_asc(cart_lines::Column::AddedAt)
            .order_by_asc(cart_lines::Column::ItemId)
            .find_also_related(items::Entity)
            .all(self.store.db())
            .await?
            .into_iter()
            .filter_map(|(line, item)| item.map(|i| (i, i64::from(line.quantity))))
            .collect())
    }

    async fn promo_of(&self, user_id: Uuid) -> Result<Option<promo_codes::Model>> {
        let Some(cart) = carts::Entity::find_by_id(user_id)
            .one(self.store.db())
            .await?
        else {
            return Ok(None);
        };
        let Some(id) = cart.promo_code_id else {
            return Ok(None);
        };
        Ok(promo_codes::Entity::find_by_id(id)
            .one(self.store.db())
            .await?)
    }

    async fn set_promo(&self, user_id: Uuid, promo_code_id: Option<i64>) -> Result<()> {
        carts::Entity::insert(carts::ActiveModel {
            user_id: Set(user_id),
            promo_code_id: Set(promo_code_id),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(carts::Column::UserId)
                .update_columns([carts::Column::PromoCodeId, carts::Column::UpdatedAt])
                .to_owned(),
        )
        .exec(self.store.db())
        .await?;
        Ok(())
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
        let seen = pricing::price_lines(
            self.store,
            user.id(),
            vec![(item.clone(), quantity)],
            Utc::now(),
        )
        .await?
        .remove(0)
        .unit_price_cents;
        // The other lines are read and this one written under the shopper's row lock (as a
        // checkout takes it), so two additions at once cannot both pass the currency or the
        // size check.
        let txn = crate::db::begin_write(self.store.db()).await?;
        crate::db::lock_user(&txn, user.id()).await?;
        let others = cart_lines::Entity::find()
            .filter(cart_lines::Column::UserId.eq(user.id()))
            .filter(cart_lines::Column::ItemId.ne(item_id))
            .order_by_asc(cart_lines::Column::AddedAt)
            .order_by_asc(cart_lines::Column::ItemId)
            .find_also_related(items::Entity)
            .all(&txn)
            .await?;
        // The cart's currency is the one its oldest line was seen in, as `get` reads it (a
        // line whose item moved to another since is dropped there, not taken as the cart's).
        let cart_currency = others.first().and_then(|(line, other)| {
            line.seen_currency
                .clone()
                .or_else(|| other.as_ref().map(|o| o.currency.clone()))
        });
        if cart_currency.is_some_and(|currency| currency != item.currency) {
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
        let others: Vec<items::Model> = others.into_iter().filter_map(|(_, o)| o).collect();
        refuse_overlap(&txn, &item, &others).await?;
        cart_lines::Entity::insert(cart_lines::ActiveModel {
            user_id: Set(user.id()),
            item_id: Set(item_id),
            quantity: Set(i32::try_from(quantity).unwrap_or(1)),
            added_at: Set(Utc::now()),
            seen_price_cents: Set(Some(seen)),
            seen_currency: Set(Some(item.currency.clone())),
        })
        .on_conflict(
            OnConflict::columns([cart_lines::Column::UserId, cart_lines::Column::ItemId])
                .update_columns([
                    cart_lines::Column::Quantity,
                    cart_lines::Column::SeenPriceCents,
                    cart_lines::Column::SeenCurrency,
                ])
                .to_owned(),
        )
        .exec(&txn)
        .await?;
        txn.commit().await?;
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

    async fn correct(
        &self,
        user_id: Uuid,
        dropped: &[i64],
        changed: &[(i64, i64, i64, String)],
    ) -> Result<()> {
        if !dropped.is_empty() {
            cart_lines::Entity::delete_many()
                .filter(cart_lines::Column::UserId.eq(user_id))
                .filter(cart_lines::Column::ItemId.is_in(dropped.iter().copied()))
                .exec(self.store.db())
                .await?;
        }
        for (item_id, quantity, seen, currency) in changed {
            cart_lines::Entity::update_many()
                .col_expr(
                    cart_lines::Column::Quantity,
                    Expr::value(i32::try_from(*quantity).unwrap_or(0)),
                )
                .col_expr(cart_lines::Column::SeenPriceCents, Expr::value(*seen))
                .col_expr(
                    cart_lines::Column::SeenCurrency,
                    Expr::value(currency.clone()),
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

/// An item sold once may be in a cart once: on its own or in one bundle (the checkout refuses
/// the rest with the same code, `pricing::check_together`; saying so as it is added is kinder).
async fn refuse_overlap(
    conn: &impl sea_orm::ConnectionTrait,
    item: &items::Model,
    others: &[items::Model],
) -> Result<()> {
    let gives = |i: &items::Model| {
        let mut ids = i.bundle_items();
        ids.push(i.id);
        ids
    };
    let mine = gives(item);
    let shared: Vec<i64> = others
        .iter()
        .flat_map(gives)
        .filter(|id| mine.contains(id))
        .collect();
    if shared.is_empty() {
        return Ok(());
    }
    let sold_once = items::Entity::find()
        .filter(items::Column::Id.is_in(shared))
        .filter(items::Column::Consumable.eq(false))
        .one(conn)
        .await?;
    match sold_once {
        Some(twice) => Err(Error::conflict(
            "DUPLICATE_IN_ORDER",
            format!(
                "{} is already in your cart, on its own or in a bundle; remove it first",
                twice.name
            ),
        )),
        None => Ok(()),
    }
}
