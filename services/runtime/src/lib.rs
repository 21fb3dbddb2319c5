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
//! - [`http`]: the service's browser-facing routes, under the same drain as gRPC;
//! - [`shutdown`] + [`service`]: SIGTERM handling and the one drain sequence for every listener,
//!   and [`run_service`], the one call a service makes;
//! - [`auth`]: admit mTLS callers (or development bearer tokens).
//!
//! A service crate assembles itself from its configuration into [`Servers`] and runs them (its
//! `run(config)`, which `emrex <service>` calls), in outline:
//!
//! ```no_run
//! # async fn main_(cli_config: Option<std::path::PathBuf>) -> Result<(), Box<dyn std::error::Error>> {
//! use emrex_runtime::{config::*, grpc::GrpcServer, http::HttpServer, service::*, telemetry::init_tracing};
//!
//! #[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
//! #[serde(default)]
//! struct PagesConfig {
//!     grpc: GrpcServerConfig,
//!     admin: AdminConfig,
//!     log: LogConfig,
//!     shutdown: ShutdownConfig,
//!     auth: AuthConfig,
//! }
//!
//! let config: PagesConfig = ConfigLoader::new("EMREX_PAGES_").file(cli_config).load()?;
//! init_tracing(&config.log)?;
//! let handles = ServiceHandles::new();
//! let grpc = GrpcServer::new(&config.grpc, &handles.metrics)?;
//! // grpc.add_service(SignerServer::with_interceptor(signer, Authenticator::from_config(&config.auth)?));
//! let pages = HttpServer::new("pages", "127.0.0.1:8080", axum::Router::new());
//! let servers = Servers::new().grpc(grpc).http(pages);
//! run_service(servers, &config.admin, &config.shutdown, handles).await?;
//! # Ok(()) }
//! ```

pub mod admin;
pub mod auth;
pub mod config;
pub mod grpc;
pub mod http;
pub mod metrics;
pub mod readiness;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod tls;

pub use service::{Servers, ServiceHandles, run_service};
