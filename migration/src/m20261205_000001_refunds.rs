//! Refunds through the provider: the refunds asked for or reported, what an order has had back
//! (`refunded_cents`) and has asked for (`refund_pending_cents`), and which lines a refund took
//! back. Order states get room for `partially_refunded`.

use sea_orm_migration::{prelude::*, schema::*};

use crate::add_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // `partially_refunded` is 18 characters. SQLite does not enforce a text column's length.
        if manager.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            for sql in [
                "ALTER TABLE orders ALTER COLUMN status TYPE varchar(24)",
                "ALTER TABLE order_status_history ALTER COLUMN from_status TYPE varchar(24)",
                "ALTER TABLE order_status_history ALTER COLUMN to_status TYPE varchar(24)",
            ] {
                manager.get_connection().execute_unprepared(sql).await?;
            }
        }
        add_column(
            manager,
            "orders",
            "refunded_cents",
            big_integer("refunded_cents").default(0).to_owned(),
        )
        .await?;
        add_column(
            manager,
            "orders",
            "refund_pending_cents",
            big_integer("refund_pending_cents").default(0).to_owned(),
        )
        .await?;
        add_column(
            manager,
            "order_lines",
            "refund_id",
            uuid_null("refund_id").to_owned(),
        )
        .await?;
        add_column(
            manager,
            "order_lines",
            "refunded_at",
            timestamp_with_time_zone_null("refunded_at").to_owned(),
        )
        .await?;
        // Orders refunded before partial refunds existed were refunded in full.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE orders SET refunded_cents = amount_cents WHERE status = 'refunded'",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("refunds")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(uuid("order_id"))
                    .col(big_integer("amount_cents"))
                    .col(string_len("currency", 3))
                    // The order lines it takes back, `,1,2,` (empty: by amount, nothing revoked).
                    .col(text("line_ids"))
                    .col(text_null("reason"))
                    .col(string_len("status", 16))
                    .col(string_len("initiated_by", 16))
                    .col(uuid_null("requested_by"))
                    .col(string_len_null("idempotency_key", 255))
                    .col(string_len_null("request_fingerprint", 64))
                    .col(text_null("detail"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("completed_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_refunds_order")
                            .from("refunds", "order_id")
                            .to("orders", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_refunds_order")
                    .table("refunds")
                    .col("order_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("refunds").if_exists().to_owned())
            .await?;
        for (table, column) in [
            ("orders", "refunded_cents"),
            ("orders", "refund_pending_cents"),
            ("order_lines", "refund_id"),
            ("order_lines", "refunded_at"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(table.to_owned())
                        .drop_column(column.to_owned())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
