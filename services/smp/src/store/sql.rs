//! The SQL shared by both back ends, and the one implementation of [`SmpStore`] over it.
//!
//! SQLite accepts PostgreSQL's `$1` placeholders, `ON CONFLICT … DO NOTHING` and `RETURNING`, so
//! one set of statements serves both. The Rust around them differs only in types (`Sqlite` vs
//! `Postgres`), so it is written once as a macro rather than generically over `sqlx::Database`
//! (whose executor bounds do not carry `Send` through async code well). Only the way write
//! transactions begin differs:
//!
//! * SQLite writes begin with `BEGIN IMMEDIATE`, taking the write lock up front so concurrent
//!   writers (another process on the same file) wait (busy timeout) instead of failing on a lock
//!   upgrade.
//! * PostgreSQL writes lock the `smp_state` row first (the revision bump), which serialises
//!   writers across processes and makes revision order equal commit order.
//!
//! [`SmpStore`]: super::SmpStore

/// Every column of `exchanges`, in the order [`INSERT_EXCHANGE`] binds them.
macro_rules! columns {
    () => {
        "session_id, sis_reference, person, ncp_acronym, ncp_country, ncp_url, created_unix, \
         expires_unix, status, completed_unix, outcome, raw_response, elmo_xml, revision"
    };
}

pub(crate) const BUMP_REVISION: &str =
    "UPDATE smp_state SET revision = revision + 1 WHERE id = 1 RETURNING revision";

pub(crate) const SELECT_REVISION: &str = "SELECT revision FROM smp_state WHERE id = 1";

pub(crate) const INSERT_EXCHANGE: &str = concat!(
    "INSERT INTO exchanges (",
    columns!(),
    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
     ON CONFLICT (session_id) DO NOTHING RETURNING ",
    columns!()
);

/// `$1` session id, `$2` now, `$3` outcome JSON, `$4` raw response, `$5` XML, `$6` revision.
/// Touches the row only when it is pending and unexpired: the single-use guarantee.
pub(crate) const COMPLETE_EXCHANGE: &str = concat!(
    "UPDATE exchanges SET status = 'completed', completed_unix = $2, outcome = $3, \
     raw_response = $4, elmo_xml = $5, revision = $6 \
     WHERE session_id = $1 AND status = 'pending' AND expires_unix > $2 RETURNING ",
    columns!()
);

/// Why a completion did not happen.
pub(crate) const SELECT_STATUS: &str =
    "SELECT status, expires_unix FROM exchanges WHERE session_id = $1";

pub(crate) const SELECT_EXCHANGE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM exchanges WHERE session_id = $1"
);

/// `$1` limit.
pub(crate) const LIST_ALL: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM exchanges ORDER BY revision DESC LIMIT $1"
);
/// `$1` limit, `$2` SIS reference.
pub(crate) const LIST_BY_SIS: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM exchanges WHERE sis_reference = $2 ORDER BY revision DESC LIMIT $1"
);
/// `$1` limit, `$2` revision.
pub(crate) const LIST_AFTER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM exchanges WHERE revision > $2 ORDER BY revision DESC LIMIT $1"
);
/// `$1` limit, `$2` revision: oldest first (replay, the change feed's read-back).
pub(crate) const CHANGED_AFTER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM exchanges WHERE revision > $2 ORDER BY revision ASC LIMIT $1"
);
/// `$1` limit, `$2` SIS reference, `$3` revision.
pub(crate) const LIST_BY_SIS_AFTER: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM exchanges WHERE sis_reference = $2 AND revision > $3 ORDER BY revision DESC LIMIT $1"
);

