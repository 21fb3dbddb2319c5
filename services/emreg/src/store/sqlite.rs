//! SQLite back end: the default, one database file next to the service (pool settings and
//! migrations from `emrex-store`).

use std::path::Path;

use emrex_store::{Database, StoreConfig};
use sqlx::Row;

use super::sql::{self, impl_sql_store};
use super::{
    CHANGE_LOG_RETENTION, ChangeFeed, RegistryStore, StoreError, change_label, check_generation,
    check_replayable, from_db_int, from_json, now_unix, prepare_replace, to_db_int, to_json,
};
use crate::model::{Change, ChangeKind, Country, Entry, ReplaceOutcome, Snapshot};
use crate::validate::{ValidationOptions, validate_country, validate_entry};

/// The registry in a SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    pool: sqlx::SqlitePool,
    feed: ChangeFeed,
    opts: ValidationOptions,
}

impl SqliteStore {
    /// Opens (creating it if missing) the database file at `path` and applies the embedded
    /// migrations.
    pub async fn open(path: &Path, opts: ValidationOptions) -> Result<Self, StoreError> {
        Self::open_url(&format!("sqlite:{}", path.display()), opts).await
    }

    /// Opens a database given as a `sqlite:` URL (e.g. `sqlite:///var/lib/emreg/emreg.db`).
    pub async fn open_url(url: &str, opts: ValidationOptions) -> Result<Self, StoreError> {
        if !url.starts_with("sqlite:") {
            return Err(StoreError::Config("not a sqlite: URL".into()));
        }
        match emrex_store::open(&StoreConfig::url(url), super::SERVICE, &super::MIGRATIONS).await? {
            Database::Sqlite(pool) => Self::from_pool(pool, opts).await,
            Database::Postgres { .. } => Err(StoreError::Config("not a sqlite: URL".into())),
        }
    }

    /// A store over an open, migrated pool.
    pub(crate) async fn from_pool(
        pool: sqlx::SqlitePool,
        opts: ValidationOptions,
    ) -> Result<Self, StoreError> {
        let start = Self::current_revision(&pool).await?;
        let feed = ChangeFeed::start(
            &Database::Sqlite(pool.clone()),
            SqliteReplay { pool: pool.clone() },
            start,
            super::feed_options(),
        );
        Ok(Self { pool, feed, opts })
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
    write_begin = Some("BEGIN IMMEDIATE"),
    read_begin = None::<&'static str>
);
