//! The store's schema, as SeaORM migrations. They run at server start-up and through the
//! stand-alone CLI (`cargo run -p migration --features cli -- up`).

pub use sea_orm_migration::prelude::*;

mod m20261129_000001_create_schema;
mod m20261202_000001_hardening;
mod m20261203_000001_cart;
mod m20261204_000001_promotions;
mod m20261205_000001_refunds;
mod m20261206_000001_license_keys;
mod m20261207_000001_gifts;
mod m20261208_000001_email;
mod m20261209_000001_console;
mod m20261210_000001_refund_deferred;
mod m20261211_000001_cart_seen_currency;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261129_000001_create_schema::Migration),
            Box::new(m20261202_000001_hardening::Migration),
            Box::new(m20261203_000001_cart::Migration),
            Box::new(m20261204_000001_promotions::Migration),
            Box::new(m20261205_000001_refunds::Migration),
            Box::new(m20261206_000001_license_keys::Migration),
            Box::new(m20261207_000001_gifts::Migration),
            Box::new(m20261208_000001_email::Migration),
            Box::new(m20261209_000001_console::Migration),
            Box::new(m20261210_000001_refund_deferred::Migration),
            Box::new(m20261211_000001_cart_seen_currency::Migration),
        ]
    }
}

/// Adds `column` (named `name`) to `table` unless it is already there, so a migration that
/// stopped half-way can run again.
pub(crate) async fn add_column(
    manager: &SchemaManager<'_>,
    table: &str,
    name: &str,
    column: ColumnDef,
) -> Result<(), DbErr> {
    if !manager.has_column(table, name).await? {
        manager
            .alter_table(
                Table::alter()
                    .table(table.to_owned())
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}
