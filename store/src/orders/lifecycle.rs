//! The order state machine, in one place: the states, what each event does in each state
//! ([`decide`], pure and table-tested), and the one function that moves an order
//! ([`transition`]: a conditional update and its history row, in the caller's transaction).
//!
//! ```text
//! pending ── PaymentConfirmed ──▶ paid ── PartialRefund ──▶ partially_refunded ─┐
//!    │                              │                           │ PartialRefund ◀┘
//!    │                              └── ProviderRefund / Canceled ──┴──▶ refunded
//!    ├─ PaymentDeclined / Canceled / ProviderUnreachable ──▶ failed
//!    └─ Expired ──▶ expired
//! ```
//!
//! Money moves only through [`refund`]: the provider's `payment.refunded` webhook (for a refund
//! the store asked for, or one the provider made unasked), which adds to `refunded_cents` in
//! the same conditional update that moves the order. Whether a refund is partial or the rest
//! is decided on the order as read, so two refunds racing each other are decided in turn.
//!
//! Every move is `UPDATE … WHERE id = ? AND status = <what it was read as>`, so racing actors
//! (duplicate webhooks, the expiry sweep on every replica, an operator) cannot both win: the
//! loser re-reads the order and decides again on its new state. [`transition`] returns the live
//! message the move calls for; the caller publishes it after its transaction commits.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait as _};
use sea_orm::{
    ActiveModelTrait as _, ColumnTrait as _, ConnectionTrait, EntityTrait as _, ModelTrait as _,
    QueryFilter as _, QuerySelect as _, Set,
};
use uuid::Uuid;

use api_types::LiveMessage;

pub use crate::entity::Status;
use crate::entity::{items, order_lines, order_status_history as history, orders};
use crate::{Error, Result};

/// Something that happened to an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// The provider confirmed the payment.
    PaymentConfirmed,
    /// The provider declined the payment.
    PaymentDeclined,
    /// The provider gave back everything not yet refunded (a refund or a chargeback).
    ProviderRefund,
    /// The provider gave back part of what is left.
    PartialRefund,
    /// Xsolla's `order_canceled`: a pending order fails, a paid one is refunded.
    Canceled,
    /// The payment was not confirmed in time (the expiry sweep).
    Expired,
    /// The provider could not be asked to take the payment.
    ProviderUnreachable,
}

impl Event {
    pub const ALL: [Event; 7] = [
        Event::PaymentConfirmed,
        Event::PaymentDeclined,
        Event::ProviderRefund,
        Event::PartialRefund,
        Event::Canceled,
        Event::Expired,
        Event::ProviderUnreachable,
    ];
}

/// What an event does to an order in a given state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The order moves to this state.
    Move(Status),
    /// Nothing to do: the order is already there, or the event is stale. A repeat is not an
    /// error (a provider's redelivery is answered 2xx).
    Unchanged,
    /// A refund that overtook its payment: kept until the payment lands, then applied.
    Defer,
    /// A payment for an order that already failed or expired: recorded for an operator, who
    /// refunds it at the provider; the order is not revived.
    LatePayment,
}

/// The whole state machine: every event in every state.
pub fn decide(event: Event, current: Status) -> Decision {
    use Decision::{Defer, LatePayment, Move, Unchanged};
    use Status::{Expired, Failed, Paid, PartiallyRefunded, Pending, Refunded};
    match (event, current) {
        (Event::PaymentConfirmed, Pending) => Move(Paid),
        (Event::PaymentConfirmed, Paid | PartiallyRefunded | Refunded) => Unchanged,
        (Event::PaymentConfirmed, Failed | Expired) => LatePayment,

        (Event::PaymentDeclined | Event::ProviderUnreachable, Pending) => Move(Failed),
        (Event::PaymentDeclined | Event::ProviderUnreachable, _) => Unchanged,

        (Event::ProviderRefund, Paid | PartiallyRefunded) => Move(Refunded),
        (Event::PartialRefund, Paid | PartiallyRefunded) => Move(PartiallyRefunded),
        (Event::ProviderRefund | Event::PartialRefund, Pending) => Defer,
        (Event::ProviderRefund | Event::PartialRefund, Refunded | Failed | Expired) => Unchanged,

        (Event::Canceled, Pending) => Move(Failed),
        (Event::Canceled, Paid | PartiallyRefunded) => Move(Refunded),
        (Event::Canceled, Refunded | Failed | Expired) => Unchanged,

        (Event::Expired, Pending) => Move(Expired),
        (Event::Expired, _) => Unchanged,
    }
}

