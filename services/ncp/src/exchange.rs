//! Server-side exchange state: what a client handed over, who logged in, what they may send.
//!
//! An exchange is keyed on an unguessable id of our own (128 random bits), never on the client's
//! `sessionId`, and bound to the browser that started it by a second random secret kept in a
//! cookie (only its SHA-256 is stored). It expires after `ttl`; a finished exchange is remembered
//! until then so that a replayed form gets "already finished", not a second response.
//!
//! Exchanges live in the NCP's store (`emrex-store`: a SQLite file by default, PostgreSQL for
//! several replicas), so any replica serves any step, a restart or rolling update loses nothing,
//! and no session affinity is needed. Every change is a compare-and-set on the row's `version`:
//! of two racing requests (a double submit, two replicas) exactly one moves the exchange on.
//! [`ExchangeStore::sweep`], which the service runs periodically, empties expired rows (the
//! student's results and login state are dropped; the client's hand-over stays) and deletes
//! them [`KEEP_EXPIRED`] later: meanwhile a student who comes back to an expired exchange is
//! told it expired and offered the way back to the client that sent them, instead of "unknown".
//! Expiry uses the wall clock (milliseconds since the epoch), so replicas need synchronised
//! clocks (NTP) — a few seconds of skew only shift when an exchange expires.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use emrex_elmo::Elmo;
use emrex_store::{Database, DbError, Migrations, StoreConfig};
use serde::{Deserialize, Serialize};
use sqlx::Row as _;
use sqlx::migrate::Migrator;

use crate::entry::EntryRequest;
use crate::oidc::PendingLogin;
use crate::selection::Offers;
use crate::student::Student;

/// The service name: the default SQLite file (`ncp.db`) and PostgreSQL schema (`ncp`).
const SERVICE: &str = "ncp";

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");
static MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE_MIGRATIONS,
    postgres: &POSTGRES_MIGRATIONS,
};

/// How long an expired exchange's hand-over (its `returnUrl`, nothing about the student) is
/// kept, so the page can still offer the way back to the client.
pub const KEEP_EXPIRED: Duration = Duration::from_secs(24 * 60 * 60);

/// How often a change that lost a race is retried before giving up (each retry re-reads the
/// row, so the caller's `expected` check decides again on fresh data).
const CAS_ATTEMPTS: usize = 3;

/// Where an exchange is.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum Stage {
    /// Waiting for the student to log in (possibly at the identity provider).
    Login { pending: Option<PendingLogin> },
    /// Logged in, results loaded, choosing.
    Choosing {
        student: Student,
        results: Box<Elmo>,
        offers: Offers,
    },
    /// A response was sent (any return code). Kept only to refuse replays clearly.
    Finished,
}

/// One exchange.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub id: String,
    pub request: EntryRequest,
    /// SHA-256 of the browser secret (the cookie).
    browser_hash: [u8; 32],
    /// Hidden in every form of this exchange.
    pub csrf: String,
    /// Milliseconds since the Unix epoch.
    pub expires_ms: i64,
    pub stage: Stage,
}

impl Exchange {
    /// Whether `cookie` is this exchange's browser secret (constant time).
    pub fn browser_matches(&self, cookie: Option<&str>) -> bool {
        cookie.is_some_and(|c| {
            let h = sha256(c.as_bytes());
            aws_lc_rs::constant_time::verify_slices_are_equal(&h, &self.browser_hash).is_ok()
        })
    }

    /// Whether `token` is this exchange's CSRF token (constant time).
    pub fn csrf_matches(&self, token: &str) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(token.as_bytes(), self.csrf.as_bytes())
            .is_ok()
    }
}

/// Why an exchange cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("unknown exchange")]
    Unknown,
    /// It existed and expired; the client it came from is known (for the way back).
    #[error("the exchange has expired")]
    Expired(Box<EntryRequest>),
    #[error("the exchange is already finished")]
    Finished,
    #[error("too many exchanges in progress")]
    Full,
    /// The store did not answer (a database outage): the student can try again.
    #[error("the exchange store is unavailable")]
    Unavailable(#[source] StoreError),
}

impl PartialEq for ExchangeError {
    fn eq(&self, other: &Self) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

/// What went wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Opening the database.
    #[error(transparent)]
    Open(#[from] DbError),
    /// A query.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// A stored row that does not read back (a newer or foreign schema).
    #[error("stored exchange {id} is unreadable")]
    Corrupt {
        id: String,
        #[source]
        source: serde_json::Error,
    },
    /// A value that cannot be written as JSON.
    #[error("cannot store the exchange")]
    Encode(#[source] serde_json::Error),
}

impl From<StoreError> for ExchangeError {
    fn from(e: StoreError) -> Self {
        Self::Unavailable(e)
    }
}

impl From<sqlx::Error> for ExchangeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Unavailable(StoreError::Database(e))
    }
}

