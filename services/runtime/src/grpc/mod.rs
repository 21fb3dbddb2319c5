//! Serving (and calling) gRPC the way every EMREX service does.
//!
//! [`GrpcServer`] collects the service's tonic services, always adds `grpc.health.v1.Health`
//! (tonic-health) and server reflection v1 (tonic-reflection, from
//! [`emrex_proto::FILE_DESCRIPTOR_SET`]), and serves them over our own TCP listener with rustls
//! (hot-reloading certificates) or plain TCP for development. Handlers see the caller through
//! [`peer_identity`] / [`connect_info`].
//!
//! ```no_run
//! # async fn demo(cfg: emrex_runtime::config::GrpcServerConfig) -> Result<(), Box<dyn std::error::Error>> {
//! use emrex_runtime::{grpc::GrpcServer, metrics::Metrics};
//! let mut server = GrpcServer::new(&cfg, &Metrics::new())?;
//! // server.add_service(SignerServer::new(my_signer));
//! let bound = server.bind().await?;
//! println!("listening on {}", bound.local_addr());
//! bound.serve(async { /* shutdown signal */ }).await?;
//! # Ok(()) }
//! ```

mod client;
mod health;
mod identity;
mod incoming;

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use http::Request;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tonic::{body::Body, server::NamedService, service::RoutesBuilder, transport::Server};
use tonic_health::ServingStatus;
use tower::Service;

pub use client::{AuthChannel, Bearer, BearerError, channel, channel_with_tls, error_chain};
pub use health::GrpcHealth;
pub use identity::{ConnectInfo, PeerIdentity, connect_info, peer_identity};
pub use incoming::{MAX_PENDING_HANDSHAKES, ServerIo};

use crate::{
    config::GrpcServerConfig,
    metrics::Metrics,
    tls::{TlsError, TlsOptions, server_config},
};

/// Why a gRPC server or channel could not be set up or failed.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// TLS material or settings.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// Binding the listen address failed.
    #[error("cannot bind the gRPC server to {addr}: {error}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The I/O error (printed in the message, so not a `source`: said once).
        error: std::io::Error,
    },
    /// A descriptor set for reflection is invalid.
    #[error("cannot build gRPC reflection: {0}")]
    Reflection(tonic_reflection::server::Error),
    /// tonic failed while serving.
    #[error("gRPC server failed: {0}")]
    Serve(tonic::transport::Error),
    /// A client endpoint is unusable.
    #[error("invalid gRPC endpoint {endpoint:?}: {message}")]
    Endpoint {
        /// The endpoint as configured.
        endpoint: String,
        /// What is wrong with it.
        message: String,
    },
}

// Printed in the messages above, so `From` without `source`: each cause is said once.
impl From<tonic_reflection::server::Error> for GrpcError {
    fn from(e: tonic_reflection::server::Error) -> Self {
        Self::Reflection(e)
    }
}

impl From<tonic::transport::Error> for GrpcError {
    fn from(e: tonic::transport::Error) -> Self {
        Self::Serve(e)
    }
}

/// A gRPC server being assembled: services, health, reflection, TLS.
pub struct GrpcServer {
    listen: SocketAddr,
    handshake_timeout: Duration,
    tls: Option<Arc<rustls::ServerConfig>>,
    routes: RoutesBuilder,
    health: GrpcHealth,
    health_service:
        tonic_health::pb::health_server::HealthServer<tonic_health::server::HealthService>,
    descriptor_sets: Vec<&'static [u8]>,
    server: Server,
}

impl GrpcServer {
    /// Prepares a server for `config`. TLS files are loaded now, so a broken certificate fails
    /// at startup rather than at the first handshake.
    pub fn new(config: &GrpcServerConfig, metrics: &Metrics) -> Result<Self, GrpcError> {
        let tls = match &config.tls {
            Some(tls) => {
                let options = TlsOptions {
                    metrics: Some(metrics.tls()),
                    ..TlsOptions::default()
                };
                Some(server_config(tls, &options)?)
            }
            None => {
                tracing::warn!(listen = %config.listen, "gRPC without TLS: for development only");
                None
            }
        };
        Ok(Self::with_tls(config, tls))
    }

