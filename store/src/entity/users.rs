use sea_orm::entity::prelude::*;

/// A user row. Not `Serialize`: the password hash must never leave the server.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// Where receipts go once verified (stored as given, compared case-insensitively).
    pub email: Option<String>,
    pub email_verified_at: Option<DateTimeUtc>,
    /// SHA-256 (hex) of the verification link's token while one is outstanding.
    pub email_token_sha256: Option<String>,
    pub email_token_expires_at: Option<DateTimeUtc>,
    pub email_token_sent_at: Option<DateTimeUtc>,
}

impl Model {
    /// The address mail may be sent to: set and verified.
    pub fn verified_email(&self) -> Option<&str> {
        self.email
            .as_deref()
            .filter(|_| self.email_verified_at.is_some() && self.deleted_at.is_none())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    #[sea_orm(string_value = "customer")]
    Customer,
    #[sea_orm(string_value = "admin")]
    Admin,
}

impl From<Role> for api_types::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::Customer => api_types::Role::Customer,
            Role::Admin => api_types::Role::Admin,
        }
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
    #[sea_orm(has_many = "super::orders::Entity")]
    Orders,
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl Related<super::orders::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Orders.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
