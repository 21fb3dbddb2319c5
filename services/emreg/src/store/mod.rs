//! Persistence: one trait, [`RegistryStore`], with a SQLite back end (the default; one file, WAL)
//! and a PostgreSQL back end, both behind `sqlx` without compile-time query macros (CI builds
//! without a database).
//!
//! Guarantees every back end gives:
//!
//! * **Validation before storage**: entries and countries are checked with
//!   [`crate::validate`] before any database work; an invalid request changes nothing.
//! * **Atomic writes**: each write is one transaction. `replace_all` validates every entry and
//!   checks the generation inside that transaction; any error rolls all of it back.
//! * **Consecutive revisions**: the revision lives in the database (table `registry_state`) and
//!   every committed change adds exactly one and appends one row to the change log (table
//!   `changes`, the last [`CHANGE_LOG_RETENTION`] kept), so `changes_since` can replay and a
//!   reader can detect a missed change by a jump in revision.
//! * **Ordered notifications across replicas**: [`RegistryStore::subscribe`] delivers every
//!   committed change in revision order, without gaps or duplicates, whichever replica sharing a
//!   PostgreSQL database made it (the change feed of `emrex-store`: `LISTEN/NOTIFY` plus a read
//!   of the change log for what another replica wrote or a lost connection hid).
//!
//! Connecting, pool settings, the PostgreSQL schema (default `emreg`), TLS and the embedded
//! migrations (`migrations/{sqlite,postgres}`) come from `emrex-store`.

mod any;
mod postgres;
mod sql;
mod sqlite;

use std::collections::HashSet;
use std::future::Future;

use emrex_store::{DbError, FeedOptions, Migrations, Revisioned};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::migrate::Migrator;
use tokio::sync::broadcast;

pub use any::AnyStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::model::{Change, Country, Entry, ReplaceOutcome, Snapshot};
use crate::validate::{
    Problem, ValidationError, ValidationOptions, validate_country, validate_entry,
};

/// How many changes the log keeps for `changes_since`/Watch resumption. Older resumptions get a
/// [`Gap`] and a fresh snapshot instead.
pub const CHANGE_LOG_RETENTION: u64 = 1000;

/// Capacity of the in-process change broadcast. A subscriber that falls further behind is told it
/// lagged and catches up from the change log.
pub const BROADCAST_CAPACITY: usize = 1024;

/// The service name: the default SQLite file (`emreg.db`) and PostgreSQL schema (`emreg`).
pub(crate) const SERVICE: &str = "emreg";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// EMREG's tables, embedded so the binary needs no files at run time.
pub(crate) static MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE_MIGRATIONS,
    postgres: &POSTGRES_MIGRATIONS,
};

/// The change feed of registry changes.
pub(crate) type ChangeFeed = emrex_store::ChangeFeed<Change>;

pub(crate) fn feed_options() -> FeedOptions {
    FeedOptions {
        capacity: BROADCAST_CAPACITY,
        ..FeedOptions::default()
    }
}

impl Revisioned for Change {
    fn revision(&self) -> u64 {
        self.revision
    }
}

/// The registry's storage.
///
/// Methods return `Send` futures so the store can be used from tonic and axum handlers.
pub trait RegistryStore: Send + Sync + 'static {
    /// The registry (or, with `country`, that country's entries and settings) as of one revision,
    /// read consistently.
    fn list(
        &self,
        country: Option<&str>,
    ) -> impl Future<Output = Result<Snapshot, StoreError>> + Send;

    /// One entry, or `None`.
    fn get(&self, acronym: &str) -> impl Future<Output = Result<Option<Entry>, StoreError>> + Send;

    /// Validates and stores an entry (creating or replacing the one with its acronym) and returns
    /// it as stored. Storing content identical to what is stored is a no-op that returns the
    /// stored entry unchanged (no new revision).
    fn upsert(&self, entry: Entry) -> impl Future<Output = Result<Entry, StoreError>> + Send;

    /// Removes an entry; [`StoreError::NotFound`] when there is none. Returns the new revision.
    fn delete(&self, acronym: &str) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Validates and stores a country's settings. Returns the registry revision afterwards.
    fn set_country(&self, country: Country)
    -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Replaces every entry and country at once, atomically.
    ///
    /// * `expected_generation`: 0 = do not check; otherwise [`StoreError::GenerationConflict`]
    ///   when it differs from the current generation.
    /// * `new_generation` must be greater than the current generation
    ///   ([`StoreError::GenerationNotIncreasing`]).
    /// * Any invalid entry or country, or a duplicate acronym or country code, fails the whole
    ///   request; nothing is stored.
    fn replace_all(
        &self,
        entries: Vec<Entry>,
        countries: Vec<Country>,
        expected_generation: u64,
        new_generation: u64,
    ) -> impl Future<Output = Result<ReplaceOutcome, StoreError>> + Send;

    /// Every change after `revision`, in order. [`StoreError::Gap`] when the log no longer holds
    /// all of them (or `revision` is newer than the registry): the caller needs a snapshot.
    fn changes_since(
        &self,
        revision: u64,
    ) -> impl Future<Output = Result<Vec<Change>, StoreError>> + Send;

    /// Live changes committed through this store (this process), in revision order. Subscribe
    /// *before* reading a snapshot so that nothing committed in between is missed.
    fn subscribe(&self) -> broadcast::Receiver<Change>;
}

