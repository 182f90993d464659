//! License keys: a pool per item, encrypted at rest, each assigned to at most one unit of one
//! paid order and revoked when that unit is refunded.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("license_keys")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    .col(big_integer("item_id"))
                    // Nonce (24 bytes) then XChaCha20-Poly1305 ciphertext and tag.
                    .col(binary("secret"))
                    // Keyed hash of the key, so a duplicate is found without decrypting the pool.
                    .col(string_len("fingerprint", 64))
                    // The last characters, for operators' masked view.
                    .col(string_len("hint", 8))
                    .col(string_len("status", 16))
                    .col(uuid_null("order_id"))
                    .col(big_integer_null("order_line_id"))
                    .col(uuid_null("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("assigned_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_license_keys_item")
                            .from("license_keys", "item_id")
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
                    .name("uq_license_keys_item_fingerprint")
                    .table("license_keys")
                    .col("item_id")
                    .col("fingerprint")
                    .unique()
                    .to_owned(),
            )
            .await?;
        // Assignment takes the oldest available keys of an item.
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_license_keys_item_status")
                    .table("license_keys")
                    .col("item_id")
                    .col("status")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_license_keys_order")
                    .table("license_keys")
                    .col("order_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("license_keys").if_exists().to_owned())
            .await?;
        Ok(())
    }
}
