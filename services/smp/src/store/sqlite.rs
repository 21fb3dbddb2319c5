//! SQLite back end: the default, one database file next to the service.
//!
//! WAL journal (readers never block the writer), `synchronous = FULL` (a completed exchange is the
//! only copy of what the NCP sent: it must survive a power cut), a busy timeout for the rare case
//! of a second process writing.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::sql::{self, impl_sql_store};
use super::{
    ChangeFeed, Completion, ListFilter, SmpStore, StoreError, check_completion, check_new_record,
    effective_limit, from_json, session_id_in_bounds, status_from_db, status_to_db, to_json,
};
use crate::model::{ExchangeRecord, Outcome, Status};

/// Connections in the pool: one writer at a time anyway, a few concurrent readers.
const MAX_CONNECTIONS: u32 = 4;

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
        let connect = SqliteConnectOptions::from_str(url)?;
        Self::open_file(connect).await
    }

    /// Opens (creating it if missing) the database file at `path`: no URL parsing, so any file
    /// name works.
    pub async fn open_path(path: &Path) -> Result<Self, StoreError> {
        Self::open_file(SqliteConnectOptions::new().filename(path)).await
    }

    /// A private, empty in-memory database (for tests): gone when the store is dropped.
    pub async fn in_memory() -> Result<Self, StoreError> {
        let connect = SqliteConnectOptions::from_str("sqlite::memory:")?;
        // One connection, kept open for the store's lifetime: an in-memory database lives only
        // as long as a connection to it, and a single connection never meets SQLite's
        // shared-cache table locks.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(connect)
            .await?;
        Self::ready(pool).await
    }

    async fn open_file(connect: SqliteConnectOptions) -> Result<Self, StoreError> {
        let connect = connect
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(connect)
            .await?;
        Self::ready(pool).await
    }

    async fn ready(pool: sqlx::SqlitePool) -> Result<Self, StoreError> {
        migrator().run(&pool).await?;
        tracing::info!("SMP SQLite store ready");
        Ok(Self {
            pool,
            feed: ChangeFeed::new(),
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
        "exchanges".into(),
        MigrationType::Simple,
        include_str!("../../migrations/sqlite/0001_exchanges.sql").into_sql_str(),
        false,
    )])
}

impl_sql_store!(
    SqliteStore,
    sqlx::Sqlite,
    write_begin = Some("BEGIN IMMEDIATE")
);
