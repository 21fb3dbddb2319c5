//! The SQL shared by both back ends, and the one implementation of [`RegistryStore`] over it.
//!
//! SQLite accepts PostgreSQL's `$1` placeholders, `ON CONFLICT … DO UPDATE` and `RETURNING`, so
//! one set of statements serves both. The Rust around them differs only in types (`Sqlite` vs
//! `Postgres`), so it is written once as a macro rather than generically over
//! `sqlx::Database` (whose executor bounds do not carry `Send` through async code well).
//! Only the way transactions begin differs, and each back end passes its own statements:
//!
//! * SQLite writes begin with `BEGIN IMMEDIATE`, taking the write lock up front so concurrent
//!   writers wait (busy timeout) instead of failing on a lock upgrade.
//! * PostgreSQL reads run `REPEATABLE READ READ ONLY`, so a snapshot's entries, countries and
//!   revision come from one point in time; writes lock the `registry_state` row first, which
//!   serialises writers across processes.
//!
//! [`RegistryStore`]: super::RegistryStore

pub(crate) const BUMP_REVISION: &str = "UPDATE registry_state SET revision = revision + 1, \
     updated_unix = $1 WHERE id = 1 RETURNING revision, generation";
pub(crate) const SELECT_STATE: &str =
    "SELECT revision, generation, updated_unix FROM registry_state WHERE id = 1";
pub(crate) const SET_GENERATION: &str = "UPDATE registry_state SET generation = $1 WHERE id = 1";

pub(crate) const SELECT_ENTRY: &str = "SELECT acronym, country_code, url, institutions, \
     certificates, legacy_algorithms, metadata, credential_issuer, revision, updated_unix FROM entries \
     WHERE acronym = $1";
pub(crate) const SELECT_ENTRIES: &str = "SELECT acronym, country_code, url, institutions, \
     certificates, legacy_algorithms, metadata, credential_issuer, revision, updated_unix FROM entries";
pub(crate) const SELECT_ENTRIES_OF_COUNTRY: &str = "SELECT acronym, country_code, url, \
     institutions, certificates, legacy_algorithms, metadata, credential_issuer, revision, \
     updated_unix FROM entries WHERE country_code = $1";
pub(crate) const UPSERT_ENTRY: &str = "INSERT INTO entries (acronym, country_code, url, \
     institutions, certificates, legacy_algorithms, metadata, revision, updated_unix, \
     credential_issuer) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
     ON CONFLICT (acronym) DO UPDATE SET country_code = excluded.country_code, \
     url = excluded.url, institutions = excluded.institutions, \
     certificates = excluded.certificates, legacy_algorithms = excluded.legacy_algorithms, \
     metadata = excluded.metadata, revision = excluded.revision, \
     updated_unix = excluded.updated_unix, credential_issuer = excluded.credential_issuer";
pub(crate) const DELETE_ENTRY: &str = "DELETE FROM entries WHERE acronym = $1";
pub(crate) const DELETE_ALL_ENTRIES: &str = "DELETE FROM entries";

pub(crate) const SELECT_COUNTRY: &str =
    "SELECT country_code, country_name, single_fetch FROM countries WHERE country_code = $1";
pub(crate) const SELECT_COUNTRIES: &str =
    "SELECT country_code, country_name, single_fetch FROM countries";
pub(crate) const UPSERT_COUNTRY: &str = "INSERT INTO countries (country_code, country_name, \
     single_fetch, revision, updated_unix) VALUES ($1, $2, $3, $4, $5) \
     ON CONFLICT (country_code) DO UPDATE SET country_name = excluded.country_name, \
     single_fetch = excluded.single_fetch, revision = excluded.revision, \
     updated_unix = excluded.updated_unix";
pub(crate) const DELETE_ALL_COUNTRIES: &str = "DELETE FROM countries";

pub(crate) const INSERT_CHANGE: &str =
    "INSERT INTO changes (revision, kind, payload, created_unix) VALUES ($1, $2, $3, $4)";
pub(crate) const PRUNE_CHANGES: &str = "DELETE FROM changes WHERE revision <= $1";
pub(crate) const OLDEST_CHANGE: &str = "SELECT MIN(revision) FROM changes";
pub(crate) const CHANGES_AFTER: &str =
    "SELECT revision, payload FROM changes WHERE revision > $1 ORDER BY revision";

