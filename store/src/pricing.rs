//! What a set of lines costs one shopper now, in one place for the cart and the checkout: the
//! price in force (a sale's while it is on; a bundle's price for this shopper, which grants only
//! the items they do not own), and the promo code's discount per line. Every amount is integer
//! cents; a discount is rounded half-even per line and never makes a line negative, and the
//! lines always sum to the total.

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
    for (item, quantity) in wanted {
        let (unit, granted) = match store.catalog().bundle_quote(user_id, &item).await? {
            None => (item.price_at(now), Vec::new()),
            Some(quote) if quote.missing_item_ids.is_empty() => {
                return Err(Error::conflict(
                    "ALREADY_OWNED",
                    format!("you already own everything in {}", item.name),
                ));
            }
            Some(quote) => (quote.price_cents, quote.missing_item_ids),
        };
        lines.push(Line {
            item,
            quantity,
            unit_price_cents: unit,
            discount_cents: 0,
            line_total_cents: unit * quantity,
            granted,
        });
    }
    Ok(lines)
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
