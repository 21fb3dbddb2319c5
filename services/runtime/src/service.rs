//! Running a service: its gRPC and HTTP servers, the admin server and graceful shutdown, in one
//! call.
//!
//! A service crate assembles itself into [`Servers`] (its tonic services in a [`GrpcServer`], its
//! browser-facing routes in an [`HttpServer`], its readiness checks on the shared
//! [`ServiceHandles`]); the binary hands them to [`run_service`]. Every listener, whatever its
//! protocol, goes through one shutdown sequence (SIGTERM, SIGINT or [`Shutdown::trigger`]):
//!
//! 1. `/ready` answers 503 and every gRPC health status (each service and the overall `""`) goes
//!    NOT_SERVING — Kubernetes stops routing new traffic here;
//! 2. wait `shutdown.drain_delay`, **still accepting and serving on every listener**, because
//!    endpoint removal takes a moment to reach every kube-proxy, ingress and client-side
//!    balancer, and a connection refused in that window is a failed request for someone;
//! 3. close every listener (new connections are refused) and let requests in flight finish
//!    (HTTP/2 GOAWAY for gRPC, `Connection: close` for HTTP/1), for at most `shutdown.timeout`;
//! 4. stop the admin server and return `Ok` — the process exits 0.
//!
//! If a server fails on its own (or stops without being asked), the others are stopped at once
//! and the error is returned.

use std::net::SocketAddr;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    admin::{AdminError, AdminServer},
    config::{AdminConfig, ShutdownConfig},
    grpc::{BoundGrpcServer, GrpcError, GrpcHealth, GrpcServer},
    http::{BoundHttpServer, HttpError, HttpServer},
    metrics::Metrics,
    readiness::Readiness,
    shutdown::Shutdown,
};

/// A service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// From a gRPC server.
    #[error(transparent)]
    Grpc(#[from] GrpcError),
    /// From an HTTP server.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// From the admin server.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// A server task panicked or was cancelled.
    #[error("the {0} task failed")]
    Task(&'static str, #[source] tokio::task::JoinError),
    /// A server stopped although nobody asked it to.
    #[error("the {0} stopped unexpectedly")]
    Stopped(&'static str),
}

/// The per-process handles a service shares with the runtime.
#[derive(Debug, Clone, Default)]
pub struct ServiceHandles {
    /// The metric registry served at `/metrics`.
    pub metrics: Metrics,
    /// The checks behind `/ready`.
    pub readiness: Readiness,
    /// The shutdown trigger.
    pub shutdown: Shutdown,
}

impl ServiceHandles {
    /// Fresh handles.
    pub fn new() -> Self {
        Self::default()
    }
}

/// What a service runs: its gRPC and HTTP servers, not yet bound. Service crates return this
/// from their `assemble` entry point; several services' `Servers` can be run together (as
/// `emrex dev` does) by binding them and [`BoundServers::extend`]ing one with the others.
#[derive(Debug, Default)]
pub struct Servers {
    grpc: Vec<GrpcServer>,
    http: Vec<HttpServer>,
}

impl Servers {
    /// No servers yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a gRPC server.
    #[must_use]
    pub fn grpc(mut self, server: GrpcServer) -> Self {
        self.grpc.push(server);
        self
    }

    /// Adds an HTTP server.
    #[must_use]
    pub fn http(mut self, server: HttpServer) -> Self {
        self.http.push(server);
        self
    }

    /// Binds every listener (a busy port fails here, before anything serves).
    pub async fn bind(self) -> Result<BoundServers, ServiceError> {
        let mut bound = BoundServers::default();
        for server in self.grpc {
            bound.grpc.push(server.bind().await?);
        }
        for server in self.http {
            bound.http.push(server.bind().await?);
        }
        Ok(bound)
    }
}

/// [`Servers`] with every listener bound, not yet accepting.
#[derive(Debug, Default)]
pub struct BoundServers {
    grpc: Vec<BoundGrpcServer>,
    http: Vec<BoundHttpServer>,
}

impl BoundServers {
    /// The address of the first gRPC server (a service has one).
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.first().map(BoundGrpcServer::local_addr)
    }

    /// The address of the first HTTP server.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http.first().map(BoundHttpServer::local_addr)
    }

    /// Adds another service's bound servers (to run several services in one process).
    pub fn extend(&mut self, other: BoundServers) {
        self.grpc.extend(other.grpc);
        self.http.extend(other.http);
    }
}

/// Runs `servers` with an admin server until SIGTERM/SIGINT or `handles.shutdown` is triggered,
/// then shuts down gracefully (see the module docs). This is what a service binary calls.
pub async fn run_service(
    servers: Servers,
    admin: &AdminConfig,
    shutdown: &ShutdownConfig,
    handles: ServiceHandles,
) -> Result<(), ServiceError> {
    ServiceRunner::new(servers, admin, shutdown, handles)
        .bind()
        .await?
        .run()
        .await
}

/// [`run_service`] in steps: bind first (to learn the ports), then run.
#[derive(Debug)]
pub struct ServiceRunner {
    servers: Servers,
    bound: BoundServers,
    admin: AdminConfig,
    shutdown_config: ShutdownConfig,
    handles: ServiceHandles,
    signals: bool,
}