/// Implements [`super::RegistryStore`] for a struct with fields `pool: sqlx::Pool<$db>`,
/// `feed: ChangeFeed` and `opts: ValidationOptions`, and defines `$replay`, the change feed's
/// reader of committed changes (`emrex_store::Replay`) over the same SQL.
///
/// `$write_begin` / `$read_begin`: `Option<&'static str>` statements that begin write and read
/// transactions (`None` = the driver's plain `BEGIN`).
macro_rules! impl_sql_store {
    ($store:ty, $replay:ident, $db:ty, write_begin = $write_begin:expr, read_begin = $read_begin:expr) => {
        /// Reads committed changes back for the change feed.
        #[derive(Debug)]
        pub(crate) struct $replay {
            pool: sqlx::Pool<$db>,
        }

        impl emrex_store::Replay for $replay {
            type Item = Change;

            async fn after(
                &self,
                revision: u64,
                _limit: usize,
            ) -> Result<emrex_store::Replayed<Change>, String> {
                // The change log holds at most CHANGE_LOG_RETENTION rows: read them all.
                match <$store>::changes_since_in(&self.pool, revision).await {
                    Ok(changes) => Ok(emrex_store::Replayed::Items(changes)),
                    Err(StoreError::Gap(gap)) => Ok(emrex_store::Replayed::Pruned {
                        current: gap.current,
                    }),
                    Err(e) => Err(e.to_string()),
                }
            }
        }

        impl $store {
            async fn begin_write(&self) -> Result<sqlx::Transaction<'static, $db>, StoreError> {
                Ok(match $write_begin {
                    Some(stmt) => self.pool.begin_with(stmt).await?,
                    None => self.pool.begin().await?,
                })
            }

            async fn begin_read_in(
                pool: &sqlx::Pool<$db>,
            ) -> Result<sqlx::Transaction<'static, $db>, StoreError> {
                Ok(match $read_begin {
                    Some(stmt) => pool.begin_with(stmt).await?,
                    None => pool.begin().await?,
                })
            }

            async fn begin_read(&self) -> Result<sqlx::Transaction<'static, $db>, StoreError> {
                Self::begin_read_in(&self.pool).await
            }

            /// The registry's revision now (where the change feed starts).
            async fn current_revision(pool: &sqlx::Pool<$db>) -> Result<u64, StoreError> {
                let state = sqlx::query(sql::SELECT_STATE).fetch_one(pool).await?;
                from_db_int(state.try_get("revision")?, "revision")
            }

            /// Takes the next revision (locking the state row) and returns it with the current
            /// generation; on PostgreSQL also queues the notification other replicas' change
            /// feeds receive when (and only if) this transaction commits.
            async fn bump(
                &self,
                tx: &mut sqlx::Transaction<'static, $db>,
                now: i64,
            ) -> Result<(u64, u64), StoreError> {
                let row = sqlx::query(sql::BUMP_REVISION)
                    .bind(now)
                    .fetch_one(&mut **tx)
                    .await?;
                let revision = from_db_int(row.try_get("revision")?, "revision")?;
                if let Some(channel) = self.feed.notify_channel() {
                    sqlx::query(emrex_store::NOTIFY_SQL)
                        .bind(channel.to_string())
                        .bind(revision.to_string())
                        .execute(&mut **tx)
                        .await?;
                }
                Ok((
                    revision,
                    from_db_int(row.try_get("generation")?, "generation")?,
                ))
            }

            /// Appends the change to the log and drops what is past retention.
            async fn log_change(
                tx: &mut sqlx::Transaction<'static, $db>,
                change: &Change,
                now: i64,
            ) -> Result<(), StoreError> {
                let revision = to_db_int(change.revision, "revision")?;
                sqlx::query(sql::INSERT_CHANGE)
                    .bind(revision)
                    .bind(change_label(&change.kind))
                    .bind(to_json(&change.kind)?)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                let keep_after = revision.saturating_sub(CHANGE_LOG_RETENTION as i64);
                if keep_after > 0 {
                    sqlx::query(sql::PRUNE_CHANGES)
                        .bind(keep_after)
                        .execute(&mut **tx)
                        .await?;
                }
                Ok(())
            }

            async fn write_entry(
                tx: &mut sqlx::Transaction<'static, $db>,
                e: &Entry,
            ) -> Result<(), StoreError> {
                sqlx::query(sql::UPSERT_ENTRY)
                    .bind(e.acronym.clone())
                    .bind(e.country_code.clone())
                    .bind(e.url.clone())
                    .bind(to_json(&e.institutions)?)
                    .bind(to_json(&e.certificates)?)
                    .bind(e.legacy_algorithms)
                    .bind(to_json(&e.metadata)?)
                    .bind(to_db_int(e.revision, "revision")?)
                    .bind(e.updated_unix)
                    .bind(e.credential_issuer.clone())
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            async fn write_country(
                tx: &mut sqlx::Transaction<'static, $db>,
                c: &Country,
                revision: u64,
                now: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(sql::UPSERT_COUNTRY)
                    .bind(c.code.clone())
                    .bind(c.name.clone())
                    .bind(c.single_fetch)
                    .bind(to_db_int(revision, "revision")?)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
                Ok(())
            }

            fn entry_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Entry, StoreError> {
                Ok(Entry {
                    acronym: row.try_get("acronym")?,
                    country_code: row.try_get("country_code")?,
                    url: row.try_get("url")?,
                    institutions: from_json(
                        &row.try_get::<String, _>("institutions")?,
                        "institutions",
                    )?,
                    certificates: from_json(
                        &row.try_get::<String, _>("certificates")?,
                        "certificates",
                    )?,
                    legacy_algorithms: row.try_get("legacy_algorithms")?,
                    metadata: from_json(&row.try_get::<String, _>("metadata")?, "metadata")?,
                    credential_issuer: row.try_get("credential_issuer")?,
                    revision: from_db_int(row.try_get("revision")?, "revision")?,
                    updated_unix: row.try_get("updated_unix")?,
                })
            }

            fn country_from_row(row: &<$db as sqlx::Database>::Row) -> Result<Country, StoreError> {
                Ok(Country {
                    code: row.try_get("country_code")?,
                    name: row.try_get("country_name")?,
                    single_fetch: row.try_get("single_fetch")?,
                })
            }
        }

        impl RegistryStore for $store {
            async fn list(&self, country: Option<&str>) -> Result<Snapshot, StoreError> {
                let mut tx = self.begin_read().await?;
                let state = sqlx::query(sql::SELECT_STATE).fetch_one(&mut *tx).await?;
                let entry_rows = match country {
                    Some(code) => {
                        sqlx::query(sql::SELECT_ENTRIES_OF_COUNTRY)
                            .bind(code.to_string())
                            .fetch_all(&mut *tx)
                            .await?
                    }
                    None => sqlx::query(sql::SELECT_ENTRIES).fetch_all(&mut *tx).await?,
                };
                let country_rows = sqlx::query(sql::SELECT_COUNTRIES)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                let mut entries = entry_rows
                    .iter()
                    .map(Self::entry_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                let mut countries = country_rows
                    .iter()
                    .map(Self::country_from_row)
                    .collect::<Result<Vec<_>, _>>()?;
                if let Some(code) = country {
                    countries.retain(|c| c.code == code);
                }
                // Sorted here, byte-wise, so both back ends agree whatever the collation.
                entries.sort_by(|a, b| {
                    (&a.country_code, &a.acronym).cmp(&(&b.country_code, &b.acronym))
                });
                countries.sort_by(|a, b| a.code.cmp(&b.code));
                Ok(Snapshot {
                    entries,
                    countries,
                    revision: from_db_int(state.try_get("revision")?, "revision")?,
                    generation: from_db_int(state.try_get("generation")?, "generation")?,
                    updated_unix: state.try_get("updated_unix")?,
                })
            }

            async fn get(&self, acronym: &str) -> Result<Option<Entry>, StoreError> {
                let row = sqlx::query(sql::SELECT_ENTRY)
                    .bind(acronym.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(Self::entry_from_row).transpose()
            }

            async fn upsert(&self, entry: Entry) -> Result<Entry, StoreError> {
                let entry = validate_entry(entry, &self.opts)?;
                let _write = self.feed.write_lock().await;
                let now = now_unix();
                let mut tx = self.begin_write().await?;
                let (revision, _) = self.bump(&mut tx, now).await?;
                let existing = sqlx::query(sql::SELECT_ENTRY)
                    .bind(entry.acronym.clone())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = existing {
                    let stored = Self::entry_from_row(&row)?;
                    if stored.same_content(&entry) {
                        tx.rollback().await?;
                        return Ok(stored);
                    }
                }
                let entry = Entry {
                    revision,
                    updated_unix: now,
                    ..entry
                };
                Self::write_entry(&mut tx, &entry).await?;
                let change = Change {
                    revision,
                    kind: ChangeKind::Upserted(entry.clone()),
                };
                Self::log_change(&mut tx, &change, now).await?;
                tx.commit().await?;
                self.feed.committed(change);
                Ok(entry)
            }

            async fn delete(&self, acronym: &str) -> Result<u64, StoreError> {
                let _write = self.feed.write_lock().await;
                let now = now_unix();
                let mut tx = self.begin_write().await?;
                let (revision, _) = self.bump(&mut tx, now).await?;
                let done = sqlx::query(sql::DELETE_ENTRY)
                    .bind(acronym.to_string())
                    .execute(&mut *tx)
                    .await?;
                if done.rows_affected() == 0 {
                    tx.rollback().await?;
                    return Err(StoreError::NotFound(acronym.to_string()));
                }
                let change = Change {
                    revision,
                    kind: ChangeKind::Deleted(acronym.to_string()),
                };
                Self::log_change(&mut tx, &change, now).await?;
                tx.commit().await?;
                self.feed.committed(change);
                Ok(revision)
            }

            async fn set_country(&self, country: Country) -> Result<u64, StoreError> {
                let country = validate_country(country)?;
                let _write = self.feed.write_lock().await;
                let now = now_unix();
                let mut tx = self.begin_write().await?;
                let (revision, _) = self.bump(&mut tx, now).await?;
                let existing = sqlx::query(sql::SELECT_COUNTRY)
                    .bind(country.code.clone())
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = existing {
                    if Self::country_from_row(&row)? == country {
                        tx.rollback().await?;
                        return Ok(revision - 1);
                    }
                }
                Self::write_country(&mut tx, &country, revision, now).await?;
                let change = Change {
                    revision,
                    kind: ChangeKind::Country(country),
                };
                Self::log_change(&mut tx, &change, now).await?;
                tx.commit().await?;
                self.feed.committed(change);
                Ok(revision)
            }

            async fn replace_all(
                &self,
                entries: Vec<Entry>,
                countries: Vec<Country>,
                expected_generation: u64,
                new_generation: u64,
            ) -> Result<ReplaceOutcome, StoreError> {
                let (entries, countries) =
                    prepare_replace(entries, countries, new_generation, &self.opts)?;
                let _write = self.feed.write_lock().await;
                let now = now_unix();
                let mut tx = self.begin_write().await?;
                let (revision, current_generation) = self.bump(&mut tx, now).await?;
                if let Err(e) =
                    check_generation(current_generation, expected_generation, new_generation)
                {
                    tx.rollback().await?;
                    return Err(e);
                }
                sqlx::query(sql::DELETE_ALL_ENTRIES)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(sql::DELETE_ALL_COUNTRIES)
                    .execute(&mut *tx)
                    .await?;
                for entry in entries {
                    let entry = Entry {
                        revision,
                        updated_unix: now,
                        ..entry
                    };
                    Self::write_entry(&mut tx, &entry).await?;
                }
                for country in &countries {
                    Self::write_country(&mut tx, country, revision, now).await?;
                }
                sqlx::query(sql::SET_GENERATION)
                    .bind(to_db_int(new_generation, "generation")?)
                    .execute(&mut *tx)
                    .await?;
                let change = Change {
                    revision,
                    kind: ChangeKind::Replaced {
                        generation: new_generation,
                    },
                };
                Self::log_change(&mut tx, &change, now).await?;
                // Any error above dropped `tx` without committing: SQL rolls it all back.
                tx.commit().await?;
                self.feed.committed(change);
                Ok(ReplaceOutcome {
                    revision,
                    generation: new_generation,
                })
            }

            async fn changes_since(&self, revision: u64) -> Result<Vec<Change>, StoreError> {
                Self::changes_since_in(&self.pool, revision).await
            }

            fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Change> {
                self.feed.subscribe()
            }
        }

        impl $store {
            async fn changes_since_in(
                pool: &sqlx::Pool<$db>,
                revision: u64,
            ) -> Result<Vec<Change>, StoreError> {
                let mut tx = Self::begin_read_in(pool).await?;
                let state = sqlx::query(sql::SELECT_STATE).fetch_one(&mut *tx).await?;
                let current = from_db_int(state.try_get("revision")?, "revision")?;
                let oldest: Option<i64> = sqlx::query(sql::OLDEST_CHANGE)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
                let oldest = oldest.map(|o| from_db_int(o, "revision")).transpose()?;
                check_replayable(revision, current, oldest)?;
                let after = to_db_int(revision, "revision")?;
                let rows = sqlx::query(sql::CHANGES_AFTER)
                    .bind(after)
                    .fetch_all(&mut *tx)
                    .await?;
                tx.commit().await?;
                rows.iter()
                    .map(|row| {
                        Ok(Change {
                            revision: from_db_int(row.try_get("revision")?, "revision")?,
                            kind: from_json(&row.try_get::<String, _>("payload")?, "change")?,
                        })
                    })
                    .collect()
            }
        }
    };
}

pub(crate) use impl_sql_store;
