//! Exchange storage (SQLite or PostgreSQL). See the trait for the guarantees.

use std::future::Future;

use crate::model::{ExchangeRecord, Outcome};

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

    /// Every record change made through this store value from now on (inserts and
    /// completions), in revision order.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ExchangeRecord>;
}
