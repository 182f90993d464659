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
    /// A timed sale: this much off between `sale_starts_at` and `sale_ends_at`, at
    /// `sale_price_cents` (worked out, half-even, when the sale is set).
    pub sale_percent_off: Option<i32>,
    pub sale_starts_at: Option<DateTimeUtc>,
    pub sale_ends_at: Option<DateTimeUtc>,
    pub sale_price_cents: Option<i64>,
    /// A bundle's items, `,1,2,` (empty: not a bundle), and its discount.
    #[sea_orm(column_type = "Text")]
    pub bundle_item_ids: String,
    pub bundle_discount_percent: Option<i32>,
    /// How many times the item sold out (each restock after one alerts wishlists once).
    pub sellouts: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

impl Model {
    /// Units left to sell (never negative); `None`: unlimited.
    pub fn available(&self) -> Option<i64> {
        self.stock.map(|stock| (stock - self.committed).max(0))
    }

    /// The sale price, if a sale is on at `now`.
    pub fn sale_price_at(&self, now: DateTimeUtc) -> Option<i64> {
        match (
            self.sale_starts_at,
            self.sale_ends_at,
            self.sale_price_cents,
        ) {
            (Some(starts), Some(ends), Some(price)) if starts <= now && now < ends => Some(price),
            _ => None,
        }
    }

    /// What one unit costs at `now`: the sale price while a sale is on, the list price otherwise.
    pub fn price_at(&self, now: DateTimeUtc) -> i64 {
        self.sale_price_at(now).unwrap_or(self.price_cents)
    }

    /// A bundle's item ids (empty for an item that is not a bundle).
    pub fn bundle_items(&self) -> Vec<i64> {
        ids_from_column(&self.bundle_item_ids)
    }

    pub fn is_bundle(&self) -> bool {
        !self.bundle_item_ids.is_empty()
    }
}

/// `,1,2,` as ids (the delimited form lets `LIKE '%,1,%'` find an id on any database).
pub fn ids_from_column(column: &str) -> Vec<i64> {
    column.split(',').filter_map(|id| id.parse().ok()).collect()
}

pub fn ids_to_column(ids: &[i64]) -> String {
    if ids.is_empty() {
        String::new()
    } else {
        format!(
            ",{},",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        )
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