/// What is written down with a move: the reason the shopper sees (a default per move when
/// `None`), the provider's transaction id, and a detail for operators only.
#[derive(Debug, Clone, Copy, Default)]
pub struct Note<'a> {
    pub reason: Option<&'a str>,
    pub transaction_id: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// The result of [`transition`].
#[derive(Debug, Clone)]
pub struct Applied {
    pub decision: Decision,
    /// The order as it was when the decision was taken.
    pub order: orders::Model,
    /// What to publish once the transaction commits (only when the order moved).
    pub message: Option<LiveMessage>,
    /// Units of limited stock were given back: the catalog's `available` changed.
    pub stock_released: bool,
    /// A paid gift: `gift_received` for its recipient, published with `message`.
    pub gift: Option<LiveMessage>,
}

impl Applied {
    pub fn moved(&self) -> bool {
        matches!(self.decision, Decision::Move(_))
    }
}

/// How often a lost race is re-decided before giving up: three actors changing one order
/// within one transaction's lifetime is already more than the state machine allows.
const ATTEMPTS: usize = 3;

/// Applies `event` to an order inside `conn` (the caller's transaction): decides on the order's
/// current state and, for a move, updates it conditionally and records the change in its
/// history; an order that fails or expires gives back its units and its promo code's use, in
/// the same transaction, so both come back exactly once. A lost race is decided again on the
/// order's new state.
pub async fn transition(
    conn: &impl ConnectionTrait,
    order_id: Uuid,
    event: Event,
    note: Note<'_>,
) -> Result<Applied> {
    let order = find(conn, order_id).await?;
    transition_from(conn, order, event, note).await
}

/// [`transition`] for an order the caller has just read in the same transaction (a webhook
/// reads it to check the amount first): the first decision is taken on that row, which saves
/// reading it again; a lost race reads it anew.
pub async fn transition_from(
    conn: &impl ConnectionTrait,
    mut order: orders::Model,
    event: Event,
    note: Note<'_>,
) -> Result<Applied> {
    let order_id = order.id;
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            order = find(conn, order_id).await?;
        }
        let decision = decide(event, order.status);
        let Decision::Move(to) = decision else {
            return Ok(Applied {
                decision,
                order,
                message: None,
                stock_released: false,
                gift: None,
            });
        };
        let reason = note.reason.unwrap_or_else(|| default_reason(event, to));
        if !update(conn, &order, to, reason, note).await? {
            continue;
        }
        metrics::counter!("gamestore_order_transitions_total", "to" => api_types::OrderStatus::from(to).as_str())
            .increment(1);
        record(conn, order_id, Some(order.status), to, Some(reason)).await?;
        let mut lines = if to == Status::Paid {
            // Stamped once, here: what the dashboard's best sellers read. The stamp reads the
            // lines back (`RETURNING`), one statement for both.
            order_lines::Entity::update_many()
                .col_expr(order_lines::Column::PaidAt, Expr::value(Utc::now()))
                .filter(order_lines::Column::OrderId.eq(order_id))
                .exec_with_returning(conn)
                .await?
        } else {
            order.find_related(order_lines::Entity).all(conn).await?
        };
        lines.sort_unstable_by_key(|line| line.id);
        let mut gift = None;
        if to == Status::Paid {
            // Fulfilment: one license key per unit of a keyed item, in this same transaction.
            crate::keys::assign(conn, &order, &lines).await?;
            gift = gift_message(conn, &order, &lines).await?;
            // The receipt (and a gift's notice) go out through the outbox, written here.
            crate::mail::order_paid(conn, &order, &lines).await?;
        }
        if to == Status::Refunded {
            // Everything back: every line is taken back (those not already).
            lines.retain(|line| line.refunded_at.is_none());
            mark_refunded(conn, &lines).await?;
            if matches!(order.status, Status::Paid | Status::PartiallyRefunded) {
                let amount = order.amount_cents - order.refunded_cents;
                crate::mail::order_refunded(conn, &order, &lines, amount, order.amount_cents)
                    .await?;
            }
        }
        // A pending order holds its units; failing or expiring gives them back, here, in the
        // same transaction as the move, so they come back exactly once. A refund does not:
        // the units were sold.
        let stock_released =
            if order.status == Status::Pending && matches!(to, Status::Failed | Status::Expired) {
                crate::promotions::give_back(conn, order_id).await?;
                release_units(conn, &lines).await?
            } else {
                false
            };
        let message = live_message(&order, &lines, to, reason, order.amount_cents);
        return Ok(Applied {
            decision,
            order,
            message: Some(message),
            stock_released,
            gift,
        });
    }
    let order = find(conn, order_id).await?;
    tracing::warn!(%order_id, ?event, "an order kept changing under a transition; left as it is");
    Ok(Applied {
        decision: Decision::Unchanged,
        order,
        message: None,
        stock_released: false,
        gift: None,
    })
}

