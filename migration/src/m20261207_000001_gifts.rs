//! Gifts: an order's owner (who gets what it grants: the buyer, or the recipient of a gift)
//! and the buyer's message.

use sea_orm_migration::{prelude::*, schema::*};

use crate::add_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        add_column(
            manager,
            "orders",
            "owner_id",
            uuid_null("owner_id").to_owned(),
        )
        .await?;
        add_column(
            manager,
            "orders",
            "gift_message",
            text_null("gift_message").to_owned(),
        )
        .await?;
        // Every order so far was bought for its buyer.
        manager
            .get_connection()
            .execute_unprepared("UPDATE orders SET owner_id = user_id WHERE owner_id IS NULL")
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_orders_owner")
                    .table("orders")
                    .col("owner_id")
                    .col("status")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["owner_id", "gift_message"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("orders")
                        .drop_column(column.to_owned())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
