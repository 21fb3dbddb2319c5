//! Test support: a PKI minted with rcgen, a dummy Signer, helpers for HTTP and TLS probes.

use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use emrex_proto::signer::v1::{
    GetCertificatesRequest, GetCertificatesResponse, SignRequest, SignResponse,
    signer_server::Signer,
};
use emrex_runtime::{
    config::{ClientTlsConfig, GrpcClientConfig, ServerTlsConfig},
    grpc::peer_identity,
    tls::TlsOptions,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tonic::{Request, Response, Status, transport::Channel};

/// Upper bound for anything a test waits on.
pub const DEADLINE: Duration = Duration::from_secs(15);

/// A CA that issues leaf certificates into PEM files.
pub struct TestCa {
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate + key in PEM, and its DER.
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub der: Vec<u8>,
}

impl TestCa {
    pub fn new(name: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-signed CA");
        Self {
            cert_pem: cert.pem(),
            issuer: Issuer::new(params, key),
        }
    }

    fn leaf(&self, cn: &str, sans: &[&str], usage: ExtendedKeyUsagePurpose) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer).expect("sign leaf");
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().to_vec(),
        }
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    pub fn server(&self, cn: &str) -> Leaf {
        self.leaf(
            cn,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate.
    pub fn client(&self, cn: &str, dns: &[&str]) -> Leaf {
        self.leaf(cn, dns, ExtendedKeyUsagePurpose::ClientAuth)
    }
}

/// Writes `contents` to `path` atomically (temp file + rename), like Kubernetes' Secret volume
/// updates do with their symlink swap.
pub fn write_atomic(path: &Path, contents: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, contents).expect("write temp");
    std::fs::rename(&tmp, path).expect("rename");
}

/// PEM files for a server (cert, key, client CA) in a temp dir.
pub struct ServerFiles {
    /// Keeps the files alive.
    _dir: tempfile::TempDir,
    pub cert: PathBuf,
    pub key: PathBuf,
    pub client_ca: PathBuf,
}

impl ServerFiles {
    pub fn new(server: &Leaf, client_ca: &TestCa) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = Self {
            cert: dir.path().join("tls.crt"),
            key: dir.path().join("tls.key"),
            client_ca: dir.path().join("ca.crt"),
            _dir: dir,
        };
        files.set_server(server);
        write_atomic(&files.client_ca, &client_ca.cert_pem);
        files
    }

    pub fn set_server(&self, leaf: &Leaf) {
        write_atomic(&self.key, &leaf.key_pem);
        write_atomic(&self.cert, &leaf.cert_pem);
    }

    pub fn tls_config(&self, require_client_cert: bool) -> ServerTlsConfig {
        ServerTlsConfig {
            cert_file: self.cert.clone(),
            key_file: self.key.clone(),
            client_ca_file: Some(self.client_ca.clone()),
            require_client_cert,
        }
    }
}

/// Client-side PEM files: the CA to trust and optionally a client certificate.
pub struct ClientFiles {
    /// Keeps the files alive.
    _dir: tempfile::TempDir,
    pub tls: ClientTlsConfig,
}

impl ClientFiles {
    pub fn new(trust: &TestCa, client: Option<&Leaf>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca_file = dir.path().join("ca.crt");
        write_atomic(&ca_file, &trust.cert_pem);
        let (cert_file, key_file) = match client {
            Some(leaf) => {
                let (c, k) = (dir.path().join("client.crt"), dir.path().join("client.key"));
                write_atomic(&c, &leaf.cert_pem);
                write_atomic(&k, &leaf.key_pem);
                (Some(c), Some(k))
            }
            None => (None, None),
        };
        Self {
            _dir: dir,
            tls: ClientTlsConfig {
                ca_file,
                cert_file,
                key_file,
                server_name: None,
            },
        }
    }

    /// A channel to `https://localhost:<port>` with these files.
    pub fn channel(&self, addr: SocketAddr) -> Channel {
        emrex_runtime::grpc::channel(
            &GrpcClientConfig {
                endpoint: format!("https://localhost:{}", addr.port()),
                tls: Some(self.tls.clone()),
                connect_timeout: Duration::from_secs(5),
                timeout: Duration::from_secs(10),
            },
            &TlsOptions::default(),
        )
        .expect("channel")
    }
}

