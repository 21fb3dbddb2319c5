//! What every EMREX microservice (Signer, EMREG, NCP, SMP) shares, so each service crate only
//! contains its own logic:
//!
//! - [`config`]: typed config from defaults < TOML file < `EMREX_<SVC>_…` environment < CLI
//!   overrides, with unknown keys reported by name and source, and the common sections
//!   (`[grpc]`, `[admin]`, `[log]`, `[shutdown]`, `[auth]`, client sections);
//! - [`telemetry`]: `tracing` subscriber, plain or JSON;
//! - [`metrics`] + [`readiness`] + [`admin`]: a Prometheus registry and `/live`, `/ready`,
//!   `/metrics` on an admin port;
//! - [`tls`]: rustls (aws-lc-rs only) server and client configs whose certificates and CA bundles
//!   are re-read when the files change (Kubernetes Secret rotation without restart);
//! - [`grpc`]: a tonic server over our own TLS accept loop, always with gRPC health and
//!   reflection, exposing the caller's verified certificate to handlers; and client channels;
//! - [`shutdown`] + [`service`]: SIGTERM handling and the drain sequence, and [`run_service`],
//!   the one call a service binary makes;
//! - [`auth`]: admit mTLS callers (or development bearer tokens).
//!
//! A service binary, in outline:
//!
//! ```no_run
//! # async fn main_(cli_config: Option<std::path::PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
//! use emrex_runtime::{config::*, grpc::GrpcServer, service::*, telemetry::init_tracing};
//!
//! #[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
//! #[serde(default)]
//! struct SignerConfig {
//!     grpc: GrpcServerConfig,
//!     admin: AdminConfig,
//!     log: LogConfig,
//!     shutdown: ShutdownConfig,
//!     auth: AuthConfig,
//! }
//!
//! let config: SignerConfig = ConfigLoader::new("EMREX_SIGNER_").file(cli_config).load()?;
//! init_tracing(&config.log)?;
//! let handles = ServiceHandles::new();
//! let mut grpc = GrpcServer::new(&config.grpc, &handles.metrics)?;
//! // grpc.add_service(SignerServer::with_interceptor(signer, Authenticator::from_config(&config.auth)?));
//! run_service(grpc, &config.admin, &config.shutdown, handles).await?;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod auth;
pub mod config;
pub mod grpc;
pub mod metrics;
pub mod readiness;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod tls;

pub use service::{ServiceHandles, run_service};
