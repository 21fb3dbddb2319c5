//! What the Signer's gRPC tests share: key files shaped like a mounted Secret, and the service
//! started on loopback.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use emrex_proto::signer::v1::signer_client::SignerClient;
use emrex_proto::signer::v1::signer_server::SignerServer;
use emrex_signer::{KeyFiles, KeyStore, SignerConfig, SignerMetrics, SignerService};
use emrex_xmldsig::PinnedCert;
use tonic::transport::Channel;

/// A fresh key pair written as files the way a mounted Secret looks.
pub fn write_key(
    dir: &Path,
    name: &str,
    alg: &'static rcgen::SignatureAlgorithm,
) -> (PathBuf, PathBuf, PinnedCert) {
    let key = rcgen::KeyPair::generate_for(alg).expect("keygen");
    let mut params =
        rcgen::CertificateParams::new(vec!["ncp.test.invalid".into()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("Signer test {name}"));
    let cert = params.self_signed(&key).expect("cert");
    let kp = dir.join(format!("{name}.key"));
    let cp = dir.join(format!("{name}.crt"));
    std::fs::write(&kp, key.serialize_pem()).expect("write key");
    std::fs::write(&cp, cert.pem()).expect("write cert");
    (kp, cp, PinnedCert::from_der(cert.der()).expect("cert"))
}

/// The Signer served on loopback, a client connected to it, and its metrics.
pub struct Running {
    pub client: SignerClient<Channel>,
    pub registry: prometheus_client::registry::Registry,
    _task: tokio::task::JoinHandle<()>,
}

/// Serves a Signer with `files` and `config` on a loopback port.
pub async fn start(files: KeyFiles, config: SignerConfig) -> Running {
    let store = Arc::new(KeyStore::load(files, Duration::ZERO).expect("keys"));
    let metrics = SignerMetrics::default();
    let mut registry = prometheus_client::registry::Registry::default();
    metrics.register(&mut registry);
    let service = SignerService::new(store, config, metrics);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        tonic::transport::Server::builder()
            .add_service(SignerServer::new(service))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener))
            .await
            .expect("serve");
    });
    let client = SignerClient::connect(format!("http://{addr}"))
        .await
        .expect("connect");
    Running {
        client,
        registry,
        _task: task,
    }
}
