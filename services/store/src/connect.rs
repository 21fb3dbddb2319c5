//! Opening a service's database: pool settings, the PostgreSQL schema, the TLS rule, and the
//! service's embedded migrations.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Connection as _, PgPool, SqlitePool};

use crate::config::{StoreConfig, check_schema_name, redact_url};

/// SQLite connections: one writer at a time anyway, a few concurrent readers.
const SQLITE_CONNECTIONS: u32 = 4;

/// How long a writer waits for another (a second process on the same SQLite file, or the
/// row lock that orders PostgreSQL writers) before failing.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The URL is neither `sqlite:` nor `postgres://`.
    #[error("unsupported store URL with scheme {0:?} (sqlite:PATH or postgres://…)")]
    Scheme(String),
    /// The URL does not parse.
    #[error("invalid store URL {url}")]
    Url {
        /// The URL without its password.
        url: String,
        /// What is wrong with it.
        #[source]
        source: sqlx::Error,
    },
    /// `store.schema` is not a safe name.
    #[error("store.schema {0:?} must match [a-z_][a-z0-9_]{{0,62}}")]
    Schema(String),
    /// A remote PostgreSQL without verified TLS (see [`StoreConfig::require_verified_tls`]).
    #[error(
        "PostgreSQL host {host:?} is not on this machine and the URL does not ask for verified TLS: \
         add sslmode=verify-full&sslrootcert=/path/to/ca.crt, or set store.require_verified_tls = \
         false on a network you trust"
    )]
    UnverifiedTls {
        /// The host named in the URL.
        host: String,
    },
    /// Connecting (or creating the schema) failed.
    #[error("connecting to {url}")]
    Connect {
        /// The URL without its password.
        url: String,
        /// The driver's error.
        #[source]
        source: sqlx::Error,
    },
    /// The embedded migrations could not be applied.
    #[error("applying the database migrations")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// A service's embedded migrations, one set per database kind (their SQL differs a little).
/// Build them with `sqlx::migrate!("./migrations/sqlite")` and `…/postgres`.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// For SQLite.
    pub sqlite: &'static Migrator,
    /// For PostgreSQL.
    pub postgres: &'static Migrator,
}

/// An open database with the service's tables in place.
#[derive(Debug, Clone)]
pub enum Database {
    /// A SQLite file (or an in-memory database for tests).
    Sqlite(SqlitePool),
    /// PostgreSQL, with every table in `schema`.
    Postgres {
        /// The pool; every connection has `search_path` set to `schema`.
        pool: PgPool,
        /// Where the service's tables are.
        schema: String,
    },
}

impl Database {
    /// The `LISTEN/NOTIFY` channel of this service's changes (PostgreSQL only): one per schema,
    /// so federations sharing a database do not wake each other.
    pub fn notify_channel(&self) -> Option<String> {
        match self {
            Self::Sqlite(_) => None,
            Self::Postgres { schema, .. } => Some(format!("{schema}_changes")),
        }
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres { pool, .. } => pool.close().await,
        }
    }
}

/// Opens `config`'s database for `service` (which names the defaults: `sqlite:<service>.db`,
/// schema `<service>`) and applies `migrations`.
pub async fn open(
    config: &StoreConfig,
    service: &'static str,
    migrations: &Migrations,
) -> Result<Database, DbError> {
    let url = if config.url.is_empty() {
        format!("sqlite:{service}.db")
    } else {
        config.url.clone()
    };
    if url == "sqlite::memory:" {
        // Tests and throw-away development runs: one private in-memory database.
        return Ok(Database::Sqlite(open_sqlite_memory(migrations).await?));
    }
    if url.starts_with("sqlite:") {
        let connect = SqliteConnectOptions::from_str(&url).map_err(|source| DbError::Url {
            url: redact_url(&url),
            source,
        })?;
        let pool = open_sqlite_file(connect, &url).await?;
        migrations
            .sqlite
            .run(&pool)
            .await
            .map_err(DbError::Migrate)?;
        tracing::info!(service, url = %url, "SQLite store ready");
        return Ok(Database::Sqlite(pool));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let schema = if config.schema.is_empty() {
            service
        } else {
            config.schema.as_str()
        };
        let connect = PgConnectOptions::from_str(&url).map_err(|source| DbError::Url {
            url: redact_url(&url),
            source,
        })?;
        check_tls(&connect, config.require_verified_tls)?;
        let pool = open_postgres(connect, schema, config.max_connections, &url).await?;
        migrations
            .postgres
            .run(&pool)
            .await
            .map_err(DbError::Migrate)?;
        tracing::info!(service, url = %redact_url(&url), schema, "PostgreSQL store ready");
        return Ok(Database::Postgres {
            pool,
            schema: schema.to_string(),
        });
    }
    // Only the scheme: the rest of a URL may hold a password.
    let scheme = url.split_once(':').map_or("(no scheme)", |(s, _)| s);
    Err(DbError::Scheme(scheme.to_string()))
}