/// A plain-TCP channel.
pub fn plain_channel(addr: SocketAddr) -> Channel {
    emrex_runtime::grpc::channel(
        &GrpcClientConfig {
            endpoint: format!("http://{addr}"),
            ..GrpcClientConfig::default()
        },
        &TlsOptions::default(),
    )
    .expect("channel")
}

/// SHA-256 fingerprint in the runtime's format, computed independently.
pub fn fingerprint(der: &[u8]) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    d.as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A Signer that "signs" by echoing and reports what it saw of the caller:
/// `certificate_sha256` = peer certificate fingerprint, `signature_algorithm` = peer CN,
/// `canonicalization` = peer DNS names (comma-separated). `elmo_xml = "slow:<ms>"` sleeps first.
#[derive(Clone, Default)]
pub struct EchoSigner {
    pub calls_started: Arc<AtomicUsize>,
}

#[tonic::async_trait]
impl Signer for EchoSigner {
    async fn sign(&self, request: Request<SignRequest>) -> Result<Response<SignResponse>, Status> {
        self.calls_started.fetch_add(1, Ordering::SeqCst);
        let identity = peer_identity(&request);
        let body = request.into_inner().elmo_xml;
        if let Some(ms) = std::str::from_utf8(&body)
            .ok()
            .and_then(|s| s.strip_prefix("slow:"))
            .and_then(|ms| ms.parse::<u64>().ok())
        {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        Ok(Response::new(SignResponse {
            signed_xml: body,
            certificate_sha256: identity
                .as_ref()
                .map(|i| i.sha256_fingerprint.clone())
                .unwrap_or_default(),
            signature_algorithm: identity
                .as_ref()
                .and_then(|i| i.common_name.clone())
                .unwrap_or_default(),
            canonicalization: identity.map(|i| i.dns_names.join(",")).unwrap_or_default(),
        }))
    }

    async fn get_certificates(
        &self,
        _request: Request<GetCertificatesRequest>,
    ) -> Result<Response<GetCertificatesResponse>, Status> {
        Ok(Response::new(GetCertificatesResponse::default()))
    }

    // The runtime tests exercise transport and authentication through `sign`; the JWS calls are
    // the Signer's (services/signer/tests/signer_jws.rs).
    async fn sign_jws(
        &self,
        _request: Request<emrex_proto::signer::v1::SignJwsRequest>,
    ) -> Result<Response<emrex_proto::signer::v1::SignJwsResponse>, Status> {
        Err(Status::unimplemented("the echo signer signs no JWS"))
    }

    async fn get_jwks(
        &self,
        _request: Request<emrex_proto::signer::v1::GetJwksRequest>,
    ) -> Result<Response<emrex_proto::signer::v1::GetJwksResponse>, Status> {
        Ok(Response::new(Default::default()))
    }
}

/// The status line and headers of a minimal HTTP/1.1 GET.
pub async fn http_get_head(addr: SocketAddr, path: &str) -> String {
    let fut = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect admin");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let text = String::from_utf8_lossy(&raw).to_string();
        text.split_once("\r\n\r\n")
            .map_or(text.clone(), |(h, _)| h.to_string())
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("admin request timed out")
}

/// A minimal HTTP/1.1 GET: (status, content-type, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String, String) {
    let fut = async {
        let mut stream = TcpStream::connect(addr).await.expect("connect admin");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.expect("read");
        let text = String::from_utf8_lossy(&raw).to_string();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let content_type = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-type")
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        (status, content_type, body.to_string())
    };
    tokio::time::timeout(DEADLINE, fut)
        .await
        .expect("admin request timed out")
}

/// Connects with raw rustls and returns the leaf certificate the server presented.
pub async fn server_leaf_der(
    addr: SocketAddr,
    client: &ClientTlsConfig,
) -> Result<Vec<u8>, String> {
    let config = emrex_runtime::tls::client_config(client, &TlsOptions::default())
        .map_err(|e| e.to_string())?;
    let connector = tokio_rustls::TlsConnector::from(config);
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls_pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let tls = tokio::time::timeout(DEADLINE, connector.connect(name, tcp))
        .await
        .map_err(|_| "handshake timed out".to_string())?
        .map_err(|e| e.to_string())?;
    let leaf = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("no server certificate")?;
    Ok(leaf.to_vec())
}
