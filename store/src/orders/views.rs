//! Orders as clients see them: rows, their lines and items turned into the wire types.

use std::collections::HashMap;

use api_types::{LiveItem, Order, OrderItem, OrderLine, StatusChange};

use crate::entity::{items, order_lines, order_status_history as history, orders};
use crate::{Error, Result};

pub fn live_item(line: &order_lines::Model) -> LiveItem {
    LiveItem {
        id: line.item_id,
        name: line.name.clone(),
    }
}

pub fn to_change(row: &history::Model) -> StatusChange {
    StatusChange {
        from: row.from_status.map(Into::into),
        to: row.to_status.into(),
        reason: row.reason.clone(),
        at: row.at,
    }
}

fn to_line(line: &order_lines::Model, item: Option<&items::Model>) -> OrderLine {
    OrderLine {
        line_id: line.id,
        item_id: line.item_id,
        sku: line.sku.clone(),
        name: line.name.clone(),
        image: item.map(|i| i.image.clone()).unwrap_or_default(),
        quantity: u32::try_from(line.quantity).unwrap_or_default(),
        unit_price_cents: line.unit_price_cents,
        discount_cents: line.discount_cents,
        line_total_cents: line.line_total_cents,
        refunded: line.refunded_at.is_some(),
        self_refundable: false,
        refund_pending: line.refund_id.is_some() && line.refunded_at.is_none(),
    }
}

/// An order with its lines. `items` holds (at least) every item the lines name.
pub fn to_order(
    row: &orders::Model,
    lines: &[order_lines::Model],
    items: &HashMap<i64, items::Model>,
    history: Option<Vec<StatusChange>>,
) -> Result<Order> {
    let first = items.get(&row.item_id).ok_or_else(|| {
        Error::internal(format!(
            "order {} refers to a missing item {}",
            row.id, row.item_id
        ))
    })?;
    Ok(Order {
        order_id: row.id,
        user_id: row.user_id,
        status: row.status.into(),
        lines: lines
            .iter()
            .map(|l| to_line(l, items.get(&l.item_id)))
            .collect(),
        item_id: row.item_id,
        item: OrderItem {
            id: first.id,
            sku: first.sku.clone(),
            name: first.name.clone(),
            image: first.image.clone(),
            description: first.description.clone(),
            price: api_types::major_units(
                lines
                    .first()
                    .map_or(row.amount_cents, |l| l.unit_price_cents),
                &row.currency,
            ),
        },
        amount_cents: row.amount_cents,
        currency: row.currency.clone(),
        refunded_cents: row.refunded_cents,
        provider_transaction_id: row.provider_transaction_id.clone(),
        failure_reason: row.failure_reason.clone(),
        created_at: row.created_at,
        updated_at: row.updated_at,
        timestamp: row.created_at,
        history,
        gift: None,
        refundable_until: None,
    })
}

pub fn to_refund(row: &crate::entity::refunds::Model) -> api_types::Refund {
    api_types::Refund {
        refund_id: row.id,
        order_id: row.order_id,
        status: row.status.as_str().to_owned(),
        amount_cents: row.amount_cents,
        currency: row.currency.clone(),
        line_ids: items::ids_from_column(&row.line_ids),
        reason: row.reason.clone(),
        initiated_by: row.initiated_by.as_str().to_owned(),
        detail: row.detail.clone(),
        created_at: row.created_at,
        completed_at: row.completed_at,
    }
}
