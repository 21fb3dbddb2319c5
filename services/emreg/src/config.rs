//! The configuration schema of `emrex emreg` (TOML file, `EMREX_EMREG_…` environment, flags; see
//! docs/emreg.md and the runtime's README for the shared sections).

use emrex_runtime::config::{AdminConfig, AuthConfig, GrpcServerConfig, LogConfig, ShutdownConfig};
use serde::{Deserialize, Serialize};

/// Where entries are stored: `emrex-store`'s `[store]` section (default `sqlite:emreg.db`; on
/// PostgreSQL the schema `emreg`).
pub use emrex_store::StoreConfig;

/// Everything `emrex emreg` reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EmregServiceConfig {
    /// gRPC: `Registry` (open to clients) and `RegistryAdmin` (authenticated by `auth`).
    pub grpc: GrpcServerConfig,
    /// The EMREX 1.x JSON lists for existing clients.
    pub http: HttpConfig,
    /// `/live`, `/ready`, `/metrics`.
    pub admin: AdminConfig,
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    /// Who may call `RegistryAdmin`: mTLS clients (the operator), plus bearer tokens only when
    /// enabled for development.
    pub auth: AuthConfig,
    pub store: StoreConfig,
    /// Development mode: entries may use `http://` URLs on loopback.
    pub dev_mode: bool,
}

/// The HTTP listener of the JSON lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Socket address for `/ncp-list.json` and `/emp-list.json`.
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
        }
    }
}
