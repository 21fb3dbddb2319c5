//! An NCP with a real Signer (both in-process on loopback), and a small HTTP "browser" that
//! keeps cookies and reads forms, for the HTTP-level flow tests.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use emrex_ncp::NcpServiceConfig;
use emrex_ncp::metrics::NcpMetrics;
use emrex_proto::signer::v1::signer_server::SignerServer;
use emrex_signer::{KeyFiles, KeyStore, SignerConfig, SignerMetrics, SignerService};
use emrex_xmldsig::PinnedCert;

/// A running NCP and its Signer.
pub struct TestNcp {
    pub base: String,
    pub cert: PinnedCert,
    pub cert_path: PathBuf,
    pub dir: tempfile::TempDir,
    pub registry: Arc<std::sync::Mutex<prometheus_client::registry::Registry>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for TestNcp {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts a Signer on loopback with a fresh key; returns its address, certificate and the task.
pub async fn start_signer(
    dir: &std::path::Path,
) -> (SocketAddr, PinnedCert, PathBuf, tokio::task::JoinHandle<()>) {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)
        .or_else(|_| rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256))
        .expect("keygen");
    start_signer_with_key(dir, key).await
}

/// [`start_signer`] with a given key (e.g. P-256, as `emrex dev` uses).
pub async fn start_signer_with_key(
    dir: &std::path::Path,
    key: rcgen::KeyPair,
) -> (SocketAddr, PinnedCert, PathBuf, tokio::task::JoinHandle<()>) {
    let mut params =
        rcgen::CertificateParams::new(vec!["ncp.test.invalid".into()]).expect("params");
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "NCP flow test (test-only key)");
    let cert = params.self_signed(&key).expect("cert");
    let kp = dir.join("signer.key");
    let cp = dir.join("signer.crt");
    std::fs::write(&kp, key.serialize_pem()).expect("key");
    std::fs::write(&cp, cert.pem()).expect("cert");
    let store = Arc::new(
        KeyStore::load(
            KeyFiles {
                key_file: kp,
                cert_file: cp.clone(),
                next_cert_file: None,
            },
            Duration::ZERO,
        )
        .expect("keys"),
    );
    let service = SignerService::new(
        store,
        SignerConfig {
            max_document_bytes: 64 * 1024 * 1024,
            ..SignerConfig::default()
        },
        SignerMetrics::default(),
    );
    // TCP_NODELAY as the runtime sets it (without it, delayed ACKs add ~40 ms per call).
    let incoming =
        tonic::transport::server::TcpIncoming::bind("127.0.0.1:0".parse().expect("addr"))
            .expect("bind")
            .with_nodelay(Some(true));
    let addr = incoming.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(SignerServer::new(service).max_decoding_message_size(64 * 1024 * 1024))
            .serve_with_incoming_shutdown(incoming, async {
                let _ = stopped.await;
            })
            .await;
    });
    // The handle callers keep: aborting it stops the Signer with its open connections (they run
    // as tasks of their own, which aborting the server task would leave answering).
    let task = tokio::spawn(async move {
        let _stop = stop;
        std::future::pending::<()>().await
    });
    (
        addr,
        PinnedCert::from_der(cert.der()).expect("pin"),
        cp,
        task,
    )
}

impl TestNcp {
    /// Stops the Signer (the first task); the NCP keeps running and finds it gone.
    pub async fn stop_signer(&mut self) {
        let signer = &self.tasks[0];
        signer.abort();
        while !signer.is_finished() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// A dev-mode NCP with the demo source and a live Signer; `tweak` edits the config.
    pub async fn start(tweak: impl FnOnce(&mut NcpServiceConfig)) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::start_on(listener, tweak).await
    }

    /// Like [`TestNcp::start`] on an already bound listener (when the URL must be known before,
    /// e.g. to register the OpenID Connect callback).
    pub async fn start_on(
        listener: tokio::net::TcpListener,
        tweak: impl FnOnce(&mut NcpServiceConfig),
    ) -> Self {
        Self::start_with(listener, None, tweak).await
    }

    /// Like [`TestNcp::start`] with the Signer holding `key` (default: RSA where rcgen can make it).
    pub async fn start_with_signer_key(
        key: rcgen::KeyPair,
        tweak: impl FnOnce(&mut NcpServiceConfig),
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        Self::start_with(listener, Some(key), tweak).await
    }

