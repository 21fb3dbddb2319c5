//! TLS for EMREX services: rustls with the aws-lc-rs provider only (no `ring` in the tree),
//! certificates and CA bundles read from PEM files and **re-read when they change on disk**, so
//! a rotated Kubernetes Secret takes effect without a restart.
//!
//! - [`server_config`]: the server certificate comes from a reloading
//!   [`ResolvesServerCert`](rustls::server::ResolvesServerCert); with a `client_ca_file`,
//!   client certificates are verified against a reloading CA bundle (required or optional).
//! - [`client_config`]: trusts a reloading CA bundle and, for mTLS, presents a reloading client
//!   certificate.
//!
//! **Reload**: on a handshake, at most once per [`TlsOptions::check_interval`] (1 s), the files'
//! modification time, size and inode are compared with the last check; on a change they are
//! parsed again (key checked against certificate) and swapped in atomically (`arc-swap`). A
//! failed reload keeps the last good material, logs an error once per change and counts
//! `tls_reloads_total{result="failure"}`. Connections already open keep their certificates;
//! TLS session resumption is off on both sides so every new connection is verified against
//! the current files.
//!
//! The configs are built with an explicit [`provider`], never the process-wide default, so
//! they work whether or not a binary installed one.

mod client;
mod pem;
mod reload;
mod server;

use std::{path::PathBuf, sync::Arc, time::Duration};

use rustls::crypto::CryptoProvider;

pub use client::client_config;
pub use pem::{CertificateSummary, load_certificates, summarize_certificate};
pub use server::server_config;

use crate::metrics::TlsMetrics;

/// Why TLS material could not be loaded or a TLS config built. Each message is complete: the
/// underlying error is printed in it and not repeated as a `source`.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error. (printed in the message, so not a `source`: said once)
        error: std::io::Error,
    },
    /// A file is not valid PEM.
    #[error("invalid PEM in {}: {error}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// The PEM error. (printed in the message, so not a `source`: said once)
        error: rustls_pki_types::pem::Error,
    },
    /// A certificate file holds no certificate.
    #[error("no certificate found in {}", path.display())]
    NoCertificates {
        /// The file.
        path: PathBuf,
    },
    /// A key file holds no private key.
    #[error("no private key found in {}", path.display())]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// A CA file holds no certificate usable as a trust anchor.
    #[error("no usable CA certificate in {}", path.display())]
    NoTrustAnchors {
        /// The file.
        path: PathBuf,
    },
    /// The key does not fit the certificate, or rustls refused the material.
    #[error("{what} from {}: {error}", path.display())]
    Rustls {
        /// What was being built, e.g. "certificate and key".
        what: &'static str,
        /// The main file involved.
        path: PathBuf,
        /// The rustls error. (printed in the message, so not a `source`: said once)
        error: rustls::Error,
    },
    /// The CA bundle could not be made into a verifier.
    #[error("cannot build a certificate verifier from {}: {error}", path.display())]
    Verifier {
        /// The CA file.
        path: PathBuf,
        /// The rustls error. (printed in the message, so not a `source`: said once)
        error: rustls::server::VerifierBuilderError,
    },
    /// The configuration is inconsistent (e.g. `require_client_cert` without `client_ca_file`).
    #[error("invalid TLS configuration: {0}")]
    Config(String),
}

/// How TLS material is watched.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Files are checked for changes at most this often (from the handshake path).
    pub check_interval: Duration,
    /// Where reload outcomes are counted (`tls_reloads_total`); `None` counts nothing.
    pub metrics: Option<TlsMetrics>,
}

impl Default for TlsOptions {
    fn default() -> Self {
        Self {
            check_interval: Duration::from_secs(1),
            metrics: None,
        }
    }
}

/// The crypto provider every config in this crate uses: aws-lc-rs.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Installs aws-lc-rs as the process-wide rustls provider, for libraries that build their own
/// rustls configs from the default. Call once at the start of `main`; a second call (or one after
/// another provider was installed) is a no-op.
pub fn install_default_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// ALPN for gRPC: HTTP/2 only.
const ALPN_H2: &[u8] = b"h2";
