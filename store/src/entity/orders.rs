use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    pub item_id: i64,
    pub amount_cents: i64,
    pub currency: String,
    pub status: String,
    pub idempotency_key: Option<String>,
    /// Hash of the request an idempotency key was first used with.
    pub request_fingerprint: Option<String>,
    pub provider_transaction_id: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub failure_reason: Option<String>,
    /// What went wrong, for operators only (may name the provider's URL or its error text).
    #[sea_orm(column_type = "Text", nullable)]
    pub failure_detail: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
