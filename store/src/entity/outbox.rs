use sea_orm::entity::prelude::*;

/// One email waiting to go out, or gone: written in the same transaction as the change it
/// tells of, sent by [`crate::mail`]'s worker.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub dedupe_key: String,
    pub kind: String,
    pub user_id: Option<Uuid>,
    pub to_address: String,
    /// A `mail::Notice` as JSON; a verification link's token is blanked once sent.
    #[sea_orm(column_type = "Text")]
    pub payload: String,
    pub created_at: DateTimeUtc,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A worker's lease: no other replica takes the message before it ends.
    pub locked_until: Option<DateTimeUtc>,
    pub sent_at: Option<DateTimeUtc>,
    /// Given up on (a permanent refusal, or the last retry failed).
    pub failed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
