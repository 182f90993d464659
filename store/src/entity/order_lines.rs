use sea_orm::entity::prelude::*;

/// One line of an order, with the prices frozen when the order was placed.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "order_lines")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub order_id: Uuid,
    pub item_id: i64,
    pub sku: String,
    pub name: String,
    pub quantity: i32,
    pub unit_price_cents: i64,
    pub discount_cents: i64,
    pub line_total_cents: i64,
    /// For a bundle: the items this line granted (those the buyer did not own), `,1,2,`.
    #[sea_orm(column_type = "Text")]
    pub granted_item_ids: String,
    /// The refund that is taking this line back (set when it is asked for), and when it did.
    pub refund_id: Option<Uuid>,
    pub refunded_at: Option<DateTimeUtc>,
    /// When the order was paid (set once, with the move to `paid`): what best sellers read.
    pub paid_at: Option<DateTimeUtc>,
    /// The order's currency.
    pub currency: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::orders::Entity",
        from = "Column::OrderId",
        to = "super::orders::Column::Id"
    )]
    Order,
    #[sea_orm(
        belongs_to = "super::items::Entity",
        from = "Column::ItemId",
        to = "super::items::Column::Id"
    )]
    Item,
}

impl Related<super::orders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Order.def()
    }
}

impl Related<super::items::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Item.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
