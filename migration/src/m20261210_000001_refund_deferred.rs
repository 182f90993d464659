//! `orders.refund_deferred`: a refund arrived before the order's payment and waits for it. The
//! refund sets it with an `UPDATE` of the order's row, so it and a payment landing at the same
//! moment (which also updates that row) take the row in turn: the payment then finds the parked
//! refund, or the refund finds the order paid.

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
            "orders",
            "refund_deferred",
            boolean("refund_deferred").default(false).to_owned(),
        )
        .await?;
        // Orders with a refund parked by an older version.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE orders SET refund_deferred = TRUE WHERE id IN \
                 (SELECT order_id FROM payment_events WHERE outcome = 'deferred' AND order_id IS NOT NULL)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("orders")
                    .drop_column("refund_deferred")
                    .to_owned(),
            )
            .await
    }
}
