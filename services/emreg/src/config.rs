//! The configuration schema of `emrex emreg` (TOML file, `EMREX_EMREG_…` environment, flags; see
//! docs/emreg.md and the runtime's README for the shared sections).

use emrex_runtime::config::{AdminConfig, AuthConfig, GrpcServerConfig, LogConfig, ShutdownConfig};
use serde::{Deserialize, Serialize};

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

/// Where entries are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite:PATH` (a file, created when missing; the default) or
    /// `postgres://user:password@host:port/db` (several replicas share one database).
    pub url: String,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: "sqlite:emreg.db".into(),
        }
    }
}
