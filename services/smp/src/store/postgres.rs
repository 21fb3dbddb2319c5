//! PostgreSQL back end: what several SMP replicas share (pool, schema, TLS and migrations from
//! `emrex-store`; every write notifies the other replicas' change feeds).

use emrex_store::Database;
use sqlx::Row;

use super::sql::{self, impl_sql_store};
use super::{
    ChangeFeed, Completion, ListFilter, SmpStore, StoreError, check_completion, check_new_record,
    effective_limit, from_json, session_id_in_bounds, status_from_db, status_to_db, to_json,
};
use crate::model::{ExchangeRecord, Outcome, Status};

/// The exchanges in a PostgreSQL database, in their own schema.
#[derive(Debug)]
pub struct PostgresStore {
    pool: sqlx::PgPool,
    feed: ChangeFeed,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/db`, TLS per `emrex-store`'s rule)
    /// and applies the embedded migrations in the schema `smp`.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_in_schema(url, super::SERVICE).await
    }

    /// Like [`PostgresStore::connect`], but keeps every table in `schema` (created if missing),
    /// so several services — or parallel tests — can share one database. `schema` must match
    /// `[a-z_][a-z0-9_]{0,62}`.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        let db = emrex_store::open_postgres_in_schema(url, schema, &super::MIGRATIONS).await?;
        Self::from_database(&db).await
    }

    /// A store over an open, migrated PostgreSQL database.
    pub(crate) async fn from_database(db: &Database) -> Result<Self, StoreError> {
        let Database::Postgres { pool, .. } = db else {
            return Err(StoreError::Url("(not a postgres:// URL)".into()));
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
    write_begin = None::<&'static str>
);
