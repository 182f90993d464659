//! Orders as clients see them: rows and their items turned into the wire types.

use api_types::{LiveItem, Order, OrderItem, StatusChange};

use crate::entity::{items, order_status_history as history, orders};

pub fn live_item(item: &items::Model) -> LiveItem {
    LiveItem {
        id: item.id,
        name: item.name.clone(),
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

pub fn to_order(
    row: &orders::Model,
    item: &items::Model,
    history: Option<Vec<StatusChange>>,
) -> Order {
    Order {
        order_id: row.id,
        user_id: row.user_id,
        status: row.status.into(),
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
