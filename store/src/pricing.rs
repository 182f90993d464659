//! What a set of lines costs one shopper now, in one place for the cart and the checkout: the
//! price in force (a sale's while it is on; a bundle's price for this shopper, which grants only
//! the items they do not own), and the promo code's discount per line. Every amount is integer
//! cents; a discount is rounded half-even per line and never makes a line negative, and the
//! lines always sum to the total.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::entity::{items, promo_codes};
use crate::promotions::{self, PricedLine};
use crate::{Error, Result, Store};

/// One line, priced.
#[derive(Debug, Clone)]
pub struct Line {
    pub item: items::Model,
    pub quantity: i64,
    pub unit_price_cents: i64,
    pub discount_cents: i64,
    pub line_total_cents: i64,
    /// A bundle's items this line grants (the ones the shopper does not own yet).
    pub granted: Vec<i64>,
}

impl Line {
    pub fn gross_cents(&self) -> i64 {
        self.unit_price_cents * self.quantity
    }
}

#[derive(Debug, Clone)]
pub struct Priced {
    pub lines: Vec<Line>,
    pub subtotal_cents: i64,
    pub discount_cents: i64,
    pub total_cents: i64,
}

/// The price in force for each line (no discount yet). A bundle whose items the shopper owns
/// already is refused with `ALREADY_OWNED`.
pub async fn price_lines(
    store: &Store,
    user_id: Uuid,
    wanted: Vec<(items::Model, i64)>,
    now: DateTime<Utc>,
) -> Result<Vec<Line>> {
    let mut lines = Vec::with_capacity(wanted.len());
    // Every item the order would give, with its units, and what the buyer already holds of
    // the items a bundle grants.
    let mut given: Vec<(items::Model, i64)> = Vec::new();
    let mut held: HashMap<i64, i64> = HashMap::new();
    for (item, quantity) in wanted {
        let (unit, granted) = match store.catalog().bundle_quote(user_id, &item).await? {
            None => (item.price_at(now), Vec::new()),
            Some(quote) if quote.missing_item_ids.is_empty() => {
                return Err(Error::conflict(
                    "ALREADY_OWNED",
                    format!("you already own everything in {}", item.name),
                ));
            }
            Some(quote) => {
                for part in &quote.missing {
                    check_part(&item, part, quote.held.get(&part.id).copied().unwrap_or(0))?;
                    given.push((part.clone(), 1));
                }
                held.extend(quote.held);
                (quote.price_cents, quote.missing_item_ids)
            }
        };
        given.push((item.clone(), quantity));
        lines.push(Line {
            item,
            quantity,
            unit_price_cents: unit,
            discount_cents: 0,
            line_total_cents: unit * quantity,
            granted,
        });
    }
    check_together(&given, &held)?;
    Ok(lines)
}

/// A bundle grants the items it holds that the buyer does not, as though each were bought
/// with it: each must still be on sale, of unlimited stock (a bundle takes no units of its
/// items, so a limited one, and so a keyed one, would be oversold), and within its limit per
/// customer. Operators cannot put such items in a bundle or limit one that is in a bundle;
/// this also refuses bundles made before those rules, or in a race with them.
fn check_part(bundle: &items::Model, part: &items::Model, held: i64) -> Result<()> {
    if !part.active {
        return Err(Error::conflict(
            "ITEM_UNAVAILABLE",
            format!(
                "{} is not on sale right now: {} is no longer sold",
                bundle.name, part.name
            ),
        ));
    }
    if part.stock.is_some() {
        return Err(Error::conflict(
            "ITEM_UNAVAILABLE",
            format!(
                "{} is not on sale right now: {} is sold in limited numbers, on its own only",
                bundle.name, part.name
            ),
        ));
    }
    if let Some(max) = part.max_per_user
        && held + 1 > i64::from(max)
    {
        return Err(Error::conflict(
            "PER_USER_LIMIT",
            format!(
                "at most {max} of {} per customer, and {} includes one",
                part.name, bundle.name
            ),
        ));
    }
    Ok(())
}

/// One order never gives an item twice that is sold once (on its own and in a bundle, or in
/// two bundles: it would be paid for twice), nor more of an item than its limit per customer
/// across its lines. Each line on its own was checked already.
fn check_together(given: &[(items::Model, i64)], held: &HashMap<i64, i64>) -> Result<()> {
    let mut units: HashMap<i64, (&items::Model, i64)> = HashMap::new();
    for (item, quantity) in given {
        units.entry(item.id).or_insert((item, 0)).1 += quantity;
    }
    for (item, count) in units.into_values() {
        if count == 1 {
            continue;
        }
        if !item.consumable {
            return Err(Error::conflict(
                "DUPLICATE_IN_ORDER",
                format!(
                    "{} is in this order more than once (on its own or in a bundle); remove one",
                    item.name
                ),
            ));
        }
        if let Some(max) = item.max_per_user
            && held.get(&item.id).copied().unwrap_or(0) + count > i64::from(max)
        {
            return Err(Error::conflict(
                "PER_USER_LIMIT",
                format!(
                    "at most {max} of {} per customer, counting the bundles in this order",
                    item.name
                ),
            ));
        }
    }
    Ok(())
}

/// Applies a promo code's discount (already checked) to priced lines, and totals them.
pub fn total(mut lines: Vec<Line>, promo: Option<&promo_codes::Model>) -> Priced {
    if let Some(promo) = promo {
        let views: Vec<PricedLine<'_>> = lines
            .iter()
            .map(|l| PricedLine {
                item: &l.item,
                total_cents: l.gross_cents(),
            })
            .collect();
        let discounts = promotions::discounts(promo, &views);
        for (line, discount) in lines.iter_mut().zip(discounts) {
            line.discount_cents = discount.min(line.gross_cents());
            line.line_total_cents = line.gross_cents() - line.discount_cents;
        }
    }
    let subtotal_cents = lines.iter().map(Line::gross_cents).sum();
    let discount_cents = lines.iter().map(|l| l.discount_cents).sum();
    let total_cents = lines.iter().map(|l| l.line_total_cents).sum();
    Priced {
        lines,
        subtotal_cents,
        discount_cents,
        total_cents,
    }
}

/// The views a promo code's checks need.
pub fn promo_views(lines: &[Line]) -> Vec<PricedLine<'_>> {
    lines
        .iter()
        .map(|l| PricedLine {
            item: &l.item,
            total_cents: l.gross_cents(),
        })
        .collect()
}
