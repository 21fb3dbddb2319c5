//! Support for tests that run `emrex operator` against the real control plane: a client, a
//! fresh namespace per test, the operator and an external EMREG as processes, waiting for
//! conditions, and making Pods "run" the way a kubelet reports it (there is no kubelet).

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use emrex_proto::registry::v1::Entry;
use emrex_proto::registry::v1::registry_client::RegistryClient;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::{Namespace, Pod, Secret};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

/// A client for the shared control plane, with our CRDs applied.
pub async fn client() -> (Client, PathBuf) {
    let cp = emrex_tests::k8s::ControlPlane::shared();
    let kubeconfig = Kubeconfig::read_from(&cp.kubeconfig).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    let client = Client::try_from(config).expect("client");
    emrex_operator::run::apply_crds(&client)
        .await
        .expect("CRDs applied");
    // Established takes a moment after create.
    tokio::time::sleep(Duration::from_millis(500)).await;
    (client, cp.kubeconfig.clone())
}

/// A namespace of our own (`{prefix}-{pid}-{n}`), so tests sharing the API server never meet.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    );
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).expect("ns");
    api.create(&PostParams::default(), &ns)
        .await
        .expect("create namespace");
    name
}

/// Server-side applies a manifest (JSON) in `ns` as the test's field manager.
pub async fn apply<K>(client: &Client, ns: &str, obj: Value) -> K
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let name = obj["metadata"]["name"].as_str().expect("name").to_string();
    api.patch(
        &name,
        &PatchParams::apply("emrex-test").force(),
        &Patch::Apply(&obj),
    )
    .await
    .unwrap_or_else(|e| panic!("apply {name}: {e}"))
}

/// Waits until `pred` holds for the object (or panics with the last state after `secs`).
pub async fn wait_for<K>(
    client: &Client,
    ns: &str,
    name: &str,
    secs: u64,
    what: &str,
    pred: impl Fn(&K) -> bool,
) -> K
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = None;
    loop {
        if let Ok(Some(o)) = api.get_opt(name).await {
            if pred(&o) {
                return o;
            }
            last = Some(o);
        }
        assert!(
            Instant::now() < deadline,
            "{name}: timed out waiting for {what}; last seen: {last:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits until the object is gone.
pub async fn wait_gone<K>(client: &Client, ns: &str, name: &str, secs: u64)
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + Duration::from_secs(secs);
    while api.get_opt(name).await.expect("get").is_some() {
        assert!(
            Instant::now() < deadline,
            "{} {name} was not deleted",
            K::kind(&())
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// `(status, reason)` of a condition in an object's `.status.conditions` (as JSON).
pub fn condition<K: serde::Serialize>(obj: &K, type_: &str) -> Option<(String, String, String)> {
    let v = serde_json::to_value(obj).ok()?;
    v["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
                c["message"].as_str().unwrap_or_default().to_string(),
            )
        })
}

/// Whether condition `type_` has status `status`.
pub fn is<K: serde::Serialize>(obj: &K, type_: &str, status: &str) -> bool {
    condition(obj, type_).is_some_and(|(s, _, _)| s == status)
}

/// Reports every Pod of `ns` matching `selector` as Running and Ready, as a kubelet would; the
/// real ReplicaSet and Deployment controllers then count them available.
pub async fn run_pods(client: &Client, ns: &str, selector: &str) -> usize {
    let api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pods = api
        .list(&ListParams::default().labels(selector))
        .await
        .expect("pods");
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    for p in &pods.items {
        let patch = json!({"status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}],
        }});
        api.patch_status(
            &p.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .expect("patch pod status");
    }
    pods.items.len()
}

/// Events about the object called `name` in `ns`: `(type, reason, note)`.
pub async fn events(client: &Client, ns: &str, name: &str) -> Vec<(String, String, String)> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), ns);
    api.list(&ListParams::default())
        .await
        .expect("events")
        .items
        .into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .map(|e| {
            (
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.note.unwrap_or_default(),
            )
        })
        .collect()
}

/// Deletes a namespace and waits until it is gone, so the operator (still running: call this
/// before dropping it) can release the RegistryEntry finalizers. A namespace left Terminating
/// would be a wedged deletion.
pub async fn delete_namespace(client: &Client, ns: &str) {
    delete_namespace_within(client, ns, 120).await;
}

