use sea_orm::entity::prelude::*;

/// One license key of an item's pool, encrypted at rest (see `crate::keys`).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "license_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub item_id: i64,
    /// The 24-byte nonce, then the XChaCha20-Poly1305 ciphertext and tag.
    pub secret: Vec<u8>,
    /// Keyed hash of the key: a duplicate is found without decrypting the pool.
    pub fingerprint: String,
    /// The key's last characters, for operators' masked view.
    pub hint: String,
    pub status: KeyStatus,
    pub order_id: Option<Uuid>,
    pub order_line_id: Option<i64>,
    pub user_id: Option<Uuid>,
    pub created_at: DateTimeUtc,
    pub assigned_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum KeyStatus {
    /// In the pool, not yet handed out.
    #[sea_orm(string_value = "available")]
    Available,
    /// Handed to the buyer of one unit of a paid order.
    #[sea_orm(string_value = "assigned")]
    Assigned,
    /// Its unit was refunded: no longer the buyer's, never handed out again.
    #[sea_orm(string_value = "revoked")]
    Revoked,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Available => "available",
            KeyStatus::Assigned => "assigned",
            KeyStatus::Revoked => "revoked",
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::items::Entity",
        from = "Column::ItemId",
        to = "super::items::Column::Id"
    )]
    Item,
}

impl Related<super::items::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Item.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