/// A refund the provider reports done: `amount_cents` given back, of which `reserved_cents`
/// was set aside when the store asked for it, taking back the order lines `line_ids` (none: a
/// refund by amount, which revokes nothing until the whole payment is back).
#[derive(Debug, Clone, Copy)]
pub struct Refunding<'a> {
    pub amount_cents: i64,
    pub reserved_cents: i64,
    pub line_ids: &'a [i64],
    pub reason: &'a str,
}

/// Applies a refund to an order inside `conn`: partial, or the rest (decided on the order as
/// read, the move conditional on both its state and its `refunded_cents`), recorded in its
/// history with the lines it took back. A refund for more than was paid and not yet refunded
/// or asked for is refused (`REFUND_EXCEEDS_CAPTURED`) and changes nothing. A reserved refund
/// that finds the order already refunded gives its reservation back.
pub async fn refund(
    conn: &impl ConnectionTrait,
    order_id: Uuid,
    r: Refunding<'_>,
) -> Result<Applied> {
    for _ in 0..ATTEMPTS {
        let order = orders::Entity::find_by_id(order_id)
            .one(conn)
            .await?
            .ok_or(Error::NotFound("order"))?;
        // Saturating: an amount near `i64::MAX` must fail the check, not wrap past it.
        let after = order.refunded_cents.saturating_add(r.amount_cents);
        let others_pending = order.refund_pending_cents.saturating_sub(r.reserved_cents);
        let refundable = matches!(order.status, Status::Paid | Status::PartiallyRefunded);
        if refundable && after.saturating_add(Ord::max(others_pending, 0)) > order.amount_cents {
            return Err(Error::unprocessable(
                "REFUND_EXCEEDS_CAPTURED",
                format!(
                    "a refund of {} would exceed what is left of the {} paid ({} refunded, {} asked for)",
                    r.amount_cents,
                    order.amount_cents,
                    order.refunded_cents,
                    order.refund_pending_cents
                ),
            ));
        }
        let event = if after >= order.amount_cents {
            Event::ProviderRefund
        } else {
            Event::PartialRefund
        };
        let decision = decide(event, order.status);
        let Decision::Move(to) = decision else {
            if decision == Decision::Unchanged && r.reserved_cents > 0 {
                release_reservation(conn, order_id, r.reserved_cents).await?;
            }
            return Ok(Applied {
                decision,
                order,
                message: None,
                stock_released: false,
                gift: None,
            });
        };
        let moved = orders::Entity::update_many()
            .col_expr(orders::Column::Status, Expr::value(to))
            .col_expr(
                orders::Column::RefundedCents,
                Expr::col(orders::Column::RefundedCents).add(r.amount_cents),
            )
            .col_expr(
                orders::Column::RefundPendingCents,
                Expr::col(orders::Column::RefundPendingCents).sub(r.reserved_cents),
            )
            .col_expr(orders::Column::UpdatedAt, Expr::value(Utc::now()))
            .filter(orders::Column::Id.eq(order_id))
            .filter(orders::Column::Status.eq(order.status))
            .filter(orders::Column::RefundedCents.eq(order.refunded_cents))
            .exec(conn)
            .await?
            .rows_affected
            == 1;
        if !moved {
            continue;
        }
        metrics::counter!("gamestore_order_transitions_total", "to" => api_types::OrderStatus::from(to).as_str())
            .increment(1);
        record(conn, order_id, Some(order.status), to, Some(r.reason)).await?;
        let mut lines = order.find_related(order_lines::Entity).all(conn).await?;
        lines.retain(|line| {
            line.refunded_at.is_none() && (to == Status::Refunded || r.line_ids.contains(&line.id))
        });
        mark_refunded(conn, &lines).await?;
        crate::mail::order_refunded(conn, &order, &lines, r.amount_cents, after).await?;
        let message = live_message(&order, &lines, to, r.reason, after);
        return Ok(Applied {
            decision,
            order,
            message: Some(message),
            stock_released: false,
            gift: None,
        });
    }
    let order = orders::Entity::find_by_id(order_id)
        .one(conn)
        .await?
        .ok_or(Error::NotFound("order"))?;
    tracing::warn!(%order_id, "an order kept changing under a refund; left as it is");
    Ok(Applied {
        decision: Decision::Unchanged,
        order,
        message: None,
        stock_released: false,
        gift: None,
    })
}