/// What one [`ExchangeStore::sweep`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Expired exchanges whose student data was dropped.
    pub emptied: u64,
    /// Exchanges deleted, [`KEEP_EXPIRED`] after they expired.
    pub deleted: u64,
}

/// A new exchange: its id and the secret for the browser's cookie.
#[derive(Debug, Clone)]
pub struct Created {
    pub id: String,
    pub browser_secret: String,
}

/// The exchanges, in the NCP's database.
#[derive(Debug)]
pub struct ExchangeStore {
    db: Database,
    ttl: Duration,
    max: usize,
}

/// Runs `$body` with `$pool` bound to whichever pool the store has: the same SQL serves SQLite
/// and PostgreSQL (`$1` placeholders, `BIGINT`/`INTEGER` and `BYTEA`/`BLOB` read alike).
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            Database::Sqlite($pool) => $body,
            Database::Postgres { pool: $pool, .. } => $body,
        }
    };
}
pub(crate) use on_pool;

const COUNT_LIVE: &str = "SELECT COUNT(*) AS n FROM ncp_exchanges WHERE expires_ms > $1";
const INSERT: &str = "INSERT INTO ncp_exchanges \
     (id, request, browser_hash, csrf, expires_ms, stage, version) \
     VALUES ($1, $2, $3, $4, $5, $6, 0)";
const SELECT: &str = "SELECT id, request, browser_hash, csrf, expires_ms, stage, version \
     FROM ncp_exchanges WHERE id = $1";
const UPDATE_STAGE: &str =
    "UPDATE ncp_exchanges SET stage = $1, version = version + 1 WHERE id = $2 AND version = $3";
const EMPTY_EXPIRED: &str = "UPDATE ncp_exchanges SET stage = $1, version = version + 1 WHERE expires_ms <= $2 AND stage <> $1";
const DELETE_EXPIRED: &str = "DELETE FROM ncp_exchanges WHERE expires_ms <= $1";

impl ExchangeStore {
    /// Opens the store `config` names (default `sqlite:ncp.db`; on PostgreSQL the schema `ncp`),
    /// keeping exchanges for `ttl`, at most `max` live at a time.
    pub async fn open(config: &StoreConfig, ttl: Duration, max: usize) -> Result<Self, StoreError> {
        let db = emrex_store::open(config, SERVICE, &MIGRATIONS).await?;
        Ok(Self { db, ttl, max })
    }

    /// A private in-memory store (tests, benchmarks).
    pub async fn in_memory(ttl: Duration, max: usize) -> Result<Self, StoreError> {
        Self::open(&StoreConfig::url("sqlite::memory:"), ttl, max).await
    }

