//! A store chosen at run time from a URL, so the service is configured with one string.

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
    /// `sqlite:PATH` / `sqlite://PATH` → SQLite; `postgres://…` / `postgresql://…` → PostgreSQL.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(SqliteStore::open(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres(PostgresStore::connect(url).await?))
        } else {
            // Only the scheme: the rest of a URL may hold a password.
            let scheme = url.split_once(':').map_or("(no scheme)", |(s, _)| s);
            Err(StoreError::Url(format!("with scheme {scheme:?}")))
        }
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

    fn subscribe(&self) -> broadcast::Receiver<ExchangeRecord> {
        match self {
            Self::Sqlite(s) => s.subscribe(),
            Self::Postgres(s) => s.subscribe(),
        }
    }
}
