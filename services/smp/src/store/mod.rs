//! Exchange storage (SQLite or PostgreSQL). See the trait for the guarantees.
//!
//! Both back ends run the same SQL through `sqlx` (no compile-time query macros: builds need no
//! database), with embedded migrations (`services/smp/migrations/{sqlite,postgres}`):
//!
//! * **One table** `exchanges`, one row per session id, and a one-row `smp_state` holding the
//!   store's revision. Every committed change (an insert or a completion) adds exactly one to the
//!   revision, inside its transaction, and stamps the record with it.
//! * **Single use**: [`SmpStore::complete`] is one conditional `UPDATE … WHERE status =
//!   'pending' AND expires_unix > now` inside a write transaction, so of any number of concurrent
//!   callers (in this process or in others sharing the database) exactly one completes the
//!   record. A refused completion or insert changes nothing and uses no revision.
//! * **Ordered notifications across replicas**: [`SmpStore::subscribe`] delivers every committed
//!   change in revision order, without duplicates, whichever replica sharing a PostgreSQL
//!   database made it (the change feed of `emrex-store`). A record changed twice before a
//!   subscriber saw it arrives once, in its latest state (its row holds only that).
//!
//! Connecting, pool settings, the PostgreSQL schema (default `smp`), TLS and the embedded
//! migrations come from `emrex-store`.
//! * **Bounds**: session ids of 1 to [`MAX_SESSION_ID_CHARS`] characters; raw responses and ELMO
//!   XML of at most [`MAX_BLOB_BYTES`] each ([`StoreError::Invalid`] otherwise, nothing stored).

mod any;
mod postgres;
mod sql;
mod sqlite;

use std::future::Future;

use emrex_store::{DbError, FeedOptions, Migrations, Revisioned};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::migrate::Migrator;

pub use any::AnyStore;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use crate::model::{ExchangeRecord, Outcome, Status};

/// Longest session id accepted, in characters (ours are 32).
pub const MAX_SESSION_ID_CHARS: usize = 128;

/// Largest `raw_response`, and largest `elmo_xml`, accepted (32 MiB each).
pub const MAX_BLOB_BYTES: usize = 32 * 1024 * 1024;

/// [`ListFilter::limit`] when it is 0.
pub const DEFAULT_LIST_LIMIT: usize = 100;

/// The most records one [`SmpStore::list`] returns.
pub const MAX_LIST_LIMIT: usize = 1000;

/// Capacity of the in-process change broadcast. Records can carry up to 64 MiB of payload, and a
/// lagging subscriber keeps up to this many alive, so it is kept small; a subscriber that falls
/// further behind is told it lagged and can catch up with [`ListFilter::after_revision`].
pub const BROADCAST_CAPACITY: usize = 256;

/// The service name: the default SQLite file (`smp.db`) and PostgreSQL schema (`smp`).
pub(crate) const SERVICE: &str = "smp";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The SMP's tables, embedded so the binary needs no files at run time.
pub(crate) static MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE_MIGRATIONS,
    postgres: &POSTGRES_MIGRATIONS,
};

/// The change feed of exchange records.
pub(crate) type ChangeFeed = emrex_store::ChangeFeed<ExchangeRecord>;

pub(crate) fn feed_options() -> FeedOptions {
    FeedOptions {
        capacity: BROADCAST_CAPACITY,
        ..FeedOptions::default()
    }
}

impl Revisioned for ExchangeRecord {
    fn revision(&self) -> u64 {
        u64::try_from(self.revision).unwrap_or(0)
    }
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(String),
    #[error("a record with this session id already exists")]
    Duplicate,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported store URL {0} (sqlite:PATH or postgres://…)")]
    Url(String),
    /// The request was refused before any database work (bounds, a non-pending new record, …).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// Opening the database (URL, TLS rule, connection, migrations).
    #[error(transparent)]
    Open(#[from] DbError),
    /// Work on the blocking pool was cancelled (the runtime is shutting down): nothing recorded.
    #[error("interrupted: {0}")]
    Interrupted(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e.to_string())
    }
}

/// Result of [`SmpStore::complete`].
#[derive(Debug, Clone, PartialEq)]
pub enum Completion {
    /// The record was pending and unexpired; it is now completed (returned as stored).
    Completed(Box<ExchangeRecord>),
    /// No such session id.
    Unknown,
    /// Already completed (a replay); nothing changed.
    AlreadyCompleted,
    /// Pending but past `expires_unix`; nothing changed.
    Expired,
}

/// Which records [`SmpStore::list`] returns, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListFilter {
    /// Only records with this SIS reference (exact) when set.
    pub sis_reference: Option<String>,
    /// Only records with revision greater than this (for polling / resuming).
    pub after_revision: Option<i64>,
    /// At most this many (the store caps it at 1000).
    pub limit: usize,
}

