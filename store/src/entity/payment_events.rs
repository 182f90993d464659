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
    pub outcome: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