/// Implements [`super::SmpStore`] for a struct with fields `pool: sqlx::Pool<$db>` and
/// `feed: ChangeFeed`, and defines `$replay`, the change feed's reader of committed records
/// (`emrex_store::Replay`).
///
/// `$write_begin`: `Option<&'static str>`, the statement that begins a write transaction
/// (`None` = the driver's plain `BEGIN`).
macro_rules! impl_sql_store {
    ($store:ty, $replay:ident, $db:ty, write_begin = $write_begin:expr) => {
        /// Reads committed records back for the change feed.
        #[derive(Debug)]
        pub(crate) struct $replay {
            pool: sqlx::Pool<$db>,
        }

        impl emrex_store::Replay for $replay {
            type Item = ExchangeRecord;

            async fn after(
                &self,
                revision: u64,
                limit: usize,
            ) -> Result<emrex_store::Replayed<ExchangeRecord>, String> {
                let revision = i64::try_from(revision).unwrap_or(i64::MAX);
                <$store>::changed_after_in(&self.pool, revision, limit)
                    .await
                    .map(emrex_store::Replayed::Items)
                    .map_err(|e| e.to_string())
            }
        }

        impl $store {
            async fn begin_write(&self) -> Result<sqlx::Transaction<'static, $db>, StoreError> {
                Ok(match $write_begin {
                    Some(stmt) => self.pool.begin_with(stmt).await?,
                    None => self.pool.begin().await?,
                })
            }

            /// The store's revision now (where the change feed starts).
            async fn current_revision(pool: &sqlx::Pool<$db>) -> Result<u64, StoreError> {
                let row = sqlx::query(sql::SELECT_REVISION).fetch_one(pool).await?;
                let revision: i64 = row.try_get("revision")?;
                u64::try_from(revision)
                    .map_err(|_| StoreError::Corrupt(format!("negative revision {revision}")))
            }

            /// Records changed after `revision`, oldest first.
            async fn changed_after_in(
                pool: &sqlx::Pool<$db>,
                revision: i64,
                limit: usize,
            ) -> Result<Vec<ExchangeRecord>, StoreError> {
                let rows = sqlx::query(sql::CHANGED_AFTER)
                    .bind(effective_limit(limit))
                    .bind(revision)
                    .fetch_all(pool)
                    .await?;
                rows.iter().map(Self::record_from_row).collect()
            }

            /// Takes the next revision (locking the state row until the transaction ends); on
            /// PostgreSQL also queues the notification other replicas' change feeds receive when
            /// (and only if) this transaction commits.
            async fn bump(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
            ) -> Result<i64, StoreError> {
                let row = sqlx::query(sql::BUMP_REVISION).fetch_one(&mut **tx).await?;
                let revision: i64 = row.try_get("revision")?;
                if let Some(channel) = self.feed.notify_channel() {
                    sqlx::query(emrex_store::NOTIFY_SQL)
                        .bind(channel.to_string())
                        .bind(revision.to_string())
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(revision)
            }

            fn record_from_row(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<ExchangeRecord, StoreError> {
                let outcome: Option<String> = row.try_get("outcome")?;
                Ok(ExchangeRecord {
                    session_id: row.try_get("session_id")?,
                    sis_reference: row.try_get("sis_reference")?,
                    person: from_json(&row.try_get::<String, _>("person")?, "person")?,
                    ncp_acronym: row.try_get("ncp_acronym")?,
                    ncp_country: row.try_get("ncp_country")?,
                    ncp_url: row.try_get("ncp_url")?,
                    created_unix: row.try_get("created_unix")?,
                    expires_unix: row.try_get("expires_unix")?,
                    status: status_from_db(&row.try_get::<String, _>("status")?)?,
                    completed_unix: row.try_get("completed_unix")?,
                    outcome: outcome
                        .as_deref()
                        .map(|o| from_json(o, "outcome"))
                        .transpose()?,
                    raw_response: row.try_get("raw_response")?,
                    elmo_xml: row.try_get("elmo_xml")?,
                    revision: row.try_get("revision")?,
                })
            }
        }

        impl SmpStore for $store {
            async fn insert(&self, record: ExchangeRecord) -> Result<ExchangeRecord, StoreError> {
                check_new_record(&record)?;
                let person = to_json(&record.person, "person")?;
                let _write = self.feed.write_lock().await;
                let mut tx = self.begin_write().await?;
                let revision = self.bump(&mut tx).await?;
                let row = sqlx::query(sql::INSERT_EXCHANGE)
                    .bind(record.session_id)
                    .bind(record.sis_reference)
                    .bind(person)
                    .bind(record.ncp_acronym)
                    .bind(record.ncp_country)
                    .bind(record.ncp_url)
                    .bind(record.created_unix)
                    .bind(record.expires_unix)
                    .bind(status_to_db(Status::Pending))
                    .bind(None::<i64>)
                    .bind(None::<String>)
                    .bind(None::<Vec<u8>>)
                    .bind(None::<Vec<u8>>)
                    .bind(revision)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    // ON CONFLICT DO NOTHING: the session id is taken. Undo the revision bump.
                    tx.rollback().await?;
                    return Err(StoreError::Duplicate);
                };
                let stored = Self::record_from_row(&row)?;
                tx.commit().await?;
                self.feed.committed(stored.clone());
                Ok(stored)
            }

            async fn complete(
                &self,
                session_id: &str,
                now_unix: i64,
                outcome: Outcome,
                raw_response: Vec<u8>,
                elmo_xml: Option<Vec<u8>>,
            ) -> Result<Completion, StoreError> {
                check_completion(&raw_response, elmo_xml.as_deref())?;
                if !session_id_in_bounds(session_id) {
                    // Could never have been stored.
                    return Ok(Completion::Unknown);
                }
                let outcome = to_json(&outcome, "outcome")?;
                let _write = self.feed.write_lock().await;
                let mut tx = self.begin_write().await?;
                let revision = self.bump(&mut tx).await?;
                let row = sqlx::query(sql::COMPLETE_EXCHANGE)
                    .bind(session_id.to_string())
                    .bind(now_unix)
                    .bind(outcome)
                    .bind(raw_response)
                    .bind(elmo_xml)
                    .bind(revision)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = row {
                    let stored = Self::record_from_row(&row)?;
                    tx.commit().await?;
                    self.feed.committed(stored.clone());
                    return Ok(Completion::Completed(Box::new(stored)));
                }
                // Nothing was pending and unexpired: say why, change nothing (the rollback also
                // returns the revision).
                let why = sqlx::query(sql::SELECT_STATUS)
                    .bind(session_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                tx.rollback().await?;
                let Some(why) = why else {
                    return Ok(Completion::Unknown);
                };
                let status = status_from_db(&why.try_get::<String, _>("status")?)?;
                let expires_unix: i64 = why.try_get("expires_unix")?;
                Ok(match status {
                    Status::Completed => Completion::AlreadyCompleted,
                    Status::Pending if expires_unix <= now_unix => Completion::Expired,
                    Status::Pending => {
                        return Err(StoreError::Database(format!(
                            "session {session_id:?} is pending and unexpired but was not \
                             completed"
                        )));
                    }
                })
            }

            async fn get(&self, session_id: &str) -> Result<Option<ExchangeRecord>, StoreError> {
                if !session_id_in_bounds(session_id) {
                    return Ok(None);
                }
                let row = sqlx::query(sql::SELECT_EXCHANGE)
                    .bind(session_id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::record_from_row).transpose()
            }

            async fn list(&self, filter: ListFilter) -> Result<Vec<ExchangeRecord>, StoreError> {
                let limit = effective_limit(filter.limit);
                let query = match (filter.sis_reference, filter.after_revision) {
                    (None, None) => sqlx::query(sql::LIST_ALL).bind(limit),
                    (Some(sis), None) => sqlx::query(sql::LIST_BY_SIS).bind(limit).bind(sis),
                    (None, Some(after)) => sqlx::query(sql::LIST_AFTER).bind(limit).bind(after),
                    (Some(sis), Some(after)) => sqlx::query(sql::LIST_BY_SIS_AFTER)
                        .bind(limit)
                        .bind(sis)
                        .bind(after),
                };
                let rows = query.fetch_all(&self.pool).await?;
                rows.iter().map(Self::record_from_row).collect()
            }

            async fn changed_after(
                &self,
                revision: i64,
                limit: usize,
            ) -> Result<Vec<ExchangeRecord>, StoreError> {
                Self::changed_after_in(&self.pool, revision, limit).await
            }

            fn subscribe(&self) -> tokio::sync::broadcast::Receiver<ExchangeRecord> {
                self.feed.subscribe()
            }
        }
    };
}

pub(crate) use impl_sql_store;
