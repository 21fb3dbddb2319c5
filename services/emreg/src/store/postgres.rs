//! PostgreSQL back end: what several EMREG replicas share (pool, schema, TLS and migrations from
//! `emrex-store`; every write notifies the other replicas' change feeds).

use emrex_store::Database;
use sqlx::Row;

use super::sql::{self, impl_sql_store};
use super::{
    CHANGE_LOG_RETENTION, ChangeFeed, RegistryStore, StoreError, change_label, check_generation,
    check_replayable, from_db_int, from_json, now_unix, prepare_replace, to_db_int, to_json,
};
use crate::model::{Change, ChangeKind, Country, Entry, ReplaceOutcome, Snapshot};
use crate::validate::{ValidationOptions, validate_country, validate_entry};

/// The registry in a PostgreSQL database, in its own schema.
#[derive(Debug)]
pub struct PostgresStore {
    pool: sqlx::PgPool,
    feed: ChangeFeed,
    opts: ValidationOptions,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/db`, TLS per `emrex-store`'s rule)
    /// and applies the embedded migrations in the schema `emreg`.
    pub async fn connect(url: &str, opts: ValidationOptions) -> Result<Self, StoreError> {
        Self::connect_in_schema(url, super::SERVICE, opts).await
    }

    /// Like [`PostgresStore::connect`], but keeps every table in `schema` (created if missing),
    /// so several registries — or parallel tests — can share one database. `schema` must match
    /// `[a-z_][a-z0-9_]{0,62}`.
    pub async fn connect_in_schema(
        url: &str,
        schema: &str,
        opts: ValidationOptions,
    ) -> Result<Self, StoreError> {
        let db = emrex_store::open_postgres_in_schema(url, schema, &super::MIGRATIONS).await?;
        Self::from_database(&db, opts).await
    }

    /// A store over an open, migrated PostgreSQL database.
    pub(crate) async fn from_database(
        db: &Database,
        opts: ValidationOptions,
    ) -> Result<Self, StoreError> {
        let Database::Postgres { pool, .. } = db else {
            return Err(StoreError::Config("not a PostgreSQL database".into()));
        };
        let start = Self::current_revision(pool).await?;
        let feed = ChangeFeed::start(
            db,
            PostgresReplay { pool: pool.clone() },
            start,
            super::feed_options(),
        );
        Ok(Self {
            pool: pool.clone(),
            feed,
            opts,
        })
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl_sql_store!(
    PostgresStore,
    PostgresReplay,
    sqlx::Postgres,
    write_begin = None::<&'static str>,
    read_begin = Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
);
