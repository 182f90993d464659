use sea_orm::entity::prelude::*;

/// One line of a shopper's cart: an item and how many. Prices are never stored here: a cart is
/// priced from the catalog every time it is read.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cart_lines")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub item_id: i64,
    pub quantity: i32,
    pub added_at: DateTimeUtc,
    /// The unit price the shopper last saw, to tell them when a sale ended since.
    pub seen_price_cents: Option<i64>,
    /// Its currency: the cart keeps the one its oldest line was seen in.
    pub seen_currency: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::items::Entity",
        from = "Column::ItemId",
        to = "super::items::Column::Id"
    )]
    Item,
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id"
    )]
    User,
}

impl Related<super::items::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Item.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
