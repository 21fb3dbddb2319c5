//! SQLite back end: the default, one database file next to the service.
//!
//! WAL journal (readers never block the writer, and a read transaction sees one consistent
//! snapshot), `synchronous = FULL` (writes are rare; a committed registry change must survive a
//! power cut), a busy timeout for the rare case of a second process writing.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::sql::{self, impl_sql_store};
use super::{
    CHANGE_LOG_RETENTION, ChangeFeed, RegistryStore, StoreError, change_label, check_generation,
    check_replayable, from_db_int, from_json, now_unix, prepare_replace, to_db_int, to_json,
};
use crate::model::{Change, ChangeKind, Country, Entry, ReplaceOutcome, Snapshot};
use crate::validate::{ValidationOptions, validate_country, validate_entry};

/// Connections in the pool: one writer at a time anyway, a few concurrent readers.
const MAX_CONNECTIONS: u32 = 4;

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
        Self::open_with(SqliteConnectOptions::new().filename(path), opts).await
    }

    /// Opens a database given as a `sqlite:` URL (e.g. `sqlite:///var/lib/emreg/emreg.db`).
    pub async fn open_url(url: &str, opts: ValidationOptions) -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str(url)?;
        Self::open_with(connect, opts).await
    }

    async fn open_with(
        connect: SqliteConnectOptions,
        opts: ValidationOptions,
    ) -> Result<Self, StoreError> {
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(connect)
            .await?;
        migrator().run(&pool).await?;
        tracing::info!("EMREG SQLite store ready");
        Ok(Self {
            pool,
            feed: ChangeFeed::new(),
            opts,
        })
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The SQLite migrations, embedded so the binary needs no files at run time.
fn migrator() -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(vec![Migration::new(
        1,
        "registry".into(),
        MigrationType::Simple,
        include_str!("../../migrations/sqlite/0001_registry.sql").into_sql_str(),
        false,
    )])
}

impl_sql_store!(
    SqliteStore,
    sqlx::Sqlite,
    write_begin = Some("BEGIN IMMEDIATE"),
    read_begin = None::<&'static str>
);
