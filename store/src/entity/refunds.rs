use sea_orm::entity::prelude::*;

/// A refund: asked of the provider by the store (`pending` until its `payment.refunded`
/// webhook), or reported by the provider without being asked (a chargeback).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refunds")]
pub struct Model {
    /// UUIDv5 of the order and the request's `Idempotency-Key`: a retried request finds it.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount_cents: i64,
    pub currency: String,
    /// The order lines it takes back, `,1,2,`; empty for a refund by amount (nothing revoked).
    #[sea_orm(column_type = "Text")]
    pub line_ids: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub reason: Option<String>,
    pub status: RefundStatus,
    pub initiated_by: Initiator,
    pub requested_by: Option<Uuid>,
    pub idempotency_key: Option<String>,
    pub request_fingerprint: Option<String>,
    /// What the provider said when it refused the request, or, on a `pending` refund, why it
    /// has no answer yet (operators only).
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
    pub created_at: DateTimeUtc,
    pub completed_at: Option<DateTimeUtc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum RefundStatus {
    /// Asked of the provider; the order has not changed yet.
    #[sea_orm(string_value = "pending")]
    Pending,
    /// The provider's webhook said it is done; the order carries it.
    #[sea_orm(string_value = "succeeded")]
    Succeeded,
    /// The provider refused the request; what it reserved was given back.
    #[sea_orm(string_value = "failed")]
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }
}

/// Who started a refund.
#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Initiator {
    #[sea_orm(string_value = "operator")]
    Operator,
    /// The provider, unasked (a chargeback, or a refund made in its dashboard).
    #[sea_orm(string_value = "provider")]
    Provider,
    /// The buyer, from their order page, within the refund window.
    #[sea_orm(string_value = "customer")]
    Customer,
}

impl Initiator {
    pub fn as_str(self) -> &'static str {
        match self {
            Initiator::Operator => "operator",
            Initiator::Provider => "provider",
            Initiator::Customer => "customer",
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
