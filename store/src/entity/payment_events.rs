use sea_orm::entity::prelude::*;

/// Every payment notification received, verified or not yet applied; `event_id` (the provider's
/// id) is unique, which is what makes processing exactly-once.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "payment_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub event_id: String,
    pub scheme: String,
    pub event_type: String,
    pub order_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    /// SHA-256 (hex) of the raw body as received.
    pub payload_sha256: Option<String>,
    pub received_at: DateTimeUtc,
    pub processed_at: Option<DateTimeUtc>,
    pub outcome: Outcome,
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
}

/// How a notification was handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(32))")]
pub enum Outcome {
    /// Recorded, not yet processed (only ever seen inside the processing transaction).
    #[sea_orm(string_value = "received")]
    Received,
    /// The order moved.
    #[sea_orm(string_value = "applied")]
    Applied,
    /// Already in the requested state (or a stale notification): nothing to do.
    #[sea_orm(string_value = "no_op")]
    NoOp,
    /// A refund for an order not yet paid: applied when the payment lands.
    #[sea_orm(string_value = "deferred")]
    Deferred,
    /// A payment for an order that already failed or expired: recorded for an operator.
    #[sea_orm(string_value = "late_payment")]
    LatePayment,
    /// An event type the store does not act on.
    #[sea_orm(string_value = "ignored")]
    Ignored,
    #[sea_orm(string_value = "unknown_order")]
    UnknownOrder,
    #[sea_orm(string_value = "amount_mismatch")]
    AmountMismatch,
    /// Not understood at all (400).
    #[sea_orm(string_value = "malformed")]
    Malformed,
    /// Understood, but missing what the store needs or carrying values it cannot accept (422).
    #[sea_orm(string_value = "invalid")]
    Invalid,
    /// A `webhook-id` seen before with a different body (409): recorded, never applied.
    #[sea_orm(string_value = "id_reused")]
    IdReused,
}

impl Outcome {
    /// The stored spelling, for logs, metrics and the operators' view.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Received => "received",
            Outcome::Applied => "applied",
            Outcome::NoOp => "no_op",
            Outcome::Deferred => "deferred",
            Outcome::LatePayment => "late_payment",
            Outcome::Ignored => "ignored",
            Outcome::UnknownOrder => "unknown_order",
            Outcome::AmountMismatch => "amount_mismatch",
            Outcome::Malformed => "malformed",
            Outcome::Invalid => "invalid",
            Outcome::IdReused => "id_reused",
        }
    }
}

impl From<&Model> for api_types::PaymentEvent {
    fn from(row: &Model) -> Self {
        api_types::PaymentEvent {
            event_id: row.event_id.clone(),
            scheme: row.scheme.clone(),
            event_type: row.event_type.clone(),
            order_id: row.order_id,
            outcome: row.outcome.as_str().to_owned(),
            detail: row.detail.clone(),
            payload: row.payload.clone(),
            received_at: row.received_at,
            processed_at: row.processed_at,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::orders::Entity",
        from = "Column::OrderId",
        to = "super::orders::Column::Id"
    )]
    Order,
}

impl Related<super::orders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable as _;

    #[test]
    fn stored_spellings_match_the_names_operators_see() {
        for outcome in Outcome::iter() {
            assert_eq!(outcome.to_value(), outcome.as_str());
        }
    }
}