/// [`delete_namespace`] with a longer wait (thousands of objects).
pub async fn delete_namespace_within(client: &Client, ns: &str, secs: u64) {
    let api: Api<Namespace> = Api::all(client.clone());
    let _ = api.delete(ns, &DeleteParams::default()).await;
    let deadline = Instant::now() + Duration::from_secs(secs);
    while api.get_opt(ns).await.ok().flatten().is_some() {
        assert!(
            Instant::now() < deadline,
            "namespace {ns} was not deleted within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// `emrex operator` as a process, watching one namespace.
pub struct Operator {
    child: Child,
    pub admin: SocketAddr,
}

impl Operator {
    pub fn start(kubeconfig: &Path, ns: &str, identity: &str) -> Self {
        Self::start_with(kubeconfig, ns, identity, &[])
    }

    /// [`Operator::start`] with more flags.
    pub fn start_with(kubeconfig: &Path, ns: &str, identity: &str, extra: &[&str]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_emrex"))
            .args([
                "operator",
                "--namespace",
                ns,
                "--admin-listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .args([
                "--lease-namespace",
                ns,
                "--image",
                "registry.test.invalid/emrex:test",
            ])
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", identity)
            .env("RUST_LOG", "info,kube_client::client::tls=error")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn emrex operator");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let admin = loop {
            let line = lines
                .next()
                .expect("operator exited before printing its admin address")
                .expect("read");
            if let Some(a) = line.strip_prefix("emrex-operator-admin ") {
                break a.trim().parse().expect("address");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Self { child, admin }
    }

    /// GET on the admin server: `(status, body)`.
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(self.admin).expect("connect admin");
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .expect("write");
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        let status = body
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, body)
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no Lease release, no cleanup (a crash).
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for a clean exit; returns whether it exited 0.
    pub fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Test-only PKI for the external EMREG: a CA, the server certificate (127.0.0.1), and the
/// operator's client certificate.
pub struct EmregPki {
    pub ca_pem: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

pub fn emreg_pki() -> EmregPki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, PKCS_ECDSA_P256_SHA256,
    };
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
    let mut ca = CertificateParams::default();
    ca.distinguished_name
        .push(DnType::CommonName, "test-only EMREG CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).expect("ca");
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |sans: Vec<String>| {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = CertificateParams::new(sans)
            .expect("params")
            .signed_by(&key, &issuer)
            .expect("sign");
        (cert.pem(), key.serialize_pem())
    };
    let (server_cert, server_key) = leaf(vec!["127.0.0.1".into(), "localhost".into()]);
    let (client_cert, client_key) = leaf(vec!["emrex-operator.test".into()]);
    EmregPki {
        ca_pem: ca_cert.pem(),
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

/// `emrex emreg` as a process with TLS (RegistryAdmin only for client certificates of the CA).
pub struct Emreg {
    child: Child,
    pub grpc: u16,
    pub pki: EmregPki,
    dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

impl Emreg {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let pki = emreg_pki();
        for (f, c) in [
            ("ca.crt", &pki.ca_pem),
            ("tls.crt", &pki.server_cert),
            ("tls.key", &pki.server_key),
        ] {
            std::fs::write(dir.path().join(f), c).expect("write");
        }
        let (grpc, http, admin) = (free_port(), free_port(), free_port());
        let d = dir.path().display();
        let config = format!(
            "[grpc]\nlisten = \"127.0.0.1:{grpc}\"\n[grpc.tls]\ncert_file = \"{d}/tls.crt\"\nkey_file = \"{d}/tls.key\"\nclient_ca_file = \"{d}/ca.crt\"\nrequire_client_cert = false\n[http]\nlisten = \"127.0.0.1:{http}\"\n[admin]\nlisten = \"127.0.0.1:{admin}\"\n[store]\nurl = \"sqlite:{d}/emreg.db\"\n[shutdown]\ndrain_delay = \"100ms\"\n"
        );
        std::fs::write(dir.path().join("emreg.toml"), config).expect("config");
        let child = Command::new(env!("CARGO_BIN_EXE_emrex"))
            .args(["emreg", "--config"])
            .arg(dir.path().join("emreg.toml"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn emrex emreg");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", grpc)).is_err() {
            assert!(Instant::now() < deadline, "emrex emreg did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            child,
            grpc,
            pki,
            dir,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("https://127.0.0.1:{}", self.grpc)
    }

    /// The Secret the Registry's `external.tlsSecret` names.
    pub async fn create_client_secret(&self, client: &Client, ns: &str, name: &str) {
        apply::<Secret>(
            client,
            ns,
            json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name},
                "stringData": {
                    "ca.crt": self.pki.ca_pem,
                    "tls.crt": self.pki.client_cert,
                    "tls.key": self.pki.client_key,
                },
            }),
        )
        .await;
    }

    /// The entry under `acronym` as the EMREG serves it to any TLS client (no client cert).
    pub async fn get(&self, acronym: &str) -> Option<Entry> {
        let channel = runtime_channel(&self.endpoint(), &self.dir.path().join("ca.crt"));
        let mut c = RegistryClient::new(channel);
        match c
            .get(emrex_proto::registry::v1::GetRequest {
                acronym: acronym.into(),
            })
            .await
        {
            Ok(r) => Some(r.into_inner()),
            Err(s) if s.code() == tonic::Code::NotFound => None,
            Err(s) => panic!("EMREG Get {acronym}: {s}"),
        }
    }

    /// Number of entries the EMREG lists.
    pub async fn list_len(&self) -> usize {
        let channel = runtime_channel(&self.endpoint(), &self.dir.path().join("ca.crt"));
        RegistryClient::new(channel)
            .list(emrex_proto::registry::v1::ListRequest::default())
            .await
            .map(|r| r.into_inner().entries.len())
            .unwrap_or(0)
    }

    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Emreg {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A channel trusting the CA in `ca_file`, through the runtime's client (rustls on aws-lc-rs).
fn runtime_channel(endpoint: &str, ca_file: &Path) -> tonic::transport::Channel {
    let config: emrex_runtime::config::GrpcClientConfig = serde_json::from_value(json!({
        "endpoint": endpoint,
        "tls": {"ca_file": ca_file},
    }))
    .expect("client config");
    emrex_runtime::grpc::channel(&config, &emrex_runtime::tls::TlsOptions::default())
        .expect("channel")
}

/// SHA-256 fingerprints of PEM certificates (lower-case hex).
pub fn fingerprints(pems: &[String]) -> Vec<String> {
    pems.iter()
        .map(|p| {
            emrex_operator::pki::cert_info(p)
                .expect("certificate")
                .fingerprint
        })
        .collect()
}

/// One Secret entry as text.
pub async fn secret_entry(client: &Client, ns: &str, name: &str, key: &str) -> Option<String> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let s = api.get_opt(name).await.ok()??;
    let v = s.data?.get(key)?.0.clone();
    String::from_utf8(v).ok()
}