/// A private, empty in-memory SQLite database with `migrations` applied (tests): gone when the
/// pool is dropped.
pub async fn open_sqlite_memory(migrations: &Migrations) -> Result<SqlitePool, DbError> {
    let url = "sqlite::memory:";
    let connect = SqliteConnectOptions::from_str(url).map_err(|source| DbError::Url {
        url: url.into(),
        source,
    })?;
    // One connection, kept open for the pool's lifetime: an in-memory database lives only as
    // long as a connection to it, and a single connection never meets SQLite's shared-cache
    // table locks.
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(connect)
        .await
        .map_err(|source| DbError::Connect {
            url: url.into(),
            source,
        })?;
    migrations
        .sqlite
        .run(&pool)
        .await
        .map_err(DbError::Migrate)?;
    Ok(pool)
}

/// PostgreSQL at `url` with every table in `schema` (tests give each test its own schema).
/// The TLS rule applies as with [`open`].
pub async fn open_postgres_in_schema(
    url: &str,
    schema: &str,
    migrations: &Migrations,
) -> Result<Database, DbError> {
    let config = StoreConfig {
        url: url.to_string(),
        schema: schema.to_string(),
        ..StoreConfig::default()
    };
    let connect = PgConnectOptions::from_str(url).map_err(|source| DbError::Url {
        url: redact_url(url),
        source,
    })?;
    check_tls(&connect, config.require_verified_tls)?;
    let pool = open_postgres(connect, schema, config.max_connections, url).await?;
    migrations
        .postgres
        .run(&pool)
        .await
        .map_err(DbError::Migrate)?;
    Ok(Database::Postgres {
        pool,
        schema: schema.to_string(),
    })
}

/// WAL (readers never block the writer; a read transaction sees one snapshot), `synchronous =
/// FULL` (a committed exchange or registry change must survive a power cut), a busy timeout for
/// the rare second process, foreign keys on.
async fn open_sqlite_file(connect: SqliteConnectOptions, url: &str) -> Result<SqlitePool, DbError> {
    let connect = connect
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(LOCK_WAIT)
        .foreign_keys(true);
    SqlitePoolOptions::new()
        .max_connections(SQLITE_CONNECTIONS)
        .connect_with(connect)
        .await
        .map_err(|source| DbError::Connect {
            url: url.to_string(),
            source,
        })
}

async fn open_postgres(
    connect: PgConnectOptions,
    schema: &str,
    max_connections: u32,
    url: &str,
) -> Result<PgPool, DbError> {
    if !check_schema_name(schema) {
        return Err(DbError::Schema(schema.to_string()));
    }
    let connect_error = |source| DbError::Connect {
        url: redact_url(url),
        source,
    };
    let mut conn = connect.connect().await.map_err(connect_error)?;
    // The name was checked above: it is safe to splice (DDL takes no bind parameters).
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}"
    )))
    .execute(&mut conn)
    .await
    .map_err(connect_error)?;
    conn.close().await.map_err(connect_error)?;
    PgPoolOptions::new()
        .max_connections(max_connections.max(2))
        .acquire_timeout(LOCK_WAIT)
        .connect_with(connect.options([("search_path", schema)]))
        .await
        .map_err(connect_error)
}

