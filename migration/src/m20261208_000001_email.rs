//! Email: a user's optional address and its verification, and the transactional outbox that
//! receipts, refund notices, gift notices and verification links go out through.

use sea_orm_migration::{prelude::*, schema::*};

use crate::add_column;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (name, column) in [
            ("email", string_len_null("email", 254)),
            (
                "email_verified_at",
                timestamp_with_time_zone_null("email_verified_at"),
            ),
            // SHA-256 of the pending verification token; the token itself is only in the email.
            (
                "email_token_sha256",
                string_len_null("email_token_sha256", 64),
            ),
            (
                "email_token_expires_at",
                timestamp_with_time_zone_null("email_token_expires_at"),
            ),
            (
                "email_token_sent_at",
                timestamp_with_time_zone_null("email_token_sent_at"),
            ),
        ] {
            add_column(manager, "users", name, column).await?;
        }
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_users_email_token")
                    .table("users")
                    .col("email_token_sha256")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("outbox")
                    .if_not_exists()
                    .col(big_pk_auto("id"))
                    // What the message is about (`receipt:<order>`, `refund:<order>:<cents>`, …):
                    // the same state change never enqueues a second message.
                    .col(string_len_uniq("dedupe_key", 160))
                    .col(string_len("kind", 32))
                    .col(uuid_null("user_id"))
                    .col(string_len("to_address", 254))
                    // What the message says, as data (JSON); rendered to text and HTML when sent.
                    .col(text("payload"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(integer("attempts").default(0))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    // A worker's lease: another replica does not take the message before it ends.
                    .col(timestamp_with_time_zone_null("locked_until"))
                    .col(timestamp_with_time_zone_null("sent_at"))
                    // Given up on after the last retry.
                    .col(timestamp_with_time_zone_null("failed_at"))
                    .col(text_null("last_error"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .if_not_exists()
                    .name("idx_outbox_due")
                    .table("outbox")
                    .col("sent_at")
                    .col("failed_at")
                    .col("next_attempt_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("outbox").if_exists().to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .if_exists()
                    .name("idx_users_email_token")
                    .table("users")
                    .to_owned(),
            )
            .await?;
        for column in [
            "email",
            "email_verified_at",
            "email_token_sha256",
            "email_token_expires_at",
            "email_token_sent_at",
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("users")
                        .drop_column(column.to_owned())
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
