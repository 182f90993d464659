//! The operator console: every webhook delivery as it arrived (verified or not), the audit log
//! (append-only, enforced by triggers), and the indexes the dashboard and the order search use.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::DatabaseBackend;

use crate::add_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("webhook_deliveries")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("received_at"))
                    // `standard` or `xsolla`, as the request looked (not trusted before `verified`).
                    .col(string_len("scheme", 16))
                    // The `webhook-id` header as sent (cut to 255 characters), not trusted before
                    // `verified`; the payment event it made, once verified.
                    .col(string_len_null("delivery_id", 255))
                    .col(boolean("verified"))
                    // Why it was refused, when it was (signature, timestamp, headers).
                    .col(text_null("rejection"))
                    // What the store answered, and what it did (a payment event's outcome).
                    .col(small_integer("status_code"))
                    .col(string_len_null("outcome", 32))
                    .col(text_null("detail"))
                    .col(string_len_null("event_type", 64))
                    .col(uuid_null("order_id"))
                    .col(string_len_null("event_id", 255))
                    // The raw body (cut for refused deliveries) and its SHA-256.
                    .col(text("body"))
                    .col(string_len("body_sha256", 64))
                    .col(boolean("body_truncated").default(false))
                    .col(big_integer_null("replay_of"))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("idx_webhook_deliveries_received", vec!["received_at"]),
            ("idx_webhook_deliveries_order", vec!["order_id"]),
            ("idx_webhook_deliveries_event", vec!["event_id"]),
        ] {
            let mut index = Index::create()
                .if_not_exists()
                .name(name)
                .table("webhook_deliveries")
                .to_owned();
            for c in columns {
                index.col(c);
            }
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("audit_log")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(timestamp_with_time_zone("at"))
                    // Who: a user (an operator, or the account a security event is about), or
                    // nobody (a failed login for a name that does not exist).
                    .col(uuid_null("actor_id"))
                    .col(string_len("actor", 64))
                    .col(string_len("action", 48))
                    .col(string_len("target_type", 32))
                    .col(string_len("target_id", 128))
                    // What changed: `{"field": [before, after]}` or a summary, as JSON.
                    .col(text("diff"))
                    .col(string_len_null("client_ip", 64))
                    .to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("idx_audit_at", vec!["at"]),
            ("idx_audit_action_at", vec!["action", "at"]),
            ("idx_audit_target", vec!["target_type", "target_id"]),
        ] {
            let mut index = Index::create()
                .if_not_exists()
                .name(name)
                .table("audit_log")
                .to_owned();
            for c in columns {
                index.col(c);
            }
            manager.create_index(index).await?;
        }
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DatabaseBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'audit_log is append-only'; END; $$ LANGUAGE plpgsql",
                )
                .await?;
                db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
                    .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log \
                     FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()",
                )
                .await?;
            }
            _ => {
                for op in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER IF NOT EXISTS audit_log_no_{} BEFORE {op} ON audit_log \
                         BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END",
                        op.to_lowercase()
                    ))
                    .await?;
                }
            }
        }

        // The dashboard reads orders by creation time with these columns only: a covering index
        // answers it without touching the table.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_orders_created_stats")
                    .table("orders")
                    .col("created_at")
                    .col("status")
                    .col("currency")
                    .col("amount_cents")
                    .col("refunded_cents")
                    .to_owned(),
            )
            .await?;
        // Best sellers: each line knows when its order was paid (set once, in the move to
        // `paid`) and in which currency, so sales are read from the lines alone.
        add_column(
            manager,
            "order_lines",
            "paid_at",
            timestamp_with_time_zone_null("paid_at").to_owned(),
        )
        .await?;
        add_column(
            manager,
            "order_lines",
            "currency",
            string_len("currency", 3).default("").to_owned(),
        )
        .await?;
        db.execute_unprepared(
            "UPDATE order_lines SET currency = (SELECT o.currency FROM orders o WHERE o.id = order_lines.order_id) \
             WHERE currency = ''",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE order_lines SET paid_at = (SELECT o.updated_at FROM orders o WHERE o.id = order_lines.order_id) \
             WHERE paid_at IS NULL AND order_id IN (SELECT id FROM orders \
             WHERE status IN ('paid', 'partially_refunded', 'refunded'))",
        )
        .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_order_lines_paid")
                    .table("order_lines")
                    .col("paid_at")
                    .col("currency")
                    .col("item_id")
                    .col("quantity")
                    .col("line_total_cents")
                    .to_owned(),
            )
            .await?;
        // Sales per day and item for days that are over: a day's paid lines never change once
        // it has passed (a payment is stamped when it lands), so they are summed once.
        manager
            .create_table(
                Table::create()
                    .table("stats_item_days")
                    .if_not_exists()
                    .col(string_len("day", 10))
                    .col(string_len("currency", 3))
                    .col(big_integer("item_id"))
                    .col(string_len("name", 120))
                    .col(big_integer("units"))
                    .col(big_integer("revenue_cents"))
                    .primary_key(Index::create().col("day").col("currency").col("item_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("stats_days_done")
                    .if_not_exists()
                    .col(string_len("day", 10).primary_key())
                    .col(timestamp_with_time_zone("done_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_refunds_completed")
                    .table("refunds")
                    .col("completed_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            db.execute_unprepared("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
                .await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS audit_log_append_only()")
                .await?;
        }
        for table in [
            "audit_log",
            "webhook_deliveries",
            "stats_item_days",
            "stats_days_done",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        for (index, table) in [
            ("idx_orders_created_stats", "orders"),
            ("idx_refunds_completed", "refunds"),
            ("idx_order_lines_paid", "order_lines"),
        ] {
            manager
                .drop_index(
                    Index::drop()
                        .if_exists()
                        .name(index)
                        .table(table)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
