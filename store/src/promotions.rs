//! Promo codes: what operators set up, what a shopper's code does to a cart, and the checks a
//! code passes, in a fixed order, wherever it is used (applied to a cart, read with it, checked
//! out). A use is taken at checkout by a conditional update and given back when the order fails
//! or expires (see `orders::lifecycle`).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _,
    PaginatorTrait as _, QueryFilter as _, QueryOrder as _, Set, SqlErr,
};
use uuid::Uuid;

use api_types::{NewPromoCode, PromoCode, PromoCodePatch};

use crate::accounts::CurrentUser;
use crate::audit::{self, Actor, Entry};
use crate::domain::{Money, Tags, discount};
use crate::entity::items::{ids_from_column, ids_to_column};
use crate::entity::{items, promo_codes, promo_uses};
use crate::{Error, Result, Store};

/// The code as stored: upper-case, 3–32 of `A-Z 0-9 _ -`.
pub fn normalise_code(raw: &str) -> Result<String> {
    let code = raw.trim().to_ascii_uppercase();
    let ok = (3..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if ok {
        Ok(code)
    } else {
        Err(Error::invalid(
            "code",
            "code must be 3–32 of A-Z, 0-9, '_' and '-'",
        ))
    }
}

pub struct Promotions<'a> {
    store: &'a Store,
}

