//! Promotions: promo codes and their uses, a cart's chosen code, timed sales on items, bundles,
//! wishlists and the sale alerts sent for them.

use sea_orm_migration::{prelude::*, schema::*};

use crate::add_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("promo_codes")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(string_len_uniq("code", 32))
                    .col(integer_null("percent_off"))
                    .col(big_integer_null("amount_off_cents"))
                    .col(string_len("currency", 3))
                    .col(timestamp_with_time_zone_null("starts_at"))
                    .col(timestamp_with_time_zone_null("ends_at"))
                    .col(integer_null("max_uses"))
                    .col(integer_null("max_uses_per_user"))
                    .col(big_integer_null("min_subtotal_cents"))
                    .col(text("item_ids"))
                    .col(text("tags"))
                    .col(integer("uses").default(0))
                    .col(boolean("active").default(true))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("promo_uses")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("promo_code_id"))
                    .col(uuid("user_id"))
                    .col(uuid_uniq("order_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_promo_uses_code")
                            .from("promo_uses", "promo_code_id")
                            .to("promo_codes", "id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_promo_uses_order")
                            .from("promo_uses", "order_id")
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
                    .name("idx_promo_uses_code_user")
                    .table("promo_uses")
                    .col("promo_code_id")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("carts")
                    .if_not_exists()
                    .col(uuid("user_id").primary_key())
                    .col(big_integer_null("promo_code_id"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_carts_user")
                            .from("carts", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_carts_promo")
                            .from("carts", "promo_code_id")
                            .to("promo_codes", "id")
                            .on_delete(ForeignKeyAction::SetNull),
                    )
                    .to_owned(),
            )
            .await?;

        add_column(
            manager,
            "orders",
            "promo_code",
            string_len_null("promo_code", 32),
        )
        .await?;
        add_column(
            manager,
            "orders",
            "discount_cents",
            big_integer("discount_cents").default(0).to_owned(),
        )
        .await?;
        add_column(
            manager,
            "items",
            "sale_percent_off",
            integer_null("sale_percent_off"),
        )
        .await?;
        add_column(
            manager,
            "items",
            "sale_starts_at",
            timestamp_with_time_zone_null("sale_starts_at"),
        )
        .await?;
        add_column(
            manager,
            "items",
            "sale_ends_at",
            timestamp_with_time_zone_null("sale_ends_at"),
        )
        .await?;
        add_column(
            manager,
            "items",
            "sale_price_cents",
            big_integer_null("sale_price_cents"),
        )
        .await?;
        add_column(
            manager,
            "items",
            "bundle_item_ids",
            text("bundle_item_ids").default("").to_owned(),
        )
        .await?;
        add_column(
            manager,
            "items",
            "bundle_discount_percent",
            integer_null("bundle_discount_percent"),
        )
        .await?;
        add_column(
            manager,
            "items",
            "sellouts",
            integer("sellouts").default(0).to_owned(),
        )
        .await?;
        add_column(
            manager,
            "order_lines",
            "granted_item_ids",
            text("granted_item_ids").default("").to_owned(),
        )
        .await?;
        add_column(
            manager,
            "cart_lines",
            "seen_price_cents",
            big_integer_null("seen_price_cents"),
        )
        .await?;

        manager
            .create_table(
                Table::create()
                    .table("wishlist")
                    .if_not_exists()
                    .col(uuid("user_id"))
                    .col(big_integer("item_id"))
                    .col(timestamp_with_time_zone("added_at"))
                    .primary_key(Index::create().col("user_id").col("item_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_wishlist_user")
                            .from("wishlist", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_wishlist_item")
                            .from("wishlist", "item_id")
                            .to("items", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_wishlist_item")
                    .table("wishlist")
                    .col("item_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("wishlist_alerts")
                    .if_not_exists()
                    .col(big_integer("item_id"))
                    .col(string_len("occasion", 64))
                    .col(timestamp_with_time_zone("sent_at"))
                    .primary_key(Index::create().col("item_id").col("occasion"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "wishlist_alerts",
            "wishlist",
            "carts",
            "promo_uses",
            "promo_codes",
        ] {
            manager
                .drop_table(Table::drop().table(table).if_exists().to_owned())
                .await?;
        }
        for (table, column) in [
            ("orders", "promo_code"),
            ("orders", "discount_cents"),
            ("items", "sale_percent_off"),
            ("items", "sale_starts_at"),
            ("items", "sale_ends_at"),
            ("items", "sale_price_cents"),
            ("items", "bundle_item_ids"),
            ("items", "bundle_discount_percent"),
            ("items", "sellouts"),
            ("order_lines", "granted_item_ids"),
            ("cart_lines", "seen_price_cents"),
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