/// Gives back what a refund request set aside (the provider would not take it, or the order
/// was refunded another way first).
pub async fn release_reservation(
    conn: &impl ConnectionTrait,
    order_id: Uuid,
    reserved_cents: i64,
) -> Result<()> {
    orders::Entity::update_many()
        .col_expr(
            orders::Column::RefundPendingCents,
            Expr::col(orders::Column::RefundPendingCents).sub(reserved_cents),
        )
        .filter(orders::Column::Id.eq(order_id))
        .filter(orders::Column::RefundPendingCents.gte(reserved_cents))
        .exec(conn)
        .await?;
    Ok(())
}

/// Marks lines as taken back: they leave the buyer's library, and their license keys are
/// revoked.
async fn mark_refunded(conn: &impl ConnectionTrait, lines: &[order_lines::Model]) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    order_lines::Entity::update_many()
        .col_expr(order_lines::Column::RefundedAt, Expr::value(Utc::now()))
        .filter(order_lines::Column::Id.is_in(lines.iter().map(|l| l.id)))
        .filter(order_lines::Column::RefundedAt.is_null())
        .exec(conn)
        .await?;
    let ids: Vec<i64> = lines.iter().map(|l| l.id).collect();
    crate::keys::revoke(conn, &ids).await
}

/// Gives an order's units back to its items of limited stock (unlimited ones count none, see
/// `take_units`). Returns whether any of them has limited stock.
///
/// An unlimited item's row is share-locked instead, so that an operator limiting it meanwhile
/// (whose recount takes the exclusive lock) counts this order as it is once committed, not as
/// the pending order it was. Lines are taken in item order, as checkouts take them.
async fn release_units(conn: &impl ConnectionTrait, lines: &[order_lines::Model]) -> Result<bool> {
    let mut lines: Vec<&order_lines::Model> = lines.iter().collect();
    lines.sort_by_key(|line| line.item_id);
    let mut limited = false;
    for line in lines {
        let released = items::Entity::update_many()
            .col_expr(
                items::Column::Committed,
                Expr::col(items::Column::Committed).sub(i64::from(line.quantity)),
            )
            .filter(items::Column::Id.eq(line.item_id))
            .filter(items::Column::Stock.is_not_null())
            .exec(conn)
            .await?
            .rows_affected;
        if released > 0 {
            limited = true;
        } else {
            items::Entity::find_by_id(line.item_id)
                .select_only()
                .column(items::Column::Id)
                .lock_shared()
                .into_tuple::<i64>()
                .one(conn)
                .await?;
        }
    }
    Ok(limited)
}