    /// Like [`GrpcServer::new`] with a ready-made rustls config (`None` = plain TCP), for callers
    /// that build TLS themselves (tests with short reload intervals, custom verifiers).
    pub fn with_tls(config: &GrpcServerConfig, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let (reporter, _) = tonic_health::server::health_reporter();
        let health_service = tonic_health::pb::health_server::HealthServer::new(
            tonic_health::server::HealthService::from_health_reporter(reporter.clone()),
        );
        Self {
            listen: config.listen,
            handshake_timeout: config.tls_handshake_timeout,
            tls,
            routes: RoutesBuilder::default(),
            health: GrpcHealth::new(reporter),
            health_service,
            descriptor_sets: vec![
                emrex_proto::FILE_DESCRIPTOR_SET,
                tonic_health::pb::FILE_DESCRIPTOR_SET,
            ],
            server: Server::builder(),
        }
    }

    /// Adds a tonic service; its health status is SERVING once the server is bound.
    pub fn add_service<S>(&mut self, service: S) -> &mut Self
    where
        S: Service<Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum::response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.health.remember(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Adds an encoded `FileDescriptorSet` to reflection (the EMREX and health ones are always
    /// there).
    pub fn add_file_descriptor_set(&mut self, encoded: &'static [u8]) -> &mut Self {
        self.descriptor_sets.push(encoded);
        self
    }

    /// Adjusts tonic's server settings (timeouts, HTTP/2 keepalive, concurrency limits).
    pub fn configure(&mut self, f: impl FnOnce(Server) -> Server) -> &mut Self {
        let server = std::mem::take(&mut self.server);
        self.server = f(server);
        self
    }

    /// The health handle (also available after binding).
    pub fn health(&self) -> GrpcHealth {
        self.health.clone()
    }

    /// Binds the listen address and marks every added service SERVING.
    pub async fn bind(mut self) -> Result<BoundGrpcServer, GrpcError> {
        let mut reflection = tonic_reflection::server::Builder::configure();
        for set in &self.descriptor_sets {
            reflection = reflection.register_encoded_file_descriptor_set(set);
        }
        self.routes.add_service(reflection.build_v1()?);
        self.routes.add_service(self.health_service.clone());

        let bind_error = |source| GrpcError::Bind {
            addr: self.listen,
            error: source,
        };
        let listener = TcpListener::bind(self.listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        for name in self.health.services() {
            self.health.set_status(&name, ServingStatus::Serving).await;
        }
        Ok(BoundGrpcServer {
            listener,
            local_addr,
            tls: self.tls,
            handshake_timeout: self.handshake_timeout,
            routes: self.routes,
            health: self.health,
            server: self.server,
        })
    }
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("listen", &self.listen)
            .field("tls", &self.tls.is_some())
            .field("services", &self.health.services())
            .finish_non_exhaustive()
    }
}

/// A bound gRPC server, not yet accepting.
pub struct BoundGrpcServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    handshake_timeout: Duration,
    routes: RoutesBuilder,
    health: GrpcHealth,
    server: Server,
}

impl BoundGrpcServer {
    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The health handle.
    pub fn health(&self) -> GrpcHealth {
        self.health.clone()
    }

    /// Accepts and serves until `stop` completes; then closes the listener (new connections are
    /// refused), lets in-flight calls finish (HTTP/2 GOAWAY) and returns when every connection
    /// has closed. Bound that wait from outside (see [`crate::service`]) since a client can keep
    /// a stream open forever.
    pub async fn serve(self, stop: impl Future<Output = ()> + Send) -> Result<(), GrpcError> {
        tracing::info!(
            addr = %self.local_addr,
            tls = self.tls.is_some(),
            services = ?self.health.services(),
            "gRPC server listening"
        );
        let incoming = incoming::Incoming::new(
            self.listener,
            self.tls.map(TlsAcceptor::from),
            self.handshake_timeout,
        );
        let mut server = self.server;
        server
            .add_routes(self.routes.routes())
            .serve_with_incoming_shutdown(incoming, stop)
            .await?;
        tracing::info!("gRPC server stopped");
        Ok(())
    }
}

impl std::fmt::Debug for BoundGrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundGrpcServer")
            .field("local_addr", &self.local_addr)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}
