//! `cart_lines.seen_currency`: the currency of the price the shopper last saw for a line, beside
//! `seen_price_cents`. Without it, an operator moving an item to another currency changed a
//! cart's currency (¥1000 became $10.00) with no word to the shopper: the number was the same.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::add_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            "cart_lines",
            "seen_currency",
            string_len_null("seen_currency", 3).to_owned(),
        )
        .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("cart_lines")
                    .drop_column("seen_currency")
                    .to_owned(),
            )
            .await
    }
}
