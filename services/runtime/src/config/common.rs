//! Config sections every EMREX service embeds, so the keys are the same for all of them
//! (`[grpc]`, `[admin]`, `[log]`, `[shutdown]`, `[auth]`, and `[<peer>]` client sections).

use std::{fmt, net::SocketAddr, path::PathBuf, time::Duration};

use serde::{Deserialize, Serialize};

fn socket(addr: [u8; 4], port: u16) -> SocketAddr {
    SocketAddr::from((addr, port))
}

/// Where a gRPC server listens and how it does TLS.
///
/// The same shape serves any TLS listener; see [`ListenConfig`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrpcServerConfig {
    /// Socket address to bind. Port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// TLS; absent means plain TCP (development only).
    pub tls: Option<ServerTlsConfig>,
    /// A client that has not finished the TLS handshake by then is disconnected, so slow or
    /// idle peers cannot hold sockets open.
    #[serde(with = "crate::config::duration")]
    pub tls_handshake_timeout: Duration,
}

/// Any TLS-capable listener has the [`GrpcServerConfig`] shape (listen address + optional TLS).
pub type ListenConfig = GrpcServerConfig;

impl Default for GrpcServerConfig {
    fn default() -> Self {
        Self {
            listen: socket([0, 0, 0, 0], 50051),
            tls: None,
            tls_handshake_timeout: Duration::from_secs(10),
        }
    }
}

/// Server side TLS: the certificate the server presents and, for mTLS, the CA that client
/// certificates must chain to. All files are PEM and are re-read when they change on disk
/// (Kubernetes Secret updates), see [`crate::tls`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerTlsConfig {
    /// Certificate chain, leaf first (`tls.crt`).
    pub cert_file: PathBuf,
    /// Private key of the leaf, PKCS#8, PKCS#1 or SEC1 (`tls.key`).
    pub key_file: PathBuf,
    /// CA bundle that client certificates are verified against (`ca.crt`). Several CAs may be
    /// listed, which is how a CA rotation keeps old and new clients working.
    #[serde(default)]
    pub client_ca_file: Option<PathBuf>,
    /// Refuse clients without a valid certificate. Defaults to `true` (services talk mTLS in the
    /// cluster); requires `client_ca_file`. With `false` and a `client_ca_file`, a certificate is
    /// optional but verified when presented.
    #[serde(default = "yes")]
    pub require_client_cert: bool,
}

fn yes() -> bool {
    true
}

/// The admin HTTP server (`/live`, `/ready`, `/metrics`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminConfig {
    /// Socket address to bind. Port 0 picks a free port (tests).
    pub listen: SocketAddr,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self {
            listen: socket([0, 0, 0, 0], 9090),
        }
    }
}

/// Log output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// `plain` for people, `json` for log collectors.
    pub format: LogFormat,
    /// `tracing_subscriber::EnvFilter` directives, e.g. `info,emrex_runtime=debug`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Plain,
            filter: "info".to_string(),
        }
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Plain,
    /// One JSON object per line.
    Json,
}

/// Graceful shutdown timing (see [`crate::service`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ShutdownConfig {
    /// After SIGTERM, keep serving this long while reporting NOT_SERVING / `/ready` 503, so
    /// Kubernetes removes the pod from Service endpoints before connections are refused.
    #[serde(with = "crate::config::duration")]
    pub drain_delay: Duration,
    /// Then wait at most this long for in-flight calls (and open streams such as health
    /// `Watch`) before returning anyway. Keep `drain_delay + timeout` below the pod's
    /// `terminationGracePeriodSeconds` (30 s by default).
    #[serde(with = "crate::config::duration")]
    pub timeout: Duration,
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        Self {
            drain_delay: Duration::from_secs(5),
            timeout: Duration::from_secs(20),
        }
    }
}

/// Who may call the protected RPCs (see [`crate::auth`]).
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Also admit callers presenting `authorization: Bearer <token>` with one of
    /// `dev_bearer_tokens`. For development only: a bearer token is not bound to the connection
    /// the way a client certificate is.
    pub allow_dev_bearer_tokens: bool,
    /// The accepted tokens (ignored unless `allow_dev_bearer_tokens`). From the environment:
    /// `EMREX_<SVC>_AUTH__DEV_BEARER_TOKENS='["token-a","token-b"]'`.
    pub dev_bearer_tokens: Vec<String>,
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("allow_dev_bearer_tokens", &self.allow_dev_bearer_tokens)
            .field(
                "dev_bearer_tokens",
                &format_args!("[{} redacted]", self.dev_bearer_tokens.len()),
            )
            .finish()
    }
}

/// Client side TLS for calling another service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientTlsConfig {
    /// CA bundle the server's certificate must chain to.
    pub ca_file: PathBuf,
    /// Client certificate chain for mTLS (with `key_file`).
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// Private key of the client certificate.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Name to verify the server certificate against, when it differs from the endpoint's
    /// host (e.g. connecting by IP to a certificate for `emrex-signer.ns.svc`).
    #[serde(default)]
    pub server_name: Option<String>,
}

/// How to reach another EMREX service over gRPC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrpcClientConfig {
    /// `https://host:port` (TLS, needs `tls`) or `http://host:port` (plain, development).
    pub endpoint: String,
    /// TLS settings; required for `https://` endpoints.
    pub tls: Option<ClientTlsConfig>,
    /// Time allowed to open the TCP + TLS connection.
    #[serde(with = "crate::config::duration")]
    pub connect_timeout: Duration,
    /// Deadline for every call on the channel.
    #[serde(with = "crate::config::duration")]
    pub timeout: Duration,
}

impl Default for GrpcClientConfig {
    fn default() -> Self {
        Self {
            endpoint: "http://127.0.0.1:50051".to_string(),
            tls: None,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
        }
    }
}
