//! Database connection (SQLite by default, PostgreSQL via `DATABASE_URL`) and migrations.

use std::time::Duration;

use migration::{Migrator, MigratorTrait as _};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait as _, Database, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait as _,
};

use crate::{Error, Result, Settings};

pub async fn connect(settings: &Settings) -> Result<DatabaseConnection> {
    if let Some(path) = sqlite_file(&settings.database_url)
        && let Some(dir) = std::path::Path::new(&path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::internal(format!("cannot create {}: {e}", dir.display())))?;
    }
    let mut options = ConnectOptions::new(settings.database_url.clone());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .sqlx_logging(false);
    if settings.is_postgres() {
        options
            .max_connections(settings.database_pool_size)
            .min_connections(2.min(settings.database_pool_size));
    } else {
        // WAL lets readers proceed during a write; writers queue on the busy timeout.
        let busy_timeout = settings.sqlite_busy_timeout;
        options.max_connections(8).map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy_timeout)
                .foreign_keys(true)
                .create_if_missing(true)
        });
    }
    let db = Database::connect(options).await.map_err(|e| {
        tracing::error!(error = %e, "cannot connect to the database");
        Error::Unavailable {
            code: "DATABASE_UNAVAILABLE",
            message: format!("cannot connect to the database: {e}"),
        }
    })?;
    Ok(db)
}

/// Applies pending migrations. Safe to call from several replicas at once on PostgreSQL: the
/// migrator takes its own lock, and every statement is `IF NOT EXISTS`.
pub async fn migrate(db: &DatabaseConnection) -> Result<()> {
    Migrator::up(db, None).await.map_err(|e| {
        tracing::error!(error = %e, "migration failed");
        Error::internal(format!("migration failed: {e}"))
    })
}

pub async fn ping(db: &DatabaseConnection) -> Result<(), DbErr> {
    db.execute_unprepared("SELECT 1").await.map(|_| ())
}

/// Starts a transaction that will write. On SQLite it takes the write lock up front
/// (`BEGIN IMMEDIATE`), so concurrent writers wait their turn instead of failing to upgrade.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// Takes the user's row lock for the rest of `txn`: what a user may hold (their cart, their
/// wishlist, what an order grants them) is read and written under it, so two requests of the
/// same user at once take turns. A user that no longer exists is `Unauthenticated`.
pub async fn lock_user(txn: &DatabaseTransaction, user_id: uuid::Uuid) -> Result<()> {
    use sea_orm::{EntityTrait as _, QuerySelect as _};
    crate::entity::users::Entity::find_by_id(user_id)
        .lock_exclusive()
        .one(txn)
        .await?
        .ok_or(Error::Unauthenticated)?;
    Ok(())
}

/// The file behind a `sqlite:` URL, if it is one (not `:memory:`).
fn sqlite_file(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.trim_start_matches("//");
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_file() {
        assert_eq!(
            sqlite_file("sqlite://data/store.db?mode=rwc").as_deref(),
            Some("data/store.db")
        );
        assert_eq!(
            sqlite_file("sqlite:///tmp/x.db").as_deref(),
            Some("/tmp/x.db")
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://localhost/x"), None);
    }
}