/// Storage errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("no entry with acronym {0:?}")]
    NotFound(String),
    #[error(
        "generation conflict: expected generation {expected}, but the registry is at generation {current}"
    )]
    GenerationConflict { expected: u64, current: u64 },
    #[error(
        "generation: {requested} must be greater than the registry's current generation {current}"
    )]
    GenerationNotIncreasing { requested: u64, current: u64 },
    #[error("entries[{index}].acronym: {acronym:?} appears more than once in the request")]
    DuplicateAcronym { acronym: String, index: usize },
    #[error("countries[{index}].country_code: {code:?} appears more than once in the request")]
    DuplicateCountry { code: String, index: usize },
    #[error(transparent)]
    Gap(#[from] Gap),
    #[error("store configuration: {0}")]
    Config(String),
    /// Opening the database (URL, TLS rule, connection, migrations).
    #[error(transparent)]
    Open(#[from] DbError),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

/// `changes_since` cannot replay: the requested revision is older than the change log or newer
/// than the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot replay changes after revision {requested}: replay is possible from revision {earliest} up to the current revision {current}"
)]
pub struct Gap {
    /// The revision asked for.
    pub requested: u64,
    /// The oldest revision that can still be resumed from.
    pub earliest: u64,
    /// The registry's current revision.
    pub current: u64,
}

/// Validates a `replace_all` request in full before any database work.
pub(crate) fn prepare_replace(
    entries: Vec<Entry>,
    countries: Vec<Country>,
    new_generation: u64,
    opts: &ValidationOptions,
) -> Result<(Vec<Entry>, Vec<Country>), StoreError> {
    to_db_int(new_generation, "generation")?;
    let mut seen = HashSet::new();
    let mut valid_entries = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let entry =
            validate_entry(entry, opts).map_err(|e| e.within(&format!("entries[{index}]")))?;
        if !seen.insert(entry.acronym.clone()) {
            return Err(StoreError::DuplicateAcronym {
                acronym: entry.acronym,
                index,
            });
        }
        valid_entries.push(entry);
    }
    let mut seen = HashSet::new();
    let mut valid_countries = Vec::with_capacity(countries.len());
    for (index, country) in countries.into_iter().enumerate() {
        let country =
            validate_country(country).map_err(|e| e.within(&format!("countries[{index}]")))?;
        if !seen.insert(country.code.clone()) {
            return Err(StoreError::DuplicateCountry {
                code: country.code,
                index,
            });
        }
        valid_countries.push(country);
    }
    Ok((valid_entries, valid_countries))
}

/// Checks the generations of a `replace_all` against the stored one.
pub(crate) fn check_generation(
    current: u64,
    expected: u64,
    requested: u64,
) -> Result<(), StoreError> {
    if expected != 0 && expected != current {
        return Err(StoreError::GenerationConflict { expected, current });
    }
    if requested <= current {
        return Err(StoreError::GenerationNotIncreasing { requested, current });
    }
    Ok(())
}

/// Decides whether the change log can serve `changes_since(requested)`.
///
/// `oldest_logged` is the smallest revision in the log (`None` when it is empty).
pub(crate) fn check_replayable(
    requested: u64,
    current: u64,
    oldest_logged: Option<u64>,
) -> Result<(), Gap> {
    let earliest = oldest_logged.map_or(current, |o| o.saturating_sub(1));
    if requested > current || requested < earliest {
        return Err(Gap {
            requested,
            earliest,
            current,
        });
    }
    Ok(())
}

/// Revisions and generations are `u64` in the API and `BIGINT` in the databases.
pub(crate) fn to_db_int(v: u64, field: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| {
        StoreError::Invalid(ValidationError {
            field: field.to_string(),
            problem: Problem::OutOfRange(i64::MAX.unsigned_abs()),
        })
    })
}

pub(crate) fn from_db_int(v: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("negative {what} {v}")))
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn from_json<T: DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The label stored in `changes.kind` (for people reading the table; the payload is authoritative).
pub(crate) fn change_label(kind: &crate::model::ChangeKind) -> &'static str {
    use crate::model::ChangeKind;
    match kind {
        ChangeKind::Upserted(_) => "upserted",
        ChangeKind::Deleted(_) => "deleted",
        ChangeKind::Country(_) => "country",
        ChangeKind::Replaced { .. } => "replaced",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_rules() {
        assert!(check_generation(0, 0, 1).is_ok());
        assert!(check_generation(5, 5, 6).is_ok());
        assert!(check_generation(5, 0, 9).is_ok());
        assert!(matches!(
            check_generation(5, 4, 6),
            Err(StoreError::GenerationConflict {
                expected: 4,
                current: 5
            })
        ));
        assert!(matches!(
            check_generation(5, 5, 5),
            Err(StoreError::GenerationNotIncreasing { .. })
        ));
    }

    #[test]
    fn replay_window() {
        // Empty registry: resuming from 0 is fine, anything else is unknown.
        assert!(check_replayable(0, 0, None).is_ok());
        assert!(check_replayable(1, 0, None).is_err());
        // Log holds 1..=10.
        assert!(check_replayable(0, 10, Some(1)).is_ok());
        assert!(check_replayable(10, 10, Some(1)).is_ok());
        assert!(check_replayable(11, 10, Some(1)).is_err());
        // Log pruned to 6..=10: resuming from 5 works, from 4 does not.
        assert!(check_replayable(5, 10, Some(6)).is_ok());
        assert_eq!(
            check_replayable(4, 10, Some(6)),
            Err(Gap {
                requested: 4,
                earliest: 5,
                current: 10
            })
        );
    }
}
