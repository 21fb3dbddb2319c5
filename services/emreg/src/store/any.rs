//! A store chosen at run time from a URL, so a service can be configured with one string.

use emrex_store::{Database, StoreConfig};
use tokio::sync::broadcast;

use super::{PostgresStore, RegistryStore, SqliteStore, StoreError};
use crate::model::{Change, Country, Entry, ReplaceOutcome, Snapshot};
use crate::validate::ValidationOptions;

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
    /// `postgres://…` / `postgresql://…` → PostgreSQL (in `config.schema`, default `emreg`).
    pub async fn open(config: &StoreConfig, opts: ValidationOptions) -> Result<Self, StoreError> {
        match emrex_store::open(config, super::SERVICE, &super::MIGRATIONS).await? {
            Database::Sqlite(pool) => Ok(Self::Sqlite(SqliteStore::from_pool(pool, opts).await?)),
            db @ Database::Postgres { .. } => Ok(Self::Postgres(
                PostgresStore::from_database(&db, opts).await?,
            )),
        }
    }

    /// [`AnyStore::open`] with every key but the URL at its default.
    pub async fn connect(url: &str, opts: ValidationOptions) -> Result<Self, StoreError> {
        Self::open(&StoreConfig::url(url), opts).await
    }
}

impl RegistryStore for AnyStore {
    async fn list(&self, country: Option<&str>) -> Result<Snapshot, StoreError> {
        match self {
            Self::Sqlite(s) => s.list(country).await,
            Self::Postgres(s) => s.list(country).await,
        }
    }

    async fn get(&self, acronym: &str) -> Result<Option<Entry>, StoreError> {
        match self {
            Self::Sqlite(s) => s.get(acronym).await,
            Self::Postgres(s) => s.get(acronym).await,
        }
    }

    async fn upsert(&self, entry: Entry) -> Result<Entry, StoreError> {
        match self {
            Self::Sqlite(s) => s.upsert(entry).await,
            Self::Postgres(s) => s.upsert(entry).await,
        }
    }

    async fn delete(&self, acronym: &str) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.delete(acronym).await,
            Self::Postgres(s) => s.delete(acronym).await,
        }
    }

    async fn set_country(&self, country: Country) -> Result<u64, StoreError> {
        match self {
            Self::Sqlite(s) => s.set_country(country).await,
            Self::Postgres(s) => s.set_country(country).await,
        }
    }

    async fn replace_all(
        &self,
        entries: Vec<Entry>,
        countries: Vec<Country>,
        expected_generation: u64,
        new_generation: u64,
    ) -> Result<ReplaceOutcome, StoreError> {
        match self {
            Self::Sqlite(s) => {
                s.replace_all(entries, countries, expected_generation, new_generation)
                    .await
            }
            Self::Postgres(s) => {
                s.replace_all(entries, countries, expected_generation, new_generation)
                    .await
            }
        }
    }

    async fn changes_since(&self, revision: u64) -> Result<Vec<Change>, StoreError> {
        match self {
            Self::Sqlite(s) => s.changes_since(revision).await,
            Self::Postgres(s) => s.changes_since(revision).await,
        }
    }

    fn subscribe(&self) -> broadcast::Receiver<Change> {
        match self {
            Self::Sqlite(s) => s.subscribe(),
            Self::Postgres(s) => s.subscribe(),
        }
    }
}
