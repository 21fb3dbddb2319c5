//! The configuration schema of `emrex smp` (TOML file, `EMREX_SMP_…` environment, flags; see
//! docs/smp.md and the runtime's README for the shared sections).

use std::time::Duration;

use emrex_runtime::config::{AdminConfig, AuthConfig, GrpcServerConfig, LogConfig, ShutdownConfig};
use serde::{Deserialize, Serialize};

use crate::registry::RegistryConfig;

/// Where exchanges are stored: `emrex-store`'s `[store]` section (default `sqlite:smp.db`; on
/// PostgreSQL the schema `smp`).
pub use emrex_store::StoreConfig;

/// Everything `emrex smp` reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SmpServiceConfig {
    pub http: HttpConfig,
    /// gRPC: `emrex.smp.v1.Smp` for the SIS (authenticated by `auth`).
    pub grpc: GrpcServerConfig,
    pub admin: AdminConfig,
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    /// Who may call the SIS API: mTLS clients, plus bearer tokens only when enabled.
    pub auth: AuthConfig,
    /// Development mode: the chooser pre-fills a demo person, `http://` on loopback is fine.
    pub dev_mode: bool,
    /// Where the NCP list comes from.
    pub registry: RegistryConfig,
    pub store: StoreConfig,
    pub exchange: ExchangeConfig,
    /// Result-page links (the key file every replica shares).
    pub links: crate::links::LinksConfig,
}

/// The HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: String,
    /// The SMP's public base URL; the `returnUrl` sent to NCPs is `{public_url}/return`. Must be
    /// `https://` outside development mode (NCPs refuse other return URLs).
    pub public_url: String,
    /// Serve the student-facing chooser outside development mode too (it has no login: anyone
    /// can start exchanges for any person there). Always on in development mode.
    pub chooser: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            chooser: false,
        }
    }
}

/// Exchange settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExchangeConfig {
    /// How long the student has to come back.
    #[serde(with = "emrex_runtime::config::duration")]
    pub ttl: Duration,
    /// Longest accepted `elmo` parameter, in bytes.
    pub max_encoded_bytes: usize,
    /// Largest decoded document.
    pub max_decoded_bytes: usize,
    /// Largest inflated/compressed ratio (gzip bombs).
    pub max_ratio: usize,
    /// How far an NCP's clock may be off ours: a returned document must have been generated
    /// after the exchange started (and before it arrived), give or take this much.
    #[serde(with = "emrex_runtime::config::duration")]
    pub clock_skew: Duration,
}

impl Default for ExchangeConfig {
    fn default() -> Self {
        let b = emrex_elmo::Budget::default();
        Self {
            ttl: Duration::from_secs(30 * 60),
            max_encoded_bytes: b.max_encoded_bytes,
            max_decoded_bytes: b.max_decoded_bytes,
            max_ratio: b.max_ratio,
            clock_skew: Duration::from_secs(5 * 60),
        }
    }
}

impl ExchangeConfig {
    /// The decoding budget.
    pub fn budget(&self) -> emrex_elmo::Budget {
        emrex_elmo::Budget {
            max_encoded_bytes: self.max_encoded_bytes,
            max_decoded_bytes: self.max_decoded_bytes,
            max_ratio: self.max_ratio,
        }
    }
}
