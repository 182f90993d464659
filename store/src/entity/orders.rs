use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "orders")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The first line's item (see `order_lines`), for the original store's clients.
    pub item_id: i64,
    pub amount_cents: i64,
    pub currency: String,
    /// The promo code used, as it was spelled, and what it took off the lines in all.
    pub promo_code: Option<String>,
    pub discount_cents: i64,
    /// What the provider has given back, and what has been asked of it and not yet confirmed:
    /// `refunded_cents + refund_pending_cents <= amount_cents` always.
    pub refunded_cents: i64,
    pub refund_pending_cents: i64,
    pub status: Status,
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
    /// Who gets what the order grants: the buyer, or the recipient of a gift. Null only on
    /// rows an older version wrote (the buyer's); read it through [`Model::owner`].
    pub owner_id: Option<Uuid>,
    /// The buyer's message to a gift's recipient.
    #[sea_orm(column_type = "Text", nullable)]
    pub gift_message: Option<String>,
    /// A refund arrived before the payment and waits for it (applied when the payment lands).
    pub refund_deferred: bool,
}

impl Model {
    /// Who holds what the order grants.
    pub fn owner(&self) -> Uuid {
        self.owner_id.unwrap_or(self.user_id)
    }

    pub fn is_gift(&self) -> bool {
        self.owner() != self.user_id
    }
}

/// Orders whose grants belong to `user_id` (their own purchases and gifts to them).
pub fn owned_by(user_id: Uuid) -> sea_orm::Condition {
    sea_orm::Condition::any()
        .add(Column::OwnerId.eq(user_id))
        .add(
            sea_orm::Condition::all()
                .add(Column::OwnerId.is_null())
                .add(Column::UserId.eq(user_id)),
        )
}

/// An order's state (see `orders::lifecycle` for how it moves).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Status {
    #[sea_orm(string_value = "pending")]
    Pending,
    #[sea_orm(string_value = "paid")]
    Paid,
    #[sea_orm(string_value = "failed")]
    Failed,
    #[sea_orm(string_value = "expired")]
    Expired,
    /// Some of the payment was given back; what the refunded lines granted is revoked.
    #[sea_orm(string_value = "partially_refunded")]
    PartiallyRefunded,
    #[sea_orm(string_value = "refunded")]
    Refunded,
}

impl From<Status> for api_types::OrderStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Pending => api_types::OrderStatus::Pending,
            Status::Paid => api_types::OrderStatus::Paid,
            Status::Failed => api_types::OrderStatus::Failed,
            Status::Expired => api_types::OrderStatus::Expired,
            Status::PartiallyRefunded => api_types::OrderStatus::PartiallyRefunded,
            Status::Refunded => api_types::OrderStatus::Refunded,
        }
    }
}

impl From<api_types::OrderStatus> for Status {
    fn from(status: api_types::OrderStatus) -> Self {
        match status {
            api_types::OrderStatus::Pending => Status::Pending,
            api_types::OrderStatus::Paid => Status::Paid,
            api_types::OrderStatus::Failed => Status::Failed,
            api_types::OrderStatus::Expired => Status::Expired,
            api_types::OrderStatus::PartiallyRefunded => Status::PartiallyRefunded,
            api_types::OrderStatus::Refunded => Status::Refunded,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id"
    )]
    User,
    #[sea_orm(
        belongs_to = "super::items::Entity",
        from = "Column::ItemId",
        to = "super::items::Column::Id"
    )]
    Item,
    #[sea_orm(has_many = "super::order_status_history::Entity")]
    History,
    #[sea_orm(has_many = "super::payment_events::Entity")]
    PaymentEvents,
    #[sea_orm(has_many = "super::order_lines::Entity")]
    Lines,
    #[sea_orm(has_many = "super::refunds::Entity")]
    Refunds,
}

impl Related<super::refunds::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Refunds.def()
    }
}

impl Related<super::order_lines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Lines.def()
    }
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::items::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Item.def()
    }
}

impl Related<super::order_status_history::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::History.def()
    }
}

impl Related<super::payment_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::PaymentEvents.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
