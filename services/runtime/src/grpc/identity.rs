//! Who is on the other end of a gRPC call: the connection's [`ConnectInfo`] (inserted by tonic
//! into every request's extensions) and the [`PeerIdentity`] read from a verified client
//! certificate.

use std::{net::SocketAddr, sync::Arc};

use rustls_pki_types::CertificateDer;
use tonic::Request;

use crate::tls::summarize_certificate;

/// Per-connection facts, available to handlers as a request extension (via
/// [`tonic::transport::server::Connected`]).
#[derive(Debug, Clone)]
pub struct ConnectInfo {
    /// The peer's address.
    pub remote_addr: SocketAddr,
    /// Our address of this connection.
    pub local_addr: Option<SocketAddr>,
    /// The connection is TLS.
    pub tls: bool,
    /// The client certificate chain (DER, leaf first), present only when the client sent one
    /// **and** it was verified against the configured client CA bundle.
    pub peer_certificates: Option<Arc<[CertificateDer<'static>]>>,
    identity: Option<Arc<PeerIdentity>>,
}

impl ConnectInfo {
    pub(crate) fn plain(remote_addr: SocketAddr, local_addr: Option<SocketAddr>) -> Self {
        Self {
            remote_addr,
            local_addr,
            tls: false,
            peer_certificates: None,
            identity: None,
        }
    }

    pub(crate) fn tls(
        remote_addr: SocketAddr,
        local_addr: Option<SocketAddr>,
        peer_certificates: Option<Arc<[CertificateDer<'static>]>>,
    ) -> Self {
        // Parsed once per connection, not once per call.
        let identity = peer_certificates
            .as_deref()
            .and_then(<[_]>::first)
            .and_then(|leaf| PeerIdentity::from_certificate(leaf))
            .map(Arc::new);
        Self {
            remote_addr,
            local_addr,
            tls: true,
            peer_certificates,
            identity,
        }
    }

    /// The identity in the verified client certificate, if there is one.
    pub fn peer_identity(&self) -> Option<&PeerIdentity> {
        self.identity.as_deref()
    }
}

/// What a verified client certificate says about the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerIdentity {
    /// Subject distinguished name, e.g. `CN=emrex-ncp`.
    pub subject: String,
    /// The subject's common name.
    pub common_name: Option<String>,
    /// DNS subjectAltNames.
    pub dns_names: Vec<String>,
    /// SHA-256 of the leaf certificate (DER), lowercase colon-separated hex.
    pub sha256_fingerprint: String,
}

impl PeerIdentity {
    /// Reads the identity from a DER certificate; `None` if it cannot be parsed.
    pub fn from_certificate(der: &CertificateDer<'_>) -> Option<Self> {
        let summary = summarize_certificate(der)?;
        Some(Self {
            subject: summary.subject,
            common_name: summary.common_name,
            dns_names: summary.dns_names,
            sha256_fingerprint: summary.sha256_fingerprint,
        })
    }
}

/// The connection facts of a request served by [`crate::grpc::GrpcServer`].
pub fn connect_info<T>(request: &Request<T>) -> Option<&ConnectInfo> {
    request.extensions().get::<ConnectInfo>()
}

/// The caller's identity from its verified client certificate; `None` on plain TCP, without a
/// client certificate, or when the request did not come through [`crate::grpc::GrpcServer`].
pub fn peer_identity<T>(request: &Request<T>) -> Option<PeerIdentity> {
    connect_info(request)?.peer_identity().cloned()
}
