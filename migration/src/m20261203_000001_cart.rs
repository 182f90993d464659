//! Carts and orders with several lines, and limited stock.
//!
//! `items.stock` is how many units exist (NULL: unlimited) and `items.committed` how many are
//! taken: reserved by pending orders or sold. Units are taken when an order is placed and given
//! back when it fails or expires, each by one conditional update in the transaction of that
//! change, so `stock - committed` is what is left to sell. `orders.item_id` stays: it is the
//! first line's item, for the original store's clients.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (column, def) in [
            ("stock", big_integer_null("stock")),
            ("committed", big_integer("committed").default(0).to_owned()),
            ("max_per_user", integer_null("max_per_user")),
        ] {
            if !manager.has_column("items", column).await? {
                manager
                    .alter_table(Table::alter().table("items").add_column(def).to_owned())
                    .await?;
            }
        }

        manager
            .create_table(
                Table::create()
                    .table("order_lines")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(uuid("order_id"))
                    .col(big_integer("item_id"))
                    .col(string_len("sku", 64))
                    .col(string_len("name", 120))
                    .col(integer("quantity"))
                    .col(big_integer("unit_price_cents"))
                    .col(big_integer("discount_cents").default(0))
                    .col(big_integer("line_total_cents"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_order_lines_order")
                            .from("order_lines", "order_id")
                            .to("orders", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_order_lines_item")
                            .from("order_lines", "item_id")
                            .to("items", "id"),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, column) in [
            ("idx_order_lines_order", "order_id"),
            ("idx_order_lines_item", "item_id"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .if_not_exists()
                        .name(name)
                        .table("order_lines")
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        // Every order placed before carts existed had exactly one line: its item.
        manager
            .get_connection()
            .execute_unprepared(
                "INSERT INTO order_lines (order_id, item_id, sku, name, quantity, unit_price_cents, discount_cents, line_total_cents) \
                 SELECT o.id, o.item_id, i.sku, i.name, 1, o.amount_cents, 0, o.amount_cents \
                 FROM orders o JOIN items i ON i.id = o.item_id \
                 WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)",
            )
            .await?;
        // Units already sold or reserved count against the (new) stock.
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE items SET committed = (SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l \
                 JOIN orders o ON o.id = l.order_id \
                 WHERE l.item_id = items.id AND o.status IN ('pending', 'paid', 'refunded'))",
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("cart_lines")
                    .if_not_exists()
                    .col(uuid("user_id"))
                    .col(big_integer("item_id"))
                    .col(integer("quantity"))
                    .col(timestamp_with_time_zone("added_at"))
                    .primary_key(Index::create().col("user_id").col("item_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cart_lines_user")
                            .from("cart_lines", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_cart_lines_item")
                            .from("cart_lines", "item_id")
                            .to("items", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["cart_lines", "order_lines"] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        for column in ["stock", "committed", "max_per_user"] {
            manager
                .alter_table(Table::alter().table("items").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