    /// Starts an exchange for `request`.
    pub async fn create(&self, request: EntryRequest) -> Result<Created, ExchangeError> {
        let now = now_ms();
        if self.live_at(now).await? >= self.max {
            return Err(ExchangeError::Full);
        }
        let id = random_token(16);
        let browser_secret = random_token(32);
        let request_json = serde_json::to_string(&request).map_err(StoreError::Encode)?;
        let stage =
            serde_json::to_string(&Stage::Login { pending: None }).map_err(StoreError::Encode)?;
        let expires = now.saturating_add(i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX));
        let hash = sha256(browser_secret.as_bytes()).to_vec();
        on_pool!(&self.db, pool => {
            sqlx::query(INSERT)
                .bind(id.clone())
                .bind(request_json)
                .bind(hash)
                .bind(random_token(32))
                .bind(expires)
                .bind(stage)
                .execute(pool)
                .await?;
        });
        Ok(Created { id, browser_secret })
    }

    /// A live exchange (finished ones included; check [`Stage::Finished`]); an expired one is
    /// [`ExchangeError::Expired`].
    pub async fn get(&self, id: &str) -> Result<Exchange, ExchangeError> {
        Ok(self.load(id).await?.0)
    }

    /// The exchange and its row version.
    async fn load(&self, id: &str) -> Result<(Exchange, i64), ExchangeError> {
        let now = now_ms();
        let row = on_pool!(&self.db, pool => {
            let row = sqlx::query(SELECT)
                .bind(id.to_string())
                .fetch_optional(pool)
                .await?;
            match row {
                None => None,
                Some(row) => Some((
                    row.try_get::<String, _>("request")?,
                    row.try_get::<Vec<u8>, _>("browser_hash")?,
                    row.try_get::<String, _>("csrf")?,
                    row.try_get::<i64, _>("expires_ms")?,
                    row.try_get::<String, _>("stage")?,
                    row.try_get::<i64, _>("version")?,
                )),
            }
        });
        let Some((request, hash, csrf, expires_ms, stage, version)) = row else {
            return Err(ExchangeError::Unknown);
        };
        let corrupt = |source| StoreError::Corrupt {
            id: id.to_string(),
            source,
        };
        let request: EntryRequest = serde_json::from_str(&request).map_err(corrupt)?;
        if expires_ms <= now {
            return Err(ExchangeError::Expired(Box::new(request)));
        }
        let browser_hash: [u8; 32] = hash
            .try_into()
            .map_err(|_| corrupt(serde::de::Error::custom("browser hash is not 32 bytes")))?;
        Ok((
            Exchange {
                id: id.to_string(),
                request,
                browser_hash,
                csrf,
                expires_ms,
                stage: serde_json::from_str(&stage).map_err(corrupt)?,
            },
            version,
        ))
    }

    /// Moves a live, unfinished exchange to `stage`, if it is still at a stage `expected`
    /// accepts (so two racing requests — on one replica or two — cannot both finish it).
    pub async fn advance(
        &self,
        id: &str,
        expected: impl Fn(&Stage) -> bool,
        stage: Stage,
    ) -> Result<(), ExchangeError> {
        let json = serde_json::to_string(&stage).map_err(StoreError::Encode)?;
        for _ in 0..CAS_ATTEMPTS {
            let (current, version) = self.load(id).await?;
            if matches!(current.stage, Stage::Finished) {
                return Err(ExchangeError::Finished);
            }
            if !expected(&current.stage) {
                return Err(ExchangeError::Unknown);
            }
            let done = on_pool!(&self.db, pool => {
                sqlx::query(UPDATE_STAGE)
                    .bind(json.clone())
                    .bind(id.to_string())
                    .bind(version)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
            if done == 1 {
                return Ok(());
            }
            // Someone else changed it in between: look again.
        }
        Err(ExchangeError::Unknown)
    }

    /// Number of live exchanges (for metrics and the capacity check).
    pub async fn live(&self) -> Result<usize, ExchangeError> {
        self.live_at(now_ms()).await
    }

    async fn live_at(&self, now: i64) -> Result<usize, ExchangeError> {
        let n: i64 = on_pool!(&self.db, pool => {
            sqlx::query(COUNT_LIVE)
                .bind(now)
                .fetch_one(pool)
                .await?
                .try_get("n")?
        });
        Ok(usize::try_from(n).unwrap_or(0))
    }

    /// Empties exchanges that expired (their student data goes; the hand-over stays for
    /// [`KEEP_EXPIRED`]) and deletes those that expired longer ago.
    pub async fn sweep(&self) -> Result<Swept, ExchangeError> {
        let now = now_ms();
        let keep = i64::try_from(KEEP_EXPIRED.as_millis()).unwrap_or(i64::MAX);
        let finished = serde_json::to_string(&Stage::Finished).map_err(StoreError::Encode)?;
        Ok(on_pool!(&self.db, pool => {
            let emptied = sqlx::query(EMPTY_EXPIRED)
                .bind(finished)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
            let deleted = sqlx::query(DELETE_EXPIRED)
                .bind(now.saturating_sub(keep))
                .execute(pool)
                .await?
                .rows_affected();
            Swept { emptied, deleted }
        }))
    }

    /// Whether the database answers (readiness).
    pub async fn healthy(&self) -> bool {
        self.live().await.is_ok()
    }

    /// The database itself, for the other tables of the NCP's schema (the wallet offers).
    pub fn database(&self) -> Database {
        self.db.clone()
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.db.close().await;
    }
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    // aws-lc-rs's system RNG does not fail on supported platforms; if it ever did, a zeroed
    // token would be guessable, so refuse to continue.
    #[allow(clippy::expect_used)]
    aws_lc_rs::rand::fill(&mut bytes).expect("system random number generator");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{EntryRequest, ReturnUrlPolicy};

    fn request() -> EntryRequest {
        EntryRequest::from_params(
            [("sessionId", "s1"), ("returnUrl", "https://smp.example/r")],
            &ReturnUrlPolicy::default(),
            false,
        )
        .expect("valid")
    }

    async fn store(ttl: Duration, max: usize) -> ExchangeStore {
        ExchangeStore::in_memory(ttl, max).await.expect("store")
    }

    #[tokio::test]
    async fn ids_are_random_and_browser_binding_holds() {
        let store = store(Duration::from_secs(60), 10).await;
        let a = store.create(request()).await.expect("a");
        let b = store.create(request()).await.expect("b");
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.len(), 22);
        let ea = store.get(&a.id).await.expect("get");
        assert_eq!(ea.request, request());
        assert!(ea.browser_matches(Some(&a.browser_secret)));
        assert!(!ea.browser_matches(Some(&b.browser_secret)));
        assert!(!ea.browser_matches(None));
        assert!(ea.csrf_matches(&ea.csrf.clone()));
        assert!(!ea.csrf_matches("forged"));
        assert_eq!(store.get("nope").await.err(), Some(ExchangeError::Unknown));
    }

    #[tokio::test]
    async fn finishing_is_final_and_racing_finishers_lose() {
        let store = store(Duration::from_secs(60), 10).await;
        let a = store.create(request()).await.expect("a");
        let login = |s: &Stage| matches!(s, Stage::Login { .. });
        store
            .advance(&a.id, login, Stage::Finished)
            .await
            .expect("finish");
        assert_eq!(
            store.advance(&a.id, |_| true, Stage::Finished).await,
            Err(ExchangeError::Finished)
        );
        assert!(matches!(
            store.get(&a.id).await.expect("kept").stage,
            Stage::Finished
        ));
        // Of many concurrent finishers, exactly one wins.
        let b = store.create(request()).await.expect("b");
        let store = std::sync::Arc::new(store);
        let tries = (0..8).map(|_| {
            let (store, id) = (store.clone(), b.id.clone());
            tokio::spawn(async move { store.advance(&id, |_| true, Stage::Finished).await })
        });
        let mut won = 0;
        for t in tries {
            if t.await.expect("task").is_ok() {
                won += 1;
            }
        }
        assert_eq!(won, 1);
    }

    #[tokio::test]
    async fn the_stage_round_trips_with_the_login_state() {
        let store = store(Duration::from_secs(60), 10).await;
        let a = store.create(request()).await.expect("a");
        let pending = PendingLogin {
            state: "st".into(),
            nonce: "no".into(),
            pkce_verifier: "pk".into(),
        };
        store
            .advance(
                &a.id,
                |s| matches!(s, Stage::Login { pending: None }),
                Stage::Login {
                    pending: Some(pending),
                },
            )
            .await
            .expect("login started");
        match store.get(&a.id).await.expect("get").stage {
            Stage::Login { pending: Some(p) } => {
                assert_eq!(
                    (p.state, p.nonce, p.pkce_verifier),
                    ("st".into(), "no".into(), "pk".into())
                );
            }
            other => panic!("{other:?}"),
        }
        // A stage the caller does not expect is refused and changes nothing.
        assert_eq!(
            store
                .advance(
                    &a.id,
                    |s| matches!(s, Stage::Choosing { .. }),
                    Stage::Finished
                )
                .await,
            Err(ExchangeError::Unknown)
        );
    }

    #[tokio::test]
    async fn expiry_capacity_and_sweeping() {
        let store = store(Duration::from_millis(500), 2).await;
        let a = store.create(request()).await.expect("a");
        store.create(request()).await.expect("b");
        assert_eq!(
            store.create(request()).await.err(),
            Some(ExchangeError::Full)
        );
        tokio::time::sleep(Duration::from_millis(600)).await;
        // Expired, not unknown: the client it came from is still known.
        match store.get(&a.id).await {
            Err(ExchangeError::Expired(r)) => assert_eq!(*r, request()),
            other => panic!("{other:?}"),
        }
        // Expired ones no longer count against the capacity…
        store.create(request()).await.expect("room again");
        assert_eq!(store.live().await.expect("live"), 1);
        // …and the sweep empties them (and deletes them a day later).
        assert_eq!(
            store.sweep().await.expect("sweep"),
            Swept {
                emptied: 2,
                deleted: 0
            }
        );
        assert_eq!(store.sweep().await.expect("sweep").emptied, 0);
        assert!(matches!(
            store.get(&a.id).await,
            Err(ExchangeError::Expired(_))
        ));
        assert_eq!(store.get("never").await.err(), Some(ExchangeError::Unknown));
    }

    #[tokio::test]
    async fn an_expired_exchange_loses_the_students_data_and_is_deleted_a_day_later() {
        let store = store(Duration::from_millis(1), 10).await;
        let a = store.create(request()).await.expect("a");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(store.sweep().await.expect("sweep").emptied, 1);
        let stage: String = on_pool!(&store.db, pool => {
            sqlx::query("SELECT stage FROM ncp_exchanges WHERE id = $1")
                .bind(a.id.clone())
                .fetch_one(pool)
                .await
                .expect("row")
                .try_get("stage")
                .expect("stage")
        });
        assert_eq!(stage, r#"{"stage":"finished"}"#);
        // A day on, it is gone.
        let day = i64::try_from(KEEP_EXPIRED.as_millis()).expect("ms") + 1000;
        on_pool!(&store.db, pool => {
            sqlx::query("UPDATE ncp_exchanges SET expires_ms = expires_ms - $1")
                .bind(day)
                .execute(pool)
                .await
                .expect("age the row");
        });
        assert_eq!(store.sweep().await.expect("sweep").deleted, 1);
        assert_eq!(store.get(&a.id).await.err(), Some(ExchangeError::Unknown));
    }
}