impl<'a> Promotions<'a> {
    pub(crate) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    pub async fn create(&self, actor: &CurrentUser, new: NewPromoCode) -> Result<PromoCode> {
        actor.require_admin()?;
        let code = normalise_code(&new.code)?;
        let (percent_off, amount_off_cents) = match (new.percent_off, new.amount_off_cents) {
            (Some(p), None) if (1..=100).contains(&p) => (Some(p), None),
            (Some(_), None) => {
                return Err(Error::invalid("percent_off", "percent_off must be 1–100"));
            }
            (None, Some(cents)) => {
                let money = Money::parse(cents, new.currency.as_deref().unwrap_or("USD")).map_err(
                    |_| {
                        Error::invalid(
                            "amount_off_cents",
                            "amount_off_cents must be a positive amount in a supported currency",
                        )
                    },
                )?;
                (None, Some(money.cents()))
            }
            _ => {
                return Err(Error::invalid(
                    "percent_off",
                    "give exactly one of percent_off and amount_off_cents",
                ));
            }
        };
        let currency = Money::parse(1, new.currency.as_deref().unwrap_or("USD"))?
            .currency()
            .to_owned();
        if let (Some(starts), Some(ends)) = (new.starts_at, new.ends_at)
            && ends <= starts
        {
            return Err(Error::invalid("ends_at", "ends_at must be after starts_at"));
        }
        if let Some(starts) = new.starts_at {
            crate::domain::check_time("starts_at", starts)?;
        }
        if let Some(ends) = new.ends_at {
            crate::domain::check_time("ends_at", ends)?;
        }
        for (field, value) in [
            ("max_uses", new.max_uses),
            ("max_uses_per_user", new.max_uses_per_user),
        ] {
            if value.is_some_and(|n| n < 1) {
                return Err(Error::invalid(field, format!("{field} must be at least 1")));
            }
        }
        if new
            .min_subtotal_cents
            .is_some_and(|n| !(0..=Money::MAX_CENTS).contains(&n))
        {
            return Err(Error::invalid(
                "min_subtotal_cents",
                "min_subtotal_cents must be a non-negative amount",
            ));
        }
        let (item_ids, tags) = match (new.item_ids, new.tags) {
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "item_ids",
                    "give item_ids or tags, not both",
                ));
            }
            (Some(ids), None) => {
                if ids.is_empty() || ids.len() > 100 {
                    return Err(Error::invalid("item_ids", "item_ids must list 1–100 items"));
                }
                let found = items::Entity::find()
                    .filter(items::Column::Id.is_in(ids.iter().copied()))
                    .count(self.store.db())
                    .await?;
                let mut distinct = ids.clone();
                distinct.sort_unstable();
                distinct.dedup();
                if found != distinct.len() as u64 {
                    return Err(Error::invalid("item_ids", "item_ids names an unknown item"));
                }
                (ids_to_column(&distinct), String::new())
            }
            (None, Some(tags)) => {
                // Checked once parsed: blank entries are dropped, and no tags would mean every
                // item (found by an attacker's pass: `["  "]` made a code for everything).
                let column = Tags::parse(&tags)?.to_column();
                if column.is_empty() {
                    return Err(Error::invalid("tags", "tags must list at least one tag"));
                }
                (String::new(), column)
            }
            (None, None) => (String::new(), String::new()),
        };
        let now = Utc::now();
        let row = promo_codes::ActiveModel {
            code: Set(code),
            percent_off: Set(percent_off),
            amount_off_cents: Set(amount_off_cents),
            currency: Set(currency),
            starts_at: Set(new.starts_at),
            ends_at: Set(new.ends_at),
            max_uses: Set(new.max_uses),
            max_uses_per_user: Set(new.max_uses_per_user),
            min_subtotal_cents: Set(new.min_subtotal_cents),
            item_ids: Set(item_ids),
            tags: Set(tags),
            uses: Set(0),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        let txn = crate::db::begin_write(self.store.db()).await?;
        let row = row.insert(&txn).await.map_err(|e| match e.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                Error::conflict("PROMO_CODE_TAKEN", "that promo code exists already")
            }
            _ => e.into(),
        })?;
        let promo = to_promo(&row);
        audit::record(
            &txn,
            Entry::new(
                Actor::user(actor),
                audit::action::PROMO_CREATE,
                "promo_code",
                &promo.code,
                serde_json::to_value(&promo).unwrap_or_default(),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(promo)
    }

    pub async fn list(&self) -> Result<Vec<PromoCode>> {
        Ok(promo_codes::Entity::find()
            .order_by_desc(promo_codes::Column::CreatedAt)
            .all(self.store.db())
            .await?
            .iter()
            .map(to_promo)
            .collect())
    }

    pub async fn update(
        &self,
        actor: &CurrentUser,
        code: &str,
        patch: PromoCodePatch,
    ) -> Result<PromoCode> {
        actor.require_admin()?;
        let code = normalise_code(code).map_err(|_| Error::NotFound("promo code"))?;
        let row = promo_codes::Entity::find()
            .filter(promo_codes::Column::Code.eq(code))
            .one(self.store.db())
            .await?
            .ok_or(Error::NotFound("promo code"))?;
        let mut active: promo_codes::ActiveModel = row.clone().into();
        if let Some(flag) = patch.active {
            active.active = Set(flag);
        }
        if let Some(ends_at) = patch.ends_at {
            if let (Some(starts), Some(ends)) = (row.starts_at, ends_at)
                && ends <= starts
            {
                return Err(Error::invalid("ends_at", "ends_at must be after starts_at"));
            }
            if let Some(ends) = ends_at {
                crate::domain::check_time("ends_at", ends)?;
            }
            active.ends_at = Set(ends_at);
        }
        if let Some(max_uses) = patch.max_uses {
            if max_uses.is_some_and(|n| n < 1) {
                return Err(Error::invalid("max_uses", "max_uses must be at least 1"));
            }
            active.max_uses = Set(max_uses);
        }
        active.updated_at = Set(Utc::now());
        let txn = crate::db::begin_write(self.store.db()).await?;
        let updated = to_promo(&active.update(&txn).await?);
        let before = serde_json::to_value(to_promo(&row)).unwrap_or_default();
        let after = serde_json::to_value(&updated).unwrap_or_default();
        audit::record(
            &txn,
            Entry::new(
                Actor::user(actor),
                audit::action::PROMO_UPDATE,
                "promo_code",
                &updated.code,
                audit::diff(&before, &after),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(updated)
    }
}

/// A line as a promo code sees it: its item and its total before any discount.
pub struct PricedLine<'a> {
    pub item: &'a items::Model,
    pub total_cents: i64,
}

/// What a code does to a cart's lines: each line's discount (0 for lines it does not cover).
pub fn discounts(promo: &promo_codes::Model, lines: &[PricedLine<'_>]) -> Vec<i64> {
    let eligible: Vec<bool> = lines.iter().map(|l| covers(promo, l.item)).collect();
    let totals: Vec<i64> = lines
        .iter()
        .zip(&eligible)
        .map(|(l, ok)| if *ok { l.total_cents } else { 0 })
        .collect();
    match (promo.percent_off, promo.amount_off_cents) {
        (Some(percent), _) => discount::percent_off(&totals, i64::from(percent)),
        (None, Some(amount)) => discount::amount_off(&totals, amount),
        (None, None) => vec![0; lines.len()],
    }
}

fn covers(promo: &promo_codes::Model, item: &items::Model) -> bool {
    let by_id = ids_from_column(&promo.item_ids);
    let by_tag = Tags::from_column(&promo.tags);
    if !by_id.is_empty() {
        return by_id.contains(&item.id);
    }
    if !by_tag.is_empty() {
        let tags = Tags::from_column(&item.tags);
        return by_tag.iter().any(|t| tags.contains(t));
    }
    true
}

/// The checks a code passes, in this order: it exists and is active (`PROMO_INVALID`), it has
/// started (`PROMO_NOT_STARTED`), it has not ended (`PROMO_EXPIRED`), uses are left in all and
/// for this shopper (`PROMO_LIMIT_REACHED`), and it covers something in the cart with the
/// minimum met (`PROMO_NOT_APPLICABLE`).
pub async fn check(
    conn: &impl ConnectionTrait,
    promo: Option<&promo_codes::Model>,
    user_id: Uuid,
    lines: &[PricedLine<'_>],
    currency: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(promo) = promo.filter(|p| p.active) else {
        return Err(Error::unprocessable(
            "PROMO_INVALID",
            "that promo code is not valid",
        ));
    };
    if promo.starts_at.is_some_and(|starts| now < starts) {
        return Err(Error::unprocessable(
            "PROMO_NOT_STARTED",
            "that promo code is not valid yet",
        ));
    }
    if promo.ends_at.is_some_and(|ends| now >= ends) {
        return Err(Error::unprocessable(
            "PROMO_EXPIRED",
            "that promo code has expired",
        ));
    }
    let used_up = promo.max_uses.is_some_and(|max| promo.uses >= max);
    let used_by_user = match promo.max_uses_per_user {
        None => false,
        Some(max) => {
            promo_uses::Entity::find()
                .filter(promo_uses::Column::PromoCodeId.eq(promo.id))
                .filter(promo_uses::Column::UserId.eq(user_id))
                .count(conn)
                .await?
                >= u64::try_from(max).unwrap_or(0)
        }
    };
    if used_up || used_by_user {
        return Err(Error::unprocessable(
            "PROMO_LIMIT_REACHED",
            "that promo code has been used as often as it may be",
        ));
    }
    let covered: i64 = lines
        .iter()
        .filter(|l| covers(promo, l.item))
        .map(|l| l.total_cents)
        .sum();
    // An amount off, or a minimum, is money in the code's currency: it applies to carts in that
    // currency only (a minimum of 5000 is $50.00, not ¥5000).
    let wrong_currency = (promo.amount_off_cents.is_some() || promo.min_subtotal_cents.is_some())
        && promo.currency != currency;
    if covered == 0 || wrong_currency || promo.min_subtotal_cents.is_some_and(|min| covered < min) {
        return Err(Error::unprocessable(
            "PROMO_NOT_APPLICABLE",
            match promo.min_subtotal_cents {
                _ if wrong_currency => {
                    format!("that promo code is for carts priced in {}", promo.currency)
                }
                Some(min) if covered > 0 && covered < min => format!(
                    "that promo code needs {} of eligible items",
                    api_types::format_money(min, &promo.currency)
                ),
                _ => "that promo code does not apply to anything in your cart".to_owned(),
            },
        ));
    }
    Ok(())
}

/// Takes one use of a code for an order, in the checkout transaction: a conditional update,
/// so concurrent checkouts can never use it more than `max_uses` times.
pub async fn take_use(
    conn: &impl ConnectionTrait,
    promo: &promo_codes::Model,
    user_id: Uuid,
    order_id: Uuid,
) -> Result<()> {
    let mut update = promo_codes::Entity::update_many()
        .col_expr(
            promo_codes::Column::Uses,
            Expr::col(promo_codes::Column::Uses).add(1),
        )
        .filter(promo_codes::Column::Id.eq(promo.id))
        .filter(promo_codes::Column::Active.eq(true));
    if let Some(max) = promo.max_uses {
        update = update.filter(promo_codes::Column::Uses.lt(max));
    }
    if update.exec(conn).await?.rows_affected != 1 {
        return Err(Error::unprocessable(
            "PROMO_LIMIT_REACHED",
            "that promo code has been used as often as it may be",
        ));
    }
    promo_uses::ActiveModel {
        promo_code_id: Set(promo.id),
        user_id: Set(user_id),
        order_id: Set(order_id),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

/// Gives an order's use of a code back (the order failed or expired).
pub async fn give_back(conn: &impl ConnectionTrait, order_id: Uuid) -> Result<()> {
    let Some(used) = promo_uses::Entity::find()
        .filter(promo_uses::Column::OrderId.eq(order_id))
        .one(conn)
        .await?
    else {
        return Ok(());
    };
    promo_uses::Entity::delete_by_id(used.id).exec(conn).await?;
    promo_codes::Entity::update_many()
        .col_expr(
            promo_codes::Column::Uses,
            Expr::col(promo_codes::Column::Uses).sub(1),
        )
        .filter(promo_codes::Column::Id.eq(used.promo_code_id))
        .exec(conn)
        .await?;
    Ok(())
}

pub fn to_promo(row: &promo_codes::Model) -> PromoCode {
    PromoCode {
        code: row.code.clone(),
        percent_off: row.percent_off,
        amount_off_cents: row.amount_off_cents,
        currency: row.currency.clone(),
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        max_uses: row.max_uses,
        max_uses_per_user: row.max_uses_per_user,
        min_subtotal_cents: row.min_subtotal_cents,
        item_ids: ids_from_column(&row.item_ids),
        tags: Tags::from_column(&row.tags),
        uses: row.uses,
        active: row.active,
        created_at: row.created_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_upper_case_and_plain() {
        assert_eq!(normalise_code(" save-10 ").ok().as_deref(), Some("SAVE-10"));
        assert!(normalise_code("ab").is_err());
        assert!(normalise_code(&"A".repeat(33)).is_err());
        assert!(normalise_code("NO SPACE").is_err());
        assert!(normalise_code("ÜBER").is_err());
    }
}