/// The order as it stands now.
async fn find(conn: &impl ConnectionTrait, order_id: Uuid) -> Result<orders::Model> {
    orders::Entity::find_by_id(order_id)
        .one(conn)
        .await?
        .ok_or(Error::NotFound("order"))
}

/// Records a new order's first state (`pending`, "order placed").
pub async fn record_placed(conn: &impl ConnectionTrait, order_id: Uuid) -> Result<()> {
    record(conn, order_id, None, Status::Pending, Some("order placed")).await
}

/// Moves `order` to `to` if it is still in the state it was read in (false: it had changed
/// meanwhile). PostgreSQL's `UPDATE` waits for anyone holding the row (a refund parking itself
/// at this moment) and decides on what they committed.
async fn update(
    conn: &impl ConnectionTrait,
    order: &orders::Model,
    to: Status,
    reason: &str,
    note: Note<'_>,
) -> Result<bool> {
    let mut update = orders::Entity::update_many()
        .col_expr(orders::Column::Status, Expr::value(to))
        .col_expr(orders::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(orders::Column::Id.eq(order.id))
        .filter(orders::Column::Status.eq(order.status));
    if let Some(tx) = note.transaction_id {
        update = update.col_expr(orders::Column::ProviderTransactionId, Expr::value(tx));
    }
    if matches!(to, Status::Failed | Status::Expired) {
        update = update.col_expr(orders::Column::FailureReason, Expr::value(reason));
    }
    if to == Status::Refunded {
        // Everything back (Xsolla's cancel of a paid order): nothing is left to ask for.
        update = update
            .col_expr(
                orders::Column::RefundedCents,
                Expr::col(orders::Column::AmountCents),
            )
            .col_expr(orders::Column::RefundPendingCents, Expr::value(0i64));
    }
    if let Some(detail) = note.detail {
        let detail: String = detail.chars().take(1000).collect();
        update = update.col_expr(orders::Column::FailureDetail, Expr::value(detail));
    }
    Ok(update.exec(conn).await?.rows_affected == 1)
}

async fn record(
    conn: &impl ConnectionTrait,
    order_id: Uuid,
    from: Option<Status>,
    to: Status,
    reason: Option<&str>,
) -> Result<()> {
    history::ActiveModel {
        order_id: Set(order_id),
        from_status: Set(from),
        to_status: Set(to),
        reason: Set(reason.map(str::to_owned)),
        at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(conn)
    .await?;
    Ok(())
}

fn default_reason(event: Event, to: Status) -> &'static str {
    match (event, to) {
        (_, Status::Paid) => "payment confirmed",
        (_, Status::Expired) => "payment not confirmed in time",
        (Event::Canceled, Status::Failed) => "The payment was canceled. You have not been charged.",
        (Event::ProviderUnreachable, _) => {
            "The payment provider could not be reached. You have not been charged."
        }
        (_, Status::Failed) => {
            "The payment provider declined the payment. You have not been charged."
        }
        _ => "refunded by the payment provider",
    }
}

/// The message a move sends to the buyer's sockets.
/// `gift_received` for the recipient of a gift order that was just paid.
async fn gift_message(
    conn: &impl ConnectionTrait,
    order: &orders::Model,
    lines: &[order_lines::Model],
) -> Result<Option<LiveMessage>> {
    let owner = order.owner();
    if owner == order.user_id {
        return Ok(None);
    }
    let from_username = crate::entity::users::Entity::find_by_id(order.user_id)
        .one(conn)
        .await?
        .map_or_else(|| "a former member".to_owned(), |u| u.username);
    Ok(Some(LiveMessage::GiftReceived {
        order_id: order.id,
        user_id: owner,
        from_username,
        items: lines.iter().map(super::views::live_item).collect(),
        message: order.gift_message.clone(),
    }))
}

fn live_message(
    order: &orders::Model,
    lines: &[order_lines::Model],
    to: Status,
    reason: &str,
    refunded_cents: i64,
) -> LiveMessage {
    let items = lines.iter().map(super::views::live_item).collect();
    let (order_id, user_id) = (order.id, order.user_id);
    match to {
        Status::Paid => LiveMessage::PurchaseSuccess {
            order_id,
            user_id,
            items,
        },
        Status::Refunded | Status::PartiallyRefunded => LiveMessage::PurchaseRefunded {
            order_id,
            user_id,
            items,
            refunded_cents,
            partial: to == Status::PartiallyRefunded,
        },
        // The client tells a timeout from a decline by this word.
        Status::Expired => LiveMessage::PurchaseFailed {
            order_id,
            user_id,
            items,
            reason: Some("expired".to_owned()),
        },
        Status::Failed | Status::Pending => LiveMessage::PurchaseFailed {
            order_id,
            user_id,
            items,
            reason: Some(reason.to_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable as _;

    /// Every event in every state, written out: the table is the specification.
    #[test]
    fn every_event_in_every_state() {
        use Decision::{Defer, LatePayment, Move, Unchanged};
        use Event::*;
        use Status::{Expired as Exp, Failed, Paid, PartiallyRefunded as Part, Pending, Refunded};
        #[rustfmt::skip]
        let table: [(Event, [Decision; 6]); 7] = [
            //                   pending       paid            failed       expired      partially_refunded  refunded
            (PaymentConfirmed,    [Move(Paid),   Unchanged,      LatePayment, LatePayment, Unchanged,      Unchanged]),
            (PaymentDeclined,     [Move(Failed), Unchanged,      Unchanged,   Unchanged,   Unchanged,      Unchanged]),
            (ProviderRefund,      [Defer,        Move(Refunded), Unchanged,   Unchanged,   Move(Refunded), Unchanged]),
            (PartialRefund,       [Defer,        Move(Part),     Unchanged,   Unchanged,   Move(Part),     Unchanged]),
            (Canceled,            [Move(Failed), Move(Refunded), Unchanged,   Unchanged,   Move(Refunded), Unchanged]),
            (Expired,             [Move(Exp),    Unchanged,      Unchanged,   Unchanged,   Unchanged,      Unchanged]),
            (ProviderUnreachable, [Move(Failed), Unchanged,      Unchanged,   Unchanged,   Unchanged,      Unchanged]),
        ];
        let states = [Pending, Paid, Failed, Exp, Part, Refunded];
        assert_eq!(table.len(), Event::ALL.len());
        assert_eq!(states.len(), Status::iter().count());
        for (event, row) in table {
            for (state, expected) in states.into_iter().zip(row) {
                assert_eq!(decide(event, state), expected, "{event:?} in {state:?}");
            }
        }
    }

    #[test]
    fn final_states_never_move_back_to_pending_or_paid() {
        for event in Event::ALL {
            for state in [
                Status::Failed,
                Status::Expired,
                Status::PartiallyRefunded,
                Status::Refunded,
            ] {
                assert!(
                    !matches!(
                        decide(event, state),
                        Decision::Move(Status::Pending | Status::Paid)
                    ),
                    "{event:?} in {state:?}"
                );
            }
        }
    }
}
