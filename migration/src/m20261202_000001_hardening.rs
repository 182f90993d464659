//! Hardening: the SHA-256 of each payment notification's body (the same `webhook-id` with another
//! body is refused), and a failed order's internal detail, kept apart from the reason shoppers see.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if !manager
            .has_column("payment_events", "payload_sha256")
            .await?
        {
            manager
                .alter_table(
                    Table::alter()
                        .table("payment_events")
                        .add_column(string_len_null("payload_sha256", 64))
                        .to_owned(),
                )
                .await?;
        }
        if !manager.has_column("orders", "failure_detail").await? {
            manager
                .alter_table(
                    Table::alter()
                        .table("orders")
                        .add_column(text_null("failure_detail"))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, column) in [
            ("payment_events", "payload_sha256"),
            ("orders", "failure_detail"),
        ] {
            manager
                .alter_table(Table::alter().table(table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
