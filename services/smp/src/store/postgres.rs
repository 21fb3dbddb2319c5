//! PostgreSQL back end, for operators who already run one.
//!
//! This build has no TLS support in the database driver (on purpose: fewer dependencies), so the
//! store refuses to connect anywhere but a loopback address or a Unix socket, where the traffic
//! never leaves the machine (e.g. a sidecar or a local server).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Row};

use super::sql::{self, impl_sql_store};
use super::{
    ChangeFeed, Completion, ListFilter, SmpStore, StoreError, check_completion, check_new_record,
    effective_limit, from_json, session_id_in_bounds, status_from_db, status_to_db, to_json,
};
use crate::model::{ExchangeRecord, Outcome, Status};

const MAX_CONNECTIONS: u32 = 4;

/// The exchanges in a PostgreSQL database (optionally in their own schema).
#[derive(Debug)]
pub struct PostgresStore {
    pool: sqlx::PgPool,
    feed: ChangeFeed,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@127.0.0.1:5432/db`) and applies the embedded
    /// migrations in the connection's default schema.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let connect = PgConnectOptions::from_str(url)?;
        check_loopback(&connect)?;
        Self::connect_with(connect).await
    }

    /// Like [`PostgresStore::connect`], but keeps every table in `schema` (created if missing),
    /// so several services — or parallel tests — can share one database. `schema` must match
    /// `[a-z_][a-z0-9_]{0,62}`.
    pub async fn connect_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        let valid = !schema.is_empty()
            && schema.len() < 64
            && schema
                .bytes()
                .enumerate()
                .all(|(i, b)| b.is_ascii_lowercase() || b == b'_' || (i > 0 && b.is_ascii_digit()));
        if !valid {
            return Err(StoreError::Config(format!(
                "schema name {schema:?} must match [a-z_][a-z0-9_]{{0,62}}"
            )));
        }
        let connect = PgConnectOptions::from_str(url)?;
        check_loopback(&connect)?;
        let mut conn = connect.connect().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}"
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await?;
        Self::connect_with(connect.options([("search_path", schema)])).await
    }

    async fn connect_with(connect: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        migrator().run(&pool).await?;
        tracing::info!("SMP PostgreSQL store ready");
        Ok(Self {
            pool,
            feed: ChangeFeed::new(),
        })
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Refuses hosts other than loopback or a Unix socket (no TLS in this build).
fn check_loopback(connect: &PgConnectOptions) -> Result<(), StoreError> {
    if connect.get_socket().is_some() {
        return Ok(());
    }
    let host = connect.get_host();
    let host_trimmed = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.starts_with('/')
        || host.eq_ignore_ascii_case("localhost")
        || host_trimmed
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "PostgreSQL host {host:?} is not a loopback address or Unix socket; this build has no \
             TLS for database connections, so it only connects locally"
        )))
    }
}

/// The PostgreSQL migrations, embedded so the binary needs no files at run time.
fn migrator() -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(vec![Migration::new(
        1,
        "exchanges".into(),
        MigrationType::Simple,
        include_str!("../../migrations/postgres/0001_exchanges.sql").into_sql_str(),
        false,
    )])
}

impl_sql_store!(
    PostgresStore,
    sqlx::Postgres,
    write_begin = None::<&'static str>
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_hosts() {
        for ok in [
            "postgres://u:p@127.0.0.1:5432/db",
            "postgres://u:p@localhost/db",
            "postgres://u:p@[::1]:5432/db",
            "postgres:///db?host=/var/run/postgresql",
        ] {
            let c = PgConnectOptions::from_str(ok).expect(ok);
            assert!(check_loopback(&c).is_ok(), "{ok}");
        }
        let c = PgConnectOptions::from_str("postgres://u:p@db.example:5432/db").expect("url");
        assert!(matches!(check_loopback(&c), Err(StoreError::Config(_))));
    }
}
