use sea_orm::entity::prelude::*;

/// A promo code. `code` is stored upper-case (codes are unique case-insensitively); `uses`
/// counts the orders that used it and are not failed or expired.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "promo_codes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    #[sea_orm(unique)]
    pub code: String,
    pub percent_off: Option<i32>,
    pub amount_off_cents: Option<i64>,
    pub currency: String,
    pub starts_at: Option<DateTimeUtc>,
    pub ends_at: Option<DateTimeUtc>,
    pub max_uses: Option<i32>,
    pub max_uses_per_user: Option<i32>,
    pub min_subtotal_cents: Option<i64>,
    /// `,1,2,`: only these items (empty: any).
    #[sea_orm(column_type = "Text")]
    pub item_ids: String,
    /// `,a,b,`: only items with one of these tags (empty: any).
    #[sea_orm(column_type = "Text")]
    pub tags: String,
    pub uses: i32,
    pub active: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
