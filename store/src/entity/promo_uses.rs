use sea_orm::entity::prelude::*;

/// One order's use of a promo code; deleted (and the code's `uses` decremented) when the order
/// fails or expires.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promo_uses")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub promo_code_id: i64,
    pub user_id: Uuid,
    #[sea_orm(unique)]
    pub order_id: Uuid,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
