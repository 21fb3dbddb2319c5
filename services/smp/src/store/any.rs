//! A store chosen at run time from a URL, so the service is configured with one string.

use emrex_store::{Database, StoreConfig};
use tokio::sync::broadcast;

use super::{Completion, ListFilter, PostgresStore, SmpStore, SqliteStore, StoreError};
use crate::model::{ExchangeRecord, Outcome};

/// Either back end.
#[derive(Debug)]
pub enum AnyStore {
    /// A SQLite file.
    Sqlite(SqliteStore),
    /// A PostgreSQL database.
    Postgres(PostgresStore),
}

impl AnyStore {
    /// Opens the store `config` names: `sqlite:PATH` / `sqlite://PATH` → SQLite;
    /// `postgres://…` / `postgresql://…` → PostgreSQL (in `config.schema`, default `smp`).
    pub async fn open(config: &StoreConfig) -> Result<Self, StoreError> {
        match emrex_store::open(config, super::SERVICE, &super::MIGRATIONS).await? {
            Database::Sqlite(pool) => Ok(Self::Sqlite(SqliteStore::from_pool(pool).await?)),
            db @ Database::Postgres { .. } => {
                Ok(Self::Postgres(PostgresStore::from_database(&db).await?))
            }
        }
    }

    /// [`AnyStore::open`] with every key but the URL at its default.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(&StoreConfig::url(url)).await
    }
}

impl SmpStore for AnyStore {
    async fn insert(&self, record: ExchangeRecord) -> Result<ExchangeRecord, StoreError> {
        match self {
            Self::Sqlite(s) => s.insert(record).await,
            Self::Postgres(s) => s.insert(record).await,
        }
    }

    async fn complete(
        &self,
        session_id: &str,
        now_unix: i64,
        outcome: Outcome,
        raw_response: Vec<u8>,
        elmo_xml: Option<Vec<u8>>,
    ) -> Result<Completion, StoreError> {
        match self {
            Self::Sqlite(s) => {
                s.complete(session_id, now_unix, outcome, raw_response, elmo_xml)
                    .await
            }
            Self::Postgres(s) => {
                s.complete(session_id, now_unix, outcome, raw_response, elmo_xml)
                    .await
            }
        }
    }

    async fn get(&self, session_id: &str) -> Result<Option<ExchangeRecord>, StoreError> {
        match self {
            Self::Sqlite(s) => s.get(session_id).await,
            Self::Postgres(s) => s.get(session_id).await,
        }
    }

    async fn list(&self, filter: ListFilter) -> Result<Vec<ExchangeRecord>, StoreError> {
        match self {
            Self::Sqlite(s) => s.list(filter).await,
            Self::Postgres(s) => s.list(filter).await,
        }
    }

    async fn changed_after(
        &self,
        revision: i64,
        limit: usize,
    ) -> Result<Vec<ExchangeRecord>, StoreError> {
        match self {
            Self::Sqlite(s) => s.changed_after(revision, limit).await,
            Self::Postgres(s) => s.changed_after(revision, limit).await,
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<ExchangeRecord> {
        match self {
            Self::Sqlite(s) => s.subscribe(),
            Self::Postgres(s) => s.subscribe(),
        }
    }
}
