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
        .await?;
        // Lines already in carts were seen in their item's currency as it is now (the best
        // there is); left empty, a line could be checked out in a currency changed later.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE cart_lines SET seen_currency = \
                 (SELECT currency FROM items WHERE items.id = cart_lines.item_id) \
                 WHERE seen_currency IS NULL",
            )
            .await?;
        Ok(())
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
