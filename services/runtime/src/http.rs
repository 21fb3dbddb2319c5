//! Serving a service's HTTP routes (browser pages, the EMREX 1.x JSON lists) under the same
//! readiness, drain and shutdown path as its gRPC server (see [`crate::service`]).
//!
//! The HTTP listeners are plain TCP: in a cluster TLS ends at the ingress or load balancer in
//! front of the browser-facing services, and in development everything is on loopback.

use std::{future::Future, net::SocketAddr};

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum::response::Response;
use axum::{Router, serve::ListenerExt as _};
use tokio::net::TcpListener;

/// An HTTP server could not bind or failed while serving.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Binding the listen address failed (in use, no permission, …).
    #[error("cannot bind the {name} HTTP server to {addr}")]
    Bind {
        /// Which server.
        name: &'static str,
        /// The configured address.
        addr: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("the {name} HTTP server failed")]
    Serve {
        /// Which server.
        name: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// An HTTP server being assembled: a name for logs, where to listen, and the routes.
#[derive(Debug)]
pub struct HttpServer {
    name: &'static str,
    listen: String,
    router: Router,
}

impl HttpServer {
    /// `name` says what the routes are (`"NCP pages"`, `"JSON lists"`) in logs and errors;
    /// `listen` is `host:port` (a name is resolved when binding; port 0 picks a free port).
    pub fn new(name: &'static str, listen: impl ToString, router: Router) -> Self {
        Self {
            name,
            listen: listen.to_string(),
            router,
        }
    }

    /// Binds the listen address (port 0 picks a free port; see [`BoundHttpServer::local_addr`]).
    pub async fn bind(self) -> Result<BoundHttpServer, HttpError> {
        let bind_error = |source| HttpError::Bind {
            name: self.name,
            addr: self.listen.clone(),
            source,
        };
        let listener = TcpListener::bind(self.listen.as_str())
            .await
            .map_err(bind_error)?;
        let local_addr = listener.local_addr().map_err(bind_error)?;
        Ok(BoundHttpServer {
            name: self.name,
            listener,
            local_addr,
            router: self.router,
        })
    }
}

/// A bound HTTP server, not yet accepting.
#[derive(Debug)]
pub struct BoundHttpServer {
    name: &'static str,
    listener: TcpListener,
    local_addr: SocketAddr,
    router: Router,
}

impl BoundHttpServer {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What the server serves.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Accepts and serves until `stop` completes; then closes the listener (new connections are
    /// refused), answers the requests in flight (with `Connection: close`), closes idle
    /// keep-alive connections, and returns when every connection has closed. Bound that wait
    /// from outside (see [`crate::service`]): a client can hold a request open for long.
    pub async fn serve(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), HttpError> {
        let name = self.name;
        tracing::info!(addr = %self.local_addr, server = name, "HTTP server listening");
        // Small request/response exchanges: latency matters more than packet count.
        let listener = self.listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, self.router)
            .with_graceful_shutdown(stop)
            .await
            .map_err(|source| HttpError::Serve { name, source })?;
        tracing::info!(server = name, "HTTP server stopped");
        Ok(())
    }
}

/// The headers every non-page answer carries (JSON lists, `/metrics`, `/live`, the empty 404 and
/// 405 answers of a router): `X-Content-Type-Options: nosniff` always, and unless the handler
/// chose its own, `Cache-Control: no-store`, `Content-Security-Policy: default-src 'none';
/// frame-ancestors 'none'` (nothing in such an answer may run or be framed) and
/// `Referrer-Policy: no-referrer`. Browser pages get more from `emrex_web::secure`.
pub async fn plain_headers(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    set_default(h, header::CACHE_CONTROL, "no-store");
    set_default(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; frame-ancestors 'none'",
    );
    set_default(h, header::REFERRER_POLICY, "no-referrer");
    response
}

fn set_default(h: &mut HeaderMap, name: HeaderName, value: &'static str) {
    if !h.contains_key(&name) {
        h.insert(name, HeaderValue::from_static(value));
    }
}

/// `router` with [`plain_headers`] on every answer, its fallback and method rejections included.
pub fn with_plain_headers<S>(router: Router<S>) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::map_response(plain_headers))
}