impl ServiceRunner {
    /// A runner for `servers` that also listens for SIGTERM/SIGINT.
    pub fn new(
        servers: Servers,
        admin: &AdminConfig,
        shutdown: &ShutdownConfig,
        handles: ServiceHandles,
    ) -> Self {
        Self {
            servers,
            bound: BoundServers::default(),
            admin: admin.clone(),
            shutdown_config: shutdown.clone(),
            handles,
            signals: true,
        }
    }

    /// A runner for servers bound already (several services composed in one process, each
    /// bound in turn because the next one's configuration needs the previous one's address).
    pub fn with_bound(
        bound: BoundServers,
        admin: &AdminConfig,
        shutdown: &ShutdownConfig,
        handles: ServiceHandles,
    ) -> Self {
        Self {
            bound,
            ..Self::new(Servers::default(), admin, shutdown, handles)
        }
    }

    /// Only programmatic shutdown (tests running several services in one process).
    #[must_use]
    pub fn without_signal_handlers(mut self) -> Self {
        self.signals = false;
        self
    }

    /// Binds every listener that is not bound yet, and the admin server.
    pub async fn bind(self) -> Result<BoundService, ServiceError> {
        let mut servers = self.bound;
        servers.extend(self.servers.bind().await?);
        let admin = AdminServer::bind(
            &self.admin,
            self.handles.readiness.clone(),
            self.handles.metrics.clone(),
        )
        .await?;
        Ok(BoundService {
            servers,
            admin,
            shutdown_config: self.shutdown_config,
            handles: self.handles,
            signals: self.signals,
        })
    }
}

/// A service with every listener bound.
#[derive(Debug)]
pub struct BoundService {
    servers: BoundServers,
    admin: AdminServer,
    shutdown_config: ShutdownConfig,
    handles: ServiceHandles,
    signals: bool,
}

/// What a server task reports when it ends: which server, and how.
type Ended = (&'static str, Result<(), ServiceError>);

impl BoundService {
    /// The address of the first gRPC server.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.servers.grpc_addr()
    }

    /// The address of the first HTTP server.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.servers.http_addr()
    }

    /// The admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr()
    }

    /// Serves until shutdown, then shuts down gracefully.
    pub async fn run(self) -> Result<(), ServiceError> {
        let Self {
            servers,
            admin,
            shutdown_config,
            handles,
            signals,
        } = self;
        let health: Vec<GrpcHealth> = servers.grpc.iter().map(BoundGrpcServer::health).collect();
        // One token stops every listener at the same moment (step 3).
        let stop_servers = CancellationToken::new();
        let stop_admin = CancellationToken::new();

        let mut tasks: JoinSet<Ended> = JoinSet::new();
        for grpc in servers.grpc {
            let stop = stop_servers.clone().cancelled_owned();
            tasks.spawn(async move { ("gRPC server", grpc.serve(stop).await.map_err(Into::into)) });
        }
        for http in servers.http {
            let stop = stop_servers.clone().cancelled_owned();
            let name = http.name();
            tasks.spawn(async move { (name, http.serve(stop).await.map_err(Into::into)) });
        }
        let admin_task = tokio::spawn(admin.serve(stop_admin.clone().cancelled_owned()));
        let signal_task = signals.then(|| handles.shutdown.trigger_on_signals());

        let early = tokio::select! {
            () = handles.shutdown.triggered() => None,
            ended = tasks.join_next() => ended,
        };
        if let Some(signal_task) = signal_task {
            signal_task.abort();
        }
        if let Some(ended) = early {
            // A server ended without being asked to: stop the rest and report why.
            handles.readiness.begin_shutdown();
            handles.shutdown.close_listeners();
            stop_servers.cancel();
            stop_admin.cancel();
            tasks.shutdown().await;
            let _ = admin_task.await;
            return Err(match ended {
                Ok((name, Ok(()))) => ServiceError::Stopped(name),
                Ok((_, Err(e))) => e,
                Err(e) => ServiceError::Task("server", e),
            });
        }

        tracing::info!(drain_delay = ?shutdown_config.drain_delay, "shutdown: reporting not ready, still serving while endpoints drain");
        handles.readiness.begin_shutdown();
        for h in &health {
            h.set_all_not_serving().await;
        }
        tokio::time::sleep(shutdown_config.drain_delay).await;

        tracing::info!(timeout = ?shutdown_config.timeout, "shutdown: closing the listeners, waiting for requests in flight");
        handles.shutdown.close_listeners();
        stop_servers.cancel();
        let drained = tokio::time::timeout(shutdown_config.timeout, async {
            let mut first_error = None;
            while let Some(ended) = tasks.join_next().await {
                let result = match ended {
                    Ok((_, result)) => result,
                    Err(e) => Err(ServiceError::Task("server", e)),
                };
                if let Err(e) = result {
                    tracing::error!(error = %crate::grpc::error_chain(&e), "a server failed while shutting down");
                    first_error.get_or_insert(e);
                }
            }
            first_error
        })
        .await;
        let servers_result = match drained {
            Ok(None) => Ok(()),
            Ok(Some(e)) => Err(e),
            Err(_) => {
                tracing::warn!(
                    "shutdown: requests still in flight after the timeout; closing anyway"
                );
                tasks.shutdown().await;
                Ok(())
            }
        };

        stop_admin.cancel();
        let admin_result = match admin_task.await {
            Ok(result) => result.map_err(ServiceError::from),
            Err(e) => Err(ServiceError::Task("admin server", e)),
        };
        tracing::info!("shutdown complete");
        servers_result.and(admin_result)
    }
}
