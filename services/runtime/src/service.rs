//! Running a service: gRPC + admin server + graceful shutdown, in one call.
//!
//! Shutdown sequence (SIGTERM, SIGINT or [`Shutdown::trigger`]):
//!
//! 1. every gRPC health status (each service and the overall `""`) goes NOT_SERVING and `/ready`
//!    answers 503 — Kubernetes stops routing new traffic here;
//! 2. wait `shutdown.drain_delay`, still serving, because endpoint removal takes a moment to
//!    reach every kube-proxy and client-side balancer;
//! 3. stop accepting (the listener closes, new connections are refused) and let in-flight calls
//!    finish (HTTP/2 GOAWAY), for at most `shutdown.timeout`;
//! 4. stop the admin server and return.
//!
//! If the gRPC server fails on its own, the admin server is stopped too and the error returned.

use std::net::SocketAddr;

use tokio_util::sync::CancellationToken;

use crate::{
    admin::{AdminError, AdminServer},
    config::{AdminConfig, ShutdownConfig},
    grpc::{BoundGrpcServer, GrpcError, GrpcServer},
    metrics::Metrics,
    readiness::Readiness,
    shutdown::Shutdown,
};

/// A service stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// From the gRPC server.
    #[error(transparent)]
    Grpc(#[from] GrpcError),
    /// From the admin server.
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// A server task panicked or was cancelled.
    #[error("{0} task failed: {1}")]
    Task(&'static str, #[source] tokio::task::JoinError),
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

/// Runs `grpc` with an admin server until SIGTERM/SIGINT or `handles.shutdown` is triggered,
/// then shuts down gracefully (see the module docs). This is what a service binary calls.
pub async fn run_service(
    grpc: GrpcServer,
    admin: &AdminConfig,
    shutdown: &ShutdownConfig,
    handles: ServiceHandles,
) -> Result<(), ServiceError> {
    ServiceRunner::new(grpc, admin, shutdown, handles)
        .bind()
        .await?
        .run()
        .await
}

/// [`run_service`] in steps, for tests: bind first (to learn the ports), then run.
#[derive(Debug)]
pub struct ServiceRunner {
    grpc: GrpcServer,
    admin: AdminConfig,
    shutdown_config: ShutdownConfig,
    handles: ServiceHandles,
    signals: bool,
}

impl ServiceRunner {
    /// A runner that also listens for SIGTERM/SIGINT.
    pub fn new(
        grpc: GrpcServer,
        admin: &AdminConfig,
        shutdown: &ShutdownConfig,
        handles: ServiceHandles,
    ) -> Self {
        Self {
            grpc,
            admin: admin.clone(),
            shutdown_config: shutdown.clone(),
            handles,
            signals: true,
        }
    }

    /// Only programmatic shutdown (tests running several services in one process).
    #[must_use]
    pub fn without_signal_handlers(mut self) -> Self {
        self.signals = false;
        self
    }

    /// Binds both listeners.
    pub async fn bind(self) -> Result<BoundService, ServiceError> {
        let grpc = self.grpc.bind().await?;
        let admin = AdminServer::bind(
            &self.admin,
            self.handles.readiness.clone(),
            self.handles.metrics.clone(),
        )
        .await?;
        Ok(BoundService {
            grpc,
            admin,
            shutdown_config: self.shutdown_config,
            handles: self.handles,
            signals: self.signals,
        })
    }
}

/// A service with both listeners bound.
#[derive(Debug)]
pub struct BoundService {
    grpc: BoundGrpcServer,
    admin: AdminServer,
    shutdown_config: ShutdownConfig,
    handles: ServiceHandles,
    signals: bool,
}

impl BoundService {
    /// The gRPC address.
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc.local_addr()
    }

    /// The admin address.
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr()
    }

    /// Serves until shutdown, then shuts down gracefully.
    pub async fn run(self) -> Result<(), ServiceError> {
        let Self {
            grpc,
            admin,
            shutdown_config,
            handles,
            signals,
        } = self;
        let health = grpc.health();
        let stop_grpc = CancellationToken::new();
        let stop_admin = CancellationToken::new();

        let mut grpc_task = tokio::spawn(grpc.serve(stop_grpc.clone().cancelled_owned()));
        let admin_task = tokio::spawn(admin.serve(stop_admin.clone().cancelled_owned()));
        let signal_task = signals.then(|| handles.shutdown.trigger_on_signals());

        let early = tokio::select! {
            () = handles.shutdown.triggered() => None,
            result = &mut grpc_task => Some(result),
        };
        if let Some(signal_task) = signal_task {
            signal_task.abort();
        }
        if let Some(result) = early {
            // The gRPC server ended without being asked to: report why, after stopping admin.
            handles.readiness.begin_shutdown();
            stop_admin.cancel();
            let _ = admin_task.await;
            return match result {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.into()),
                Err(e) => Err(ServiceError::Task("gRPC server", e)),
            };
        }

        tracing::info!(drain_delay = ?shutdown_config.drain_delay, "shutdown: reporting NOT_SERVING, draining");
        handles.readiness.begin_shutdown();
        health.set_all_not_serving().await;
        tokio::time::sleep(shutdown_config.drain_delay).await;

        tracing::info!(timeout = ?shutdown_config.timeout, "shutdown: closing the listener, waiting for in-flight calls");
        stop_grpc.cancel();
        let grpc_result = match tokio::time::timeout(shutdown_config.timeout, &mut grpc_task).await
        {
            Ok(Ok(result)) => result.map_err(ServiceError::from),
            Ok(Err(e)) => Err(ServiceError::Task("gRPC server", e)),
            Err(_) => {
                tracing::warn!("shutdown: calls still in flight after the timeout; closing anyway");
                grpc_task.abort();
                Ok(())
            }
        };

        stop_admin.cancel();
        let admin_result = match admin_task.await {
            Ok(result) => result.map_err(ServiceError::from),
            Err(e) => Err(ServiceError::Task("admin server", e)),
        };
        tracing::info!("shutdown complete");
        grpc_result.and(admin_result)
    }
}