/// The SMP's storage.
pub trait SmpStore: Send + Sync + 'static {
    /// Stores a new pending record (its `revision` is assigned by the store and returned).
    fn insert(
        &self,
        record: ExchangeRecord,
    ) -> impl Future<Output = Result<ExchangeRecord, StoreError>> + Send;

    /// Completes a pending, unexpired record atomically (exactly one caller wins for a session
    /// id): sets status, `completed_unix = now_unix`, outcome, raw response and XML.
    fn complete(
        &self,
        session_id: &str,
        now_unix: i64,
        outcome: Outcome,
        raw_response: Vec<u8>,
        elmo_xml: Option<Vec<u8>>,
    ) -> impl Future<Output = Result<Completion, StoreError>> + Send;

    /// One record.
    fn get(
        &self,
        session_id: &str,
    ) -> impl Future<Output = Result<Option<ExchangeRecord>, StoreError>> + Send;

    /// Records, newest revision first.
    fn list(
        &self,
        filter: ListFilter,
    ) -> impl Future<Output = Result<Vec<ExchangeRecord>, StoreError>> + Send;

    /// Records changed after `revision`, **oldest first**, at most `limit` (capped like
    /// [`ListFilter::limit`]): for resuming a watch in order.
    fn changed_after(
        &self,
        revision: i64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<ExchangeRecord>, StoreError>> + Send;

    /// Every record change made through this store value from now on (inserts and
    /// completions), in revision order.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ExchangeRecord>;
}

/// Whether `session_id` could be stored (1 to [`MAX_SESSION_ID_CHARS`] characters).
pub(crate) fn session_id_in_bounds(session_id: &str) -> bool {
    !session_id.is_empty() && session_id.chars().count() <= MAX_SESSION_ID_CHARS
}

/// Checks a record given to `insert` before any database work.
pub(crate) fn check_new_record(record: &ExchangeRecord) -> Result<(), StoreError> {
    if !session_id_in_bounds(&record.session_id) {
        return Err(StoreError::Invalid(format!(
            "session_id must be 1 to {MAX_SESSION_ID_CHARS} characters (got {})",
            record.session_id.chars().count()
        )));
    }
    if record.status != Status::Pending
        || record.completed_unix.is_some()
        || record.outcome.is_some()
        || record.raw_response.is_some()
        || record.elmo_xml.is_some()
    {
        return Err(StoreError::Invalid(
            "a new record must be pending, without completion, outcome, raw response or XML".into(),
        ));
    }
    Ok(())
}

/// Checks the payload given to `complete` before any database work.
pub(crate) fn check_completion(
    raw_response: &[u8],
    elmo_xml: Option<&[u8]>,
) -> Result<(), StoreError> {
    if raw_response.len() > MAX_BLOB_BYTES {
        return Err(StoreError::Invalid(format!(
            "raw_response is {} bytes, more than the {MAX_BLOB_BYTES} allowed",
            raw_response.len()
        )));
    }
    if let Some(xml) = elmo_xml
        && xml.len() > MAX_BLOB_BYTES
    {
        return Err(StoreError::Invalid(format!(
            "elmo_xml is {} bytes, more than the {MAX_BLOB_BYTES} allowed",
            xml.len()
        )));
    }
    Ok(())
}

/// The effective row limit of a list request (0 → [`DEFAULT_LIST_LIMIT`], capped at
/// [`MAX_LIST_LIMIT`]).
pub(crate) fn effective_limit(limit: usize) -> i64 {
    let limit = if limit == 0 {
        DEFAULT_LIST_LIMIT
    } else {
        limit.min(MAX_LIST_LIMIT)
    };
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The text stored in `exchanges.status`.
pub(crate) fn status_to_db(status: Status) -> &'static str {
    match status {
        Status::Pending => "pending",
        Status::Completed => "completed",
    }
}

pub(crate) fn status_from_db(s: &str) -> Result<Status, StoreError> {
    match s {
        "pending" => Ok(Status::Pending),
        "completed" => Ok(Status::Completed),
        other => Err(StoreError::Corrupt(format!("unknown status {other:?}"))),
    }
}

pub(crate) fn to_json<T: Serialize>(v: &T, what: &str) -> Result<String, StoreError> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(s: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        assert_eq!(effective_limit(0), 100);
        assert_eq!(effective_limit(1), 1);
        assert_eq!(effective_limit(1000), 1000);
        assert_eq!(effective_limit(usize::MAX), 1000);
    }

    #[test]
    fn session_id_bounds() {
        assert!(!session_id_in_bounds(""));
        assert!(session_id_in_bounds(&"a".repeat(128)));
        assert!(!session_id_in_bounds(&"a".repeat(129)));
        // Characters, not bytes.
        assert!(session_id_in_bounds(&"é".repeat(128)));
    }

    #[test]
    fn status_round_trip() {
        for s in [Status::Pending, Status::Completed] {
            assert_eq!(status_from_db(status_to_db(s)).expect("status"), s);
        }
        assert!(matches!(status_from_db("x"), Err(StoreError::Corrupt(_))));
    }
}
