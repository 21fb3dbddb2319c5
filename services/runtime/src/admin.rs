//! The admin HTTP server: `/live`, `/ready`, `/metrics`, on its own port so probes and scrapes
//! never compete with (or need the credentials of) the service's gRPC port.
//!
//! - `/live`: 200 while the process runs (a hung runtime fails it by not answering).
//! - `/ready`: 200 when every [`Readiness`] check passes and shutdown has not begun; otherwise
//!   503 with the failing check names in the body.
//! - `/metrics`: the [`Metrics`] registry as OpenMetrics text.

use std::{future::Future, net::SocketAddr};

use axum::{
    Router,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use tokio::net::TcpListener;

use crate::{config::AdminConfig, metrics::Metrics, readiness::Readiness};

/// Content type of `/metrics`.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The admin server could not bind or failed while serving.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// Binding the listen address failed (in use, no permission, …).
    #[error("cannot bind the admin server to {addr}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the admin server failed")]
    Serve(#[source] std::io::Error),
}

#[derive(Clone)]
struct AdminState {
    readiness: Readiness,
    metrics: Metrics,
}

/// A bound, not yet serving, admin server.
#[derive(Debug)]
pub struct AdminServer {
    listener: TcpListener,
    router: Router,
    local_addr: SocketAddr,
}

impl AdminServer {
    /// Binds `config.listen` (port 0 picks a free port; see [`AdminServer::local_addr`]).
    pub async fn bind(
        config: &AdminConfig,
        readiness: Readiness,
        metrics: Metrics,
    ) -> Result<Self, AdminError> {
        let bind_error = |source| AdminError::Bind {
            addr: config.listen,
            source,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(Self {
            listener,
            router: router(readiness, metrics),
            local_addr,
        })
    }

    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `stop` completes, then finishes open requests and returns.
    pub async fn serve(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AdminError> {
        tracing::info!(addr = %self.local_addr, "admin server listening (/live, /ready, /metrics)");
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(stop)
            .await
            .map_err(AdminError::Serve)
    }
}

/// The admin routes, for embedding elsewhere (e.g. a service's own HTTP server in development).
pub fn router(readiness: Readiness, metrics: Metrics) -> Router {
    crate::http::with_plain_headers(
        Router::new()
            .route("/live", get(live))
            .route("/ready", get(ready))
            .route("/metrics", get(metrics_handler))
            .with_state(AdminState { readiness, metrics }),
    )
}

async fn live() -> &'static str {
    "live\n"
}

async fn ready(State(state): State<AdminState>) -> Response {
    let report = state.readiness.evaluate().await;
    if report.is_ready() {
        (StatusCode::OK, "ready\n").into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", report.failing.join(", ")),
        )
            .into_response()
    }
}

async fn metrics_handler(State(state): State<AdminState>) -> Response {
    match state.metrics.encode() {
        Ok(body) => ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], body).into_response(),
        Err(error) => {
            tracing::error!(%error, "cannot encode metrics");
            (StatusCode::INTERNAL_SERVER_ERROR, "cannot encode metrics\n").into_response()
        }
    }
}
