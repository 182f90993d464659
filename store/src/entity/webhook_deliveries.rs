use sea_orm::entity::prelude::*;

/// One webhook request as it arrived, verified or not, with what the store answered and did.
/// Nothing in a row that is not `verified` is trusted: it is kept for operators to read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub received_at: DateTimeUtc,
    pub scheme: String,
    pub delivery_id: Option<String>,
    pub verified: bool,
    #[sea_orm(column_type = "Text", nullable)]
    pub rejection: Option<String>,
    pub status_code: i16,
    pub outcome: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub detail: Option<String>,
    pub event_type: Option<String>,
    pub order_id: Option<Uuid>,
    pub event_id: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub body: String,
    pub body_sha256: String,
    pub body_truncated: bool,
    /// The delivery this one re-ran (an operator's replay).
    pub replay_of: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