    async fn start_with(
        listener: tokio::net::TcpListener,
        key: Option<rcgen::KeyPair>,
        tweak: impl FnOnce(&mut NcpServiceConfig),
    ) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let (signer_addr, cert, cert_path, signer_task) = match key {
            Some(key) => start_signer_with_key(dir.path(), key).await,
            None => start_signer(dir.path()).await,
        };
        let addr = listener.local_addr().expect("addr");
        let mut config = NcpServiceConfig {
            dev_mode: true,
            ..Default::default()
        };
        config.http.public_url = format!("http://{addr}");
        config.signer.client.endpoint = format!("http://{signer_addr}");
        config.signer.client.timeout = Duration::from_secs(20);
        config.store.url = "sqlite::memory:".into();
        tweak(&mut config);
        let metrics = NcpMetrics::default();
        let mut registry = prometheus_client::registry::Registry::default();
        metrics.register(&mut registry);
        let ncp = Arc::new(emrex_ncp::build(&config, metrics).await.expect("build"));
        let router = emrex_ncp::router(ncp);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            base: format!("http://{addr}"),
            cert,
            cert_path,
            dir,
            registry: Arc::new(std::sync::Mutex::new(registry)),
            tasks: vec![signer_task, task],
        }
    }

    /// The Prometheus text of the NCP's metrics.
    pub fn metrics_text(&self) -> String {
        let mut out = String::new();
        let reg = self.registry.lock().expect("registry");
        prometheus_client::encoding::text::encode(&mut out, &reg).expect("encode");
        out
    }
}

/// A minimal browser: follows nothing by itself, keeps cookies, reads forms.
pub struct Agent {
    pub http: reqwest::Client,
    pub cookies: HashMap<String, String>,
    pub lang: &'static str,
}

/// A response, read.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub csp: Option<String>,
    pub headers: reqwest::header::HeaderMap,
}

impl Agent {
    pub fn new() -> Self {
        Self {
            // Plain HTTP on loopback only: no trust anchors, so no agent reads the system's
            // certificate store. Loading it per agent was ≈ 9 % of the federation bench's CPU
            // (one agent per student exchange), a cost no browser pays per exchange.
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .tls_certs_only([])
                .build()
                .expect("client"),
            cookies: HashMap::new(),
            lang: "en",
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    async fn read(&mut self, r: reqwest::Response) -> Page {
        for v in r.headers().get_all("set-cookie") {
            let s = v.to_str().expect("ascii");
            let first = s.split(';').next().unwrap_or_default();
            if let Some((k, v)) = first.split_once('=') {
                if v.is_empty() {
                    self.cookies.remove(k);
                } else {
                    self.cookies.insert(k.to_string(), v.to_string());
                }
            }
        }
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().expect("ascii").to_string());
        let csp = r
            .headers()
            .get("content-security-policy")
            .map(|v| v.to_str().expect("ascii").to_string());
        let headers = r.headers().clone();
        let body = r.text().await.expect("body");
        Page {
            status,
            location,
            body,
            csp,
            headers,
        }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let r = self
            .http
            .get(url)
            .header("cookie", self.cookie_header())
            .header("accept-language", self.lang)
            .send()
            .await
            .expect("GET");
        self.read(r).await
    }

    pub async fn post(&mut self, url: &str, fields: &[(&str, &str)]) -> Page {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        self.post_raw(url, body).await
    }

    pub async fn post_raw(&mut self, url: &str, body: String) -> Page {
        let r = self
            .http
            .post(url)
            .header("cookie", self.cookie_header())
            .header("accept-language", self.lang)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .expect("POST");
        self.read(r).await
    }
}

/// `value` of every `<input … name="{name}" value="…">` in the page, HTML-unescaped.
pub fn input_values(html: &str, name: &str) -> Vec<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(i) = rest.find(&needle) {
        let after = &rest[i + needle.len()..];
        let end = after.find('"').expect("closing quote");
        out.push(unescape(&after[..end]));
        rest = &after[end..];
    }
    out
}

/// The first value of an input, panicking with the page when absent.
pub fn input(html: &str, name: &str) -> String {
    input_values(html, name)
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no input {name} in page:\n{html}"))
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The four EMREX response fields of a return form page.
pub fn return_fields(html: &str) -> HashMap<String, String> {
    ["sessionId", "returnCode", "returnMessage", "elmo"]
        .iter()
        .map(|n| (n.to_string(), input(html, n)))
        .collect()
}

/// One NCP replica serving `config` on a fresh loopback port (its `public_url` is set to that
/// port); the task ends when aborted (a crash or a restart, as far as the store can tell).
pub async fn serve_replica(mut config: NcpServiceConfig) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    config.http.public_url = format!("http://{addr}");
    let ncp = Arc::new(
        emrex_ncp::build(&config, NcpMetrics::default())
            .await
            .expect("build"),
    );
    let router = emrex_ncp::router(ncp);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{addr}"), task)
}
