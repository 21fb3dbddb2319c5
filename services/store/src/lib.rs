//! The SQL storage layer every stateful EMREX service shares (EMREG's registry, the SMP's
//! exchanges, the NCP's exchanges in progress), so each service crate only holds its own tables
//! and queries:
//!
//! * [`StoreConfig`]: the `[store]` section every service reads (`url`, `schema`, pool size, the
//!   TLS rule for remote PostgreSQL);
//! * [`open`]: a pool for SQLite (a file, WAL, `synchronous = FULL`; the embedded default for one
//!   replica) or PostgreSQL (several replicas; each service in its own schema so they may share
//!   one database; TLS with rustls on aws-lc-rs), with the service's embedded migrations applied;
//! * [`ChangeFeed`]: committed changes broadcast in revision order to in-process subscribers
//!   (gRPC `Watch` streams), including changes other replicas commit to a shared PostgreSQL
//!   (`LISTEN/NOTIFY`, with a catch-up read after every reconnect).
//!
//! Statements are plain SQL through `sqlx` without compile-time query macros, so builds need no
//! database; only the migrations are embedded at compile time (`sqlx::migrate!`).

mod config;
mod connect;
mod feed;

pub use config::{StoreConfig, check_schema_name, redact_url};
pub use connect::{
    Database, DbError, Migrations, open, open_postgres_in_schema, open_sqlite_memory,
};
pub use feed::{ChangeFeed, FeedOptions, NOTIFY_SQL, Replay, Replayed, Revisioned};
