use sea_orm::entity::prelude::*;

/// One entry of the audit log: who did what to what, when, and what changed. Append-only:
/// the database refuses updates and deletes (triggers), and nothing in the API writes but
/// `audit::record`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub at: DateTimeUtc,
    pub actor_id: Option<Uuid>,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    #[sea_orm(column_type = "Text")]
    pub diff: String,
    pub client_ip: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
