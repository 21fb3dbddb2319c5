//! SQLite back end: the default, one database file next to the service (pool settings and
//! migrations from `emrex-store`). One replica: the file is not shared.

use std::path::Path;

use emrex_store::{Database, StoreConfig};
use sqlx::Row;

use super::sql::{self, impl_sql_store};
use super::{
    ChangeFeed, Completion, ListFilter, SmpStore, StoreError, check_completion, check_new_record,
    effective_limit, from_json, session_id_in_bounds, status_from_db, status_to_db, to_json,
};
use crate::model::{ExchangeRecord, Outcome, Status};

/// The exchanges in a SQLite file (or in memory, for tests).
#[derive(Debug)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    feed: ChangeFeed,
}

impl SqliteStore {
    /// Opens the database given as a `sqlite:` URL (`sqlite:/var/lib/smp/smp.db`,
    /// `sqlite:///var/lib/smp/smp.db`, `sqlite:smp.db` relative to the working directory),
    /// creating the file when missing, and applies the embedded migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Url("(not a sqlite: URL)".into()));
        }
        match emrex_store::open(&StoreConfig::url(url), super::SERVICE, &super::MIGRATIONS).await? {
            Database::Sqlite(pool) => Self::from_pool(pool).await,
            Database::Postgres { .. } => Err(StoreError::Url("(not a sqlite: URL)".into())),
        }
    }

    /// Opens (creating it if missing) the database file at `path`.
    pub async fn open_path(path: &Path) -> Result<Self, StoreError> {
        Self::open(&format!("sqlite:{}", path.display())).await
    }

    /// A private, empty in-memory database (for tests): gone when the store is dropped.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let pool = emrex_store::open_sqlite_memory(&super::MIGRATIONS).await?;
        Self::from_pool(pool).await
    }

    /// A store over an open, migrated pool.
    pub(crate) async fn from_pool(pool: sqlx::SqlitePool) -> Result<Self, StoreError> {
        let start = Self::current_revision(&pool).await?;
        let feed = ChangeFeed::start(
            &Database::Sqlite(pool.clone()),
            SqliteReplay { pool: pool.clone() },
            start,
            super::feed_options(),
        );
        Ok(Self { pool, feed })
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl_sql_store!(
    SqliteStore,
    SqliteReplay,
    sqlx::Sqlite,
    write_begin = Some("BEGIN IMMEDIATE")
);
