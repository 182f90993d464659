use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "items")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub sku: String,
    pub name: String,
    #[sea_orm(column_type = "Text")]
    pub description: String,
    pub price_cents: i64,
    pub currency: String,
    #[sea_orm(column_type = "Text")]
    pub image: String,
    /// `,tag1,tag2,` (see `domain::Tags::to_column`).
    #[sea_orm(column_type = "Text")]
    pub tags: String,
    pub consumable: bool,
    pub active: bool,
    /// Units that exist; `None`: unlimited.
    pub stock: Option<i64>,
    /// Units taken: reserved by pending orders or sold (see the cart migration).
    pub committed: i64,
    pub max_per_user: Option<i32>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// Units left to sell (never negative); `None`: unlimited.
    pub fn available(&self) -> Option<i64> {
        self.stock.map(|stock| (stock - self.committed).max(0))
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::orders::Entity")]
    Orders,
    #[sea_orm(has_many = "super::order_lines::Entity")]
    OrderLines,
}

impl Related<super::order_lines::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OrderLines.def()
    }
}

impl Related<super::orders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Orders.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
