//! Users, sessions, the catalog, orders with their status history, and payment events.
//!
//! Money is integer minor units plus an ISO-4217 code. Timestamps are UTC. Item tags are stored
//! as one delimited text column (`,rpg,weapon,`) so that a tag filter is a portable `LIKE`.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(string_len_uniq("username", 32))
                    .col(text("password_hash"))
                    .col(string_len("role", 16))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .if_not_exists()
                    .col(string_len("id", 64).primary_key())
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("last_seen_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_sessions_user")
                            .from("sessions", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_sessions_user")
                    .table("sessions")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("items")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("sku", 64))
                    .col(string_len("name", 120))
                    .col(text("description"))
                    .col(big_integer("price_cents"))
                    .col(string_len("currency", 3))
                    .col(text("image"))
                    .col(text("tags"))
                    .col(boolean("consumable").default(false))
                    .col(boolean("active").default(true))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_items_active_price")
                    .table("items")
                    .col("active")
                    .col("price_cents")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("orders")
                    .if_not_exists()
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(big_integer("item_id"))
                    .col(big_integer("amount_cents"))
                    .col(string_len("currency", 3))
                    .col(string_len("status", 16))
                    .col(string_len_null("idempotency_key", 255))
                    .col(string_len_null("request_fingerprint", 64))
                    .col(string_len_null("provider_transaction_id", 255))
                    .col(text_null("failure_reason"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_user")
                            .from("orders", "user_id")
                            .to("users", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_orders_item")
                            .from("orders", "item_id")
                            .to("items", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        // NULL keys never collide, so orders without an Idempotency-Key are unconstrained.
        manager
            .create_index(
                Index::create()
                    .name("uq_orders_user_idempotency_key")
                    .table("orders")
                    .col("user_id")
                    .col("idempotency_key")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_user_created")
                    .table("orders")
                    .col("user_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_orders_status_created")
                    .table("orders")
                    .col("status")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("order_status_history")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(uuid("order_id"))
                    .col(string_len_null("from_status", 16))
                    .col(string_len("to_status", 16))
                    .col(text_null("reason"))
                    .col(timestamp_with_time_zone("at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_history_order")
                            .from("order_status_history", "order_id")
                            .to("orders", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_history_order")
                    .table("order_status_history")
                    .col("order_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("payment_events")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("event_id", 255))
                    .col(string_len("scheme", 16))
                    .col(string_len("event_type", 64))
                    .col(uuid_null("order_id"))
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(timestamp_with_time_zone_null("processed_at"))
                    .col(string_len("outcome", 32))
                    .col(text_null("detail"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_payment_events_order")
                    .table("payment_events")
                    .col("order_id")
                    .to_owned(),
            )
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "payment_events",
            "order_status_history",
            "orders",
            "items",
            "sessions",
            "users",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        Ok(())
    }
}
