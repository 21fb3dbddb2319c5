//! `[registry]` in the SMP's configuration: where the registry is read from.

use std::path::PathBuf;
use std::time::Duration;

use emrex_runtime::config::GrpcClientConfig;
use serde::{Deserialize, Serialize};

/// Where the SMP reads the registry from (`[registry]` in its configuration, with `kind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RegistryConfig {
    /// Our EMREG over gRPC (`emrex.registry.v1.Registry`): List, then Watch.
    Grpc {
        /// Endpoint, TLS and timeouts.
        #[serde(default)]
        client: GrpcClientConfig,
        /// A file holding a bearer token to send (development setups; mTLS is configured in
        /// `client.tls`).
        #[serde(default)]
        token_file: Option<PathBuf>,
    },
    /// An EMREX 1.x JSON list over HTTP(S).
    Json {
        /// `https://…/ncp-list.json` (with `?pubKeys=true` on our EMREG, to get every
        /// certificate); `http://` only for loopback hosts.
        url: String,
        /// How often the list is fetched again.
        #[serde(with = "emrex_runtime::config::duration", default = "default_refresh")]
        refresh: Duration,
        /// Time allowed for one fetch (connect, headers and body).
        #[serde(with = "emrex_runtime::config::duration", default = "default_timeout")]
        timeout: Duration,
        /// An extra CA bundle (PEM) for the server's certificate; the platform trust store is
        /// used too.
        #[serde(default)]
        ca_file: Option<PathBuf>,
        /// Acronyms of NCPs that still sign with SHA-1 (the JSON list has no such flag).
        #[serde(default)]
        legacy_acronyms: Vec<String>,
    },
}

fn default_refresh() -> Duration {
    Duration::from_secs(300)
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

impl Default for RegistryConfig {
    /// gRPC to the default endpoint of the runtime (`http://127.0.0.1:50051`).
    fn default() -> Self {
        Self::Grpc {
            client: GrpcClientConfig::default(),
            token_file: None,
        }
    }
}

impl RegistryConfig {
    /// A JSON source with the default refresh (5 min) and timeout (30 s).
    pub fn json(url: impl Into<String>) -> Self {
        Self::Json {
            url: url.into(),
            refresh: default_refresh(),
            timeout: default_timeout(),
            ca_file: None,
            legacy_acronyms: Vec::new(),
        }
    }

    /// A gRPC source at `endpoint` (other settings default).
    pub fn grpc(endpoint: impl Into<String>) -> Self {
        Self::Grpc {
            client: GrpcClientConfig {
                endpoint: endpoint.into(),
                ..GrpcClientConfig::default()
            },
            token_file: None,
        }
    }

    /// What the view reads, for its status and logs: `grpc {endpoint}` or `json {url}`.
    pub(super) fn describe(&self) -> String {
        match self {
            Self::Grpc { client, .. } => format!("grpc {}", client.endpoint),
            Self::Json { url, .. } => format!("json {url}"),
        }
    }
}
