//! EMREG, the EMREX registry: which data providers (NCPs/EMPs) exist, where their entry points
//! are, and which certificates their signed ELMO documents must verify with.
//!
//! * [`model`]: entries, countries, snapshots and changes.
//! * [`validate`]: what may be stored (pure functions, field-named errors).
//! * [`store`]: [`RegistryStore`] with SQLite (default) and PostgreSQL back ends; atomic writes,
//!   consecutive revisions, a change log and a live change feed.
//! * [`grpc`]: the `emrex.registry.v1` `Registry` (read, Watch) and `RegistryAdmin` (write)
//!   services. **`RegistryAdmin` carries no authentication of its own: the caller must wrap it**
//!   (tonic interceptor or tower layer) before serving it.
//! * [`jsonlist`] and [`http`]: the EMREX 1.x `ncp-list.json` / `emp-list.json` documents that
//!   existing clients read, with ETag/304 caching and gzip.
//! * [`cache`]: those documents rendered once per store revision and certificate validity window,
//!   not per request.
//! * [`ewp`]: the EWP Discovery manifest (`/ewp/manifest.xml`) that publishes the entries into
//!   the EWP registry.
//! * [`wallet`]: `/wallet-issuers.json`, the NCPs that issue wallet credentials and their keys as
//!   JWKs.

mod assemble;
pub mod cache;
pub mod config;
pub mod convert;
pub mod countries;
pub mod ewp;
pub mod grpc;
pub mod http;
pub mod jsonlist;
pub mod model;
pub mod store;
pub mod validate;
pub mod wallet;

pub use assemble::{Emreg, SetupError, assemble, run};
pub use config::{EmregServiceConfig, HttpConfig, StoreConfig};
pub use grpc::{
    MAX_MESSAGE_BYTES, RegistryAdminService, RegistryService, registry_admin_server,
    registry_server,
};
pub use model::{Change, ChangeKind, Country, Entry, ReplaceOutcome, Snapshot};
pub use store::{AnyStore, Gap, PostgresStore, RegistryStore, SqliteStore, StoreError};
pub use validate::{ValidationError, ValidationOptions};
