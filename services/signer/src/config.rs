//! The configuration schema of `emrex signer` (TOML file, `EMREX_SIGNER_…` environment, flags;
//! see docs/signer.md and the runtime's README for the shared sections).

use emrex_runtime::config::{AdminConfig, AuthConfig, GrpcServerConfig, LogConfig, ShutdownConfig};
use serde::{Deserialize, Serialize};

use crate::keys::KeyFiles;
use crate::service::SignerConfig;

/// Everything `emrex signer` reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SignerServiceConfig {
    /// The gRPC listener; in a cluster, TLS with required client certificates (only the NCP's).
    pub grpc: GrpcServerConfig,
    /// `/live`, `/ready`, `/metrics`.
    pub admin: AdminConfig,
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    /// Who may call `Sign`: mTLS clients, plus bearer tokens only when enabled for development.
    pub auth: AuthConfig,
    /// The key material (a mounted Secret).
    pub keys: KeyFiles,
    /// How to sign.
    pub signing: SignerConfig,
}