/// The TLS rule: loopback and Unix sockets are fine; another host needs `sslmode=verify-ca` or
/// `verify-full` unless the operator said otherwise.
fn check_tls(connect: &PgConnectOptions, require_verified_tls: bool) -> Result<(), DbError> {
    if is_local(connect) {
        return Ok(());
    }
    let verified = matches!(
        connect.get_ssl_mode(),
        PgSslMode::VerifyCa | PgSslMode::VerifyFull
    );
    if verified {
        return Ok(());
    }
    let host = connect.get_host().to_string();
    if require_verified_tls {
        return Err(DbError::UnverifiedTls { host });
    }
    tracing::warn!(
        host,
        ssl_mode = ?connect.get_ssl_mode(),
        "PostgreSQL on another host without verified TLS (store.require_verified_tls = false)"
    );
    Ok(())
}

fn is_local(connect: &PgConnectOptions) -> bool {
    if connect.get_socket().is_some() {
        return true;
    }
    let host = connect.get_host();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(url: &str, require: bool) -> Result<(), DbError> {
        check_tls(&PgConnectOptions::from_str(url).expect(url), require)
    }

    #[test]
    fn remote_postgres_needs_verified_tls() {
        for local in [
            "postgres://u:p@127.0.0.1:5432/db",
            "postgres://u:p@localhost/db",
            "postgres://u:p@[::1]:5432/db",
            "postgres:///db?host=/var/run/postgresql",
        ] {
            assert!(tls(local, true).is_ok(), "{local}");
        }
        for verified in [
            "postgres://u:p@db.example/db?sslmode=verify-full&sslrootcert=/ca.crt",
            "postgres://u:p@10.0.0.5/db?sslmode=verify-ca",
        ] {
            assert!(tls(verified, true).is_ok(), "{verified}");
        }
        for unverified in [
            "postgres://u:p@db.example/db",
            "postgres://u:p@db.example/db?sslmode=require",
            "postgres://u:p@db.example/db?sslmode=prefer",
            "postgres://u:p@10.0.0.5/db?sslmode=disable",
        ] {
            let err = tls(unverified, true).expect_err(unverified);
            assert!(
                matches!(&err, DbError::UnverifiedTls { host } if !host.is_empty()),
                "{err:?}"
            );
            assert!(err.to_string().contains("sslmode=verify-full"), "{err}");
            // The operator's explicit choice is respected (with a warning).
            assert!(tls(unverified, false).is_ok(), "{unverified}");
        }
    }

    #[tokio::test]
    async fn unknown_schemes_name_only_the_scheme() {
        static NONE: Migrator = Migrator::DEFAULT;
        let migrations = Migrations {
            sqlite: &NONE,
            postgres: &NONE,
        };
        let err = open(
            &StoreConfig::url("mysql://root:hunter2@db/x"),
            "test",
            &migrations,
        )
        .await
        .expect_err("mysql");
        assert_eq!(
            err.to_string(),
            "unsupported store URL with scheme \"mysql\" (sqlite:PATH or postgres://…)"
        );
        let err = open(
            &StoreConfig {
                url: "postgres://u:p@127.0.0.1:1/db".into(),
                schema: "Bad-Name".into(),
                ..StoreConfig::default()
            },
            "test",
            &migrations,
        )
        .await
        .expect_err("schema");
        assert!(matches!(err, DbError::Schema(_)), "{err:?}");
    }

    #[tokio::test]
    async fn a_sqlite_file_is_created_with_no_notify_channel() {
        static NONE: Migrator = Migrator::DEFAULT;
        let migrations = Migrations {
            sqlite: &NONE,
            postgres: &NONE,
        };
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("emreg.db");
        let db = open(
            &StoreConfig::url(format!("sqlite:{}", path.display())),
            "emreg",
            &migrations,
        )
        .await
        .expect("open");
        assert!(matches!(db, Database::Sqlite(_)) && path.exists());
        assert_eq!(db.notify_channel(), None);
    }
}
