//! The alliance federation for real, on a real node (`k8s-control-plane.sh start --with-node`):
//! the Helm chart installs the operator (a Pod of the `localhost/emrex` image built by
//! `scripts/image.sh`, loaded into the node's containerd), `examples/alliance/` is applied with
//! test Secrets, and every resource reaches `Ready` from real Pod readiness — the EMREG, three NCPs
//! and their Signers, the SMP. Then one whole exchange in Chromium: the SIS starts it over the
//! SMP's SIS API (mTLS), the student goes SMP → NCP (Poland, in its Pod) → logs in at a real
//! OpenID provider (npm `oidc-provider`, behind the ingress) → consents → the NCP has the Signer
//! (in its own Pod, over the operator's mTLS) sign → back to the SMP, which verifies against the
//! certificate the alliance's EMREG (in its Pod) lists — checked here against the EMREG's list and
//! the SigningCertificate's status. Then a second exchange, and the NCP Pod is deleted while the
//! student is on its consent page: what the student sees is recorded (screenshots in
//! tests/output/node_federation_*).
//!
//! The ingress is Debian's nginx on the node's address, port 443, with a certificate from a test
//! CA for the example's host names (which Chromium maps to the node and trusts through an NSS
//! database; Pods resolve them through the cluster DNS); it forwards to the Services' ClusterIPs
//! (kube-proxy) and to the OpenID providers on loopback. The volumes the example claims are
//! `local` PersistentVolumes on the node, made here (a test cluster has no provisioner).
//!
//! Needs root, the node and the image: ignored in the default run; `scripts/test.sh --node`
//! runs it (docs/testing.md, "A real node").

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use emrex_proto::ncp::v1::results_provider_server::{ResultsProvider, ResultsProviderServer};
use emrex_proto::ncp::v1::{GetResultsRequest, GetResultsResponse};
use emrex_proto::smp::v1::smp_client::SmpClient;
use emrex_proto::smp::v1::{GetExchangeRequest, OutcomeKind, Person, StartExchangeRequest, Status};
use emrex_runtime::config::{ClientTlsConfig, GrpcClientConfig};
use emrex_tests::browser::{Browser, RunOptions, handoff_release, handoff_wait};
use emrex_tests::k8s::ControlPlane;
use emrex_tests::oidc::{OpAccount, OpClient, OpConfig, OpenIdProvider};
use emrex_tests::podman::{podman_ok, require_image};
use emrex_tests::tools::{require_python_module, require_tool};
use emrex_tests::{output_dir, workspace_dir};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{Value, json};

/// How long the federation may take to become Ready (image start, certificates, publication).
const SETTLE: Duration = Duration::from_secs(420);

/// The student of the Polish NCP: the learner of the ELMO v1.7 example document (a fixture),
/// whose file the Directory source finds under the `local` identifier, the ID token's `sub`.
const STUDENT_SUB: &str = "s0001";
const STUDENT_GIVEN: &str = "Wojciech Łukasz";
const STUDENT_FAMILY: &str = "Rygielski";
const STUDENT_BIRTH: &str = "1983-04-12";

// ------------------------------------------------------------------------------------------------
// kubectl and the cluster

struct Cluster {
    cp: &'static ControlPlane,
    ns: String,
}

impl Cluster {
    fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let mut child = Command::new(require_tool("kubectl"))
            .arg("--kubeconfig")
            .arg(&self.cp.kubeconfig)
            .args(["-n", &self.ns])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("kubectl: {e}"))?;
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            pipe.write_all(text.as_bytes())
                .map_err(|e| format!("kubectl stdin: {e}"))?;
        }
        drop(pipe);
        let out = child
            .wait_with_output()
            .map_err(|e| format!("kubectl: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "kubectl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        self.kubectl(args, None).unwrap_or_else(|e| panic!("{e}"))
    }

    fn apply(&self, objects: &Value) {
        let list = json!({"apiVersion": "v1", "kind": "List", "items": objects});
        self.kubectl(&["apply", "-f", "-"], Some(&list.to_string()))
            .unwrap_or_else(|e| panic!("{e}"));
    }

    fn get(&self, what: &str) -> Value {
        serde_json::from_str(&self.ok(&["get", what, "-o", "json"])).expect("kubectl -o json")
    }

    fn items(&self, resource: &str) -> Vec<Value> {
        self.get(resource)["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn cluster_ip(&self, service: &str) -> String {
        self.get(&format!("service/{service}"))["spec"]["clusterIP"]
            .as_str()
            .unwrap_or_else(|| panic!("service {service} has no clusterIP"))
            .to_string()
    }

    /// Conditions and Pod states, for failure messages.
    fn summary(&self) -> String {
        let mut out = String::new();
        for r in [
            "registries.emrex.eu",
            "registryentries.emrex.eu",
            "nationalcontactpoints.emrex.eu",
            "studentmobilityplugins.emrex.eu",
            "signingcertificates.emrex.eu",
        ] {
            for o in self.items(r) {
                out.push_str(&format!(
                    "{r}/{}: {}\n",
                    o["metadata"]["name"], o["status"]["conditions"]
                ));
            }
        }
        out.push_str(
            &self
                .kubectl(&["get", "pods,pvc", "-o", "wide"], None)
                .unwrap_or_default(),
        );
        out.push_str(
            &self
                .kubectl(&["get", "events", "--sort-by=.lastTimestamp"], None)
                .unwrap_or_default()
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n"),
        );
        // The last words of every container that is not ready (and of its previous run, when it
        // restarted): what a person would read next with `kubectl logs`.
        for pod in self.items("pods") {
            let name = pod["metadata"]["name"].as_str().unwrap_or_default();
            let statuses = pod["status"]["containerStatuses"].as_array();
            for c in statuses.into_iter().flatten() {
                if c["ready"].as_bool() == Some(true) {
                    continue;
                }
                let container = c["name"].as_str().unwrap_or_default();
                out.push_str(&format!(
                    "\n--- {name}/{container} (restarts {}, state {}):\n",
                    c["restartCount"], c["state"]
                ));
                for previous in ["false", "true"] {
                    let logs = self
                        .kubectl(
                            &[
                                "logs",
                                name,
                                "-c",
                                container,
                                "--tail=30",
                                &format!("--previous={previous}"),
                            ],
                            None,
                        )
                        .unwrap_or_else(|e| e);
                    out.push_str(&format!("[previous={previous}]\n{logs}\n"));
                }
            }
        }
        out
    }

    /// Polls `check` (which says what is missing) until it passes or `limit` runs out.
    fn settle(&self, what: &str, limit: Duration, mut check: impl FnMut() -> Result<(), String>) {
        let deadline = Instant::now() + limit;
        loop {
            match check() {
                Ok(()) => return,
                Err(e) if Instant::now() >= deadline => {
                    panic!("{what}: not within {limit:?}: {e}\n{}", self.summary())
                }
                Err(_) => std::thread::sleep(Duration::from_secs(2)),
            }
        }
    }
}

fn condition<'a>(obj: &'a Value, type_: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

// ------------------------------------------------------------------------------------------------
// certificates

struct Ca {
    cert_pem: String,
    key_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl Ca {
    fn new(cn: &str) -> Self {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, cn);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let cert = params.self_signed(&key).expect("CA");
        Self {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            issuer: Issuer::new(params, key),
        }
    }

    /// (certificate PEM, key PEM)
    fn leaf(&self, cn: &str, sans: &[String], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(sans.to_vec()).expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer).expect("leaf");
        (cert.pem(), key.serialize_pem())
    }
}

fn b64(text: &str) -> String {
    emrex_tests::base64_encode(text.as_bytes())
}

/// The DER of a PEM certificate, base64 without line breaks (as in `ds:X509Certificate`).
fn pem_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<String>()
}

// ------------------------------------------------------------------------------------------------
// the ingress

/// Debian's nginx as the cluster's ingress, on the node's address, port 443.
struct Ingress {
    child: Child,
    log_dir: PathBuf,
}

impl Ingress {
    /// `routes`: host name → (path prefix to strip or "", upstream `http://…`, or `grpc://…` for
    /// a gRPC service whose clients must present a certificate from `client_ca`).
    fn start(
        dir: &Path,
        listen: &str,
        cert: &Path,
        key: &Path,
        client_ca: &Path,
        routes: &[(String, Vec<(String, String)>)],
    ) -> Self {
        let tmp = dir.join("nginx");
        for sub in ["body", "proxy", "fastcgi", "uwsgi", "scgi"] {
            std::fs::create_dir_all(tmp.join(sub)).expect("nginx dirs");
        }
        let mut servers = String::new();
        for (host, locations) in routes {
            let mut locs = String::new();
            for (prefix, upstream) in locations {
                if upstream.starts_with("grpc://") {
                    locs.push_str(&format!(
                        "    ssl_verify_client on;\n    ssl_client_certificate {};\n    location / {{ grpc_pass {upstream}; }}\n",
                        client_ca.display()
                    ));
                } else if prefix.is_empty() {
                    locs.push_str(&format!("    location / {{ proxy_pass {upstream}; }}\n"));
                } else {
                    locs.push_str(&format!(
                        "    location {prefix}/ {{ proxy_pass {upstream}/; }}\n"
                    ));
                }
            }
            servers.push_str(&format!(
                "  server {{\n    listen {listen}:443 ssl http2;\n    server_name {host};\n{locs}  }}\n"
            ));
        }
        let t = tmp.display();
        let conf = format!(
            "daemon off;\nmaster_process on;\nworker_processes 1;\nuser root root;\npid {t}/nginx.pid;\n\
             error_log {t}/error.log info;\nevents {{ worker_connections 256; }}\nhttp {{\n\
             access_log {t}/access.log;\nclient_body_temp_path {t}/body;\nproxy_temp_path {t}/proxy;\n\
             fastcgi_temp_path {t}/fastcgi;\nuwsgi_temp_path {t}/uwsgi;\nscgi_temp_path {t}/scgi;\n\
             ssl_certificate {cert};\nssl_certificate_key {key};\n\
             proxy_set_header Host $host;\nproxy_set_header X-Forwarded-Proto https;\n\
             proxy_set_header X-Forwarded-For $remote_addr;\nproxy_http_version 1.1;\n\
             proxy_connect_timeout 5s;\n{servers}}}\n",
            cert = cert.display(),
            key = key.display(),
        );
        let conf_file = tmp.join("nginx.conf");
        std::fs::write(&conf_file, conf).expect("nginx.conf");
        let check = Command::new(require_tool("nginx"))
            .arg("-t")
            .arg("-c")
            .arg(&conf_file)
            .output()
            .expect("nginx -t");
        assert!(
            check.status.success(),
            "nginx -t: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let child = Command::new(require_tool("nginx"))
            .arg("-c")
            .arg(&conf_file)
            .stdin(Stdio::null())
            .spawn()
            .expect("nginx");
        let ingress = Self {
            child,
            log_dir: tmp,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect((listen, 443)).is_err() {
            assert!(
                Instant::now() < deadline,
                "nginx does not listen on {listen}:443; {}",
                ingress.errors()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        ingress
    }

    fn errors(&self) -> String {
        std::fs::read_to_string(self.log_dir.join("error.log")).unwrap_or_default()
    }
}

impl Drop for Ingress {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-QUIT", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------------
// the example

/// `examples/alliance/*.yaml` as objects, read with Helm's YAML reader (`render.py`).
fn alliance_example() -> Vec<Value> {
    let dir = workspace_dir().join("examples/alliance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/alliance")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut objects = Vec::new();
    for f in files {
        let out = Command::new("python3")
            .arg(workspace_dir().join("tests/chart/render.py"))
            .arg("--yaml-to-json")
            .arg(&f)
            .output()
            .expect("render.py");
        assert!(
            out.status.success(),
            "render.py --yaml-to-json {}: {}",
            f.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let docs: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON list");
        objects.extend(docs);
    }
    objects
}

/// (host, path) of an `https://host[:port]/path` URL.
fn split_url(url: &str) -> (String, String) {
    let rest = url
        .strip_prefix("https://")
        .unwrap_or_else(|| panic!("not an https URL: {url}"));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = authority.split(':').next().unwrap_or(authority).to_string();
    let path = if path.is_empty() {
        String::new()
    } else {
        format!("/{}", path.trim_end_matches('/'))
    };
    (host, path)
}

fn host_of(url: &str) -> String {
    split_url(url).0
}

fn openssl(args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(require_tool("openssl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl");
    let mut pipe = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        pipe.write_all(text.as_bytes()).expect("openssl stdin");
    }
    drop(pipe);
    let out = child.wait_with_output().expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A fresh client secret.
fn random_hex() -> String {
    openssl(&["rand", "-hex", "24"], None)
}

/// SHA-256 of a PEM certificate's DER, lower-case hex (the SigningCertificate status' format).
fn fingerprint(pem: &str) -> String {
    let line = openssl(&["x509", "-noout", "-fingerprint", "-sha256"], Some(pem));
    line.rsplit('=')
        .next()
        .unwrap_or_default()
        .replace(':', "")
        .to_ascii_lowercase()
}

// ------------------------------------------------------------------------------------------------
// an institution's ResultsProvider

/// Knows the test student (the same ELMO document as Poland's file); nobody else.
struct Institution;

#[tonic::async_trait]
impl ResultsProvider for Institution {
    async fn get_results(
        &self,
        request: tonic::Request<GetResultsRequest>,
    ) -> Result<tonic::Response<GetResultsResponse>, tonic::Status> {
        let r = request.into_inner();
        if r.identifiers
            .iter()
            .any(|i| i.r#type == "local" && i.value == STUDENT_SUB)
        {
            let xml = std::fs::read(emrex_tests::fixture(
                "xml/elmo-schemas-examples/example-v1.7.0.xml",
            ))
            .map_err(|e| tonic::Status::internal(e.to_string()))?;
            Ok(tonic::Response::new(GetResultsResponse { elmo_xml: xml }))
        } else {
            Err(tonic::Status::not_found("unknown student"))
        }
    }
}

/// Serves [`Institution`] on loopback (plain HTTP/2; the ingress terminates mutual TLS).
async fn start_results_provider() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(ResultsProviderServer::new(Institution))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
            .await;
    });
    addr
}

// ------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs root, the machine's one node and the image: run by scripts/test.sh --node (docs/testing.md)"]
async fn the_alliance_runs_in_pods_and_an_exchange_goes_through_them() {
    let image = require_image();
    require_python_module("helm_python");
    require_tool("nginx");
    require_tool("certutil");
    emrex_tests::browser::ensure_node_modules();
    let cp = ControlPlane::with_node();
    let node_ip = cp.node_address().expect(
        "a node started by k8s-control-plane.sh (KUBECONFIG clusters are not supported here)",
    );
    let dir = tempfile::tempdir().expect("tmp");
    let c = Cluster {
        cp,
        ns: format!("alliance-{}", std::process::id()),
    };
    let out = output_dir("node_federation");

    // 1. The image, into the node's containerd (no registry).
    let archive = dir.path().join("emrex-image.tar");
    podman_ok(&[
        "save",
        "--format",
        "docker-archive",
        "-o",
        archive.to_str().expect("utf-8"),
        &image,
    ]);
    cp.load_image(&archive);
    let (repository, tag) = image.rsplit_once(':').expect("name:tag");

    // 2. The namespace and the operator, installed by Helm from the chart, namespace-scoped.
    cp.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": c.ns}}),
    )
    .expect("namespace");
    // On a reused node cluster an earlier run's release owns the CRDs (kept on uninstall): they
    // go first, with whatever was left of them, so that this release installs its own. Left
    // RegistryEntries keep their finalizer with no operator to release it (docs/deploy.md, the
    // escape): released here, or the CRD deletion would wait for ever.
    let global = |args: &[&str]| {
        Command::new(require_tool("kubectl"))
            .arg("--kubeconfig")
            .arg(&cp.kubeconfig)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let left = global(&[
        "get",
        "registryentries.emrex.eu",
        "-A",
        "-o",
        "jsonpath={range .items[*]}{.metadata.namespace} {.metadata.name}{\"\\n\"}{end}",
    ]);
    for line in left.lines() {
        if let Some((ns, name)) = line.split_once(' ') {
            global(&[
                "-n",
                ns,
                "patch",
                "registryentries.emrex.eu",
                name,
                "--type",
                "merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ]);
        }
    }
    global(&[
        "delete",
        "crd",
        "-l",
        "app.kubernetes.io/part-of=emrex",
        "--timeout=120s",
    ]);
    let values = json!({
        "image": {"repository": repository, "tag": tag},
        "rbac": {"scope": "namespace"},
    });
    let helm = Command::new("python3")
        .arg(workspace_dir().join("tests/chart/render.py"))
        .args(["--helm", "install", "--kubeconfig"])
        .arg(&cp.kubeconfig)
        .args(["--name", "emrex", "--namespace", &c.ns])
        .args(["--set-json", &values.to_string()])
        .output()
        .expect("render.py --helm install");
    assert!(
        helm.status.success(),
        "helm install: {}",
        String::from_utf8_lossy(&helm.stderr)
    );
    c.settle("the operator's Pods Ready", SETTLE, || {
        let d = c.get("deployment/emrex");
        let (want, ready) = (
            d["spec"]["replicas"].as_i64().unwrap_or(-1),
            d["status"]["readyReplicas"].as_i64().unwrap_or(0),
        );
        if want > 0 && ready == want {
            Ok(())
        } else {
            Err(format!("{ready}/{want} ready"))
        }
    });

    // 3. Test Secrets: the alliance CA (issues Italy's signing certificate), the OpenID client
    //    secrets (each also registered at its provider), the ingress CA the NCPs trust for their
    //    providers, and the SMP's SIS API server certificate with the CA of the SIS's client.
    let example = alliance_example();
    let ingress_ca = Ca::new("Example Alliance ingress test CA (TEST ONLY)");
    let alliance_ca = Ca::new("Example Alliance EMREX CA (TEST ONLY)");
    let sis_ca = Ca::new("Example Alliance SIS test CA (TEST ONLY)");
    let smp_obj = example
        .iter()
        .find(|o| o["kind"] == "StudentMobilityPlugin")
        .expect("the example has an SMP");
    let smp_name = smp_obj["metadata"]["name"]
        .as_str()
        .expect("name")
        .to_string();
    let sis_secret = smp_obj["spec"]["sisClientCaSecret"]
        .as_str()
        .expect("the example's SMP takes SIS clients with mTLS (sisClientCaSecret)")
        .to_string();
    let smp_dns = format!("{smp_name}.{}.svc", c.ns);
    let (smp_grpc_cert, smp_grpc_key) = sis_ca.leaf(
        &smp_dns,
        &[smp_dns.clone(), format!("{smp_dns}.cluster.local")],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let (sis_cert, sis_key) = sis_ca.leaf(
        "Example SIS (TEST ONLY)",
        &["sis.alliance.example".to_string()],
        ExtendedKeyUsagePurpose::ClientAuth,
    );
    let mut secrets = vec![
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
               "metadata": {"name": "alliance-ca", "labels": {"emrex.eu/test-only": "true"}},
               "data": {"tls.crt": b64(&alliance_ca.cert_pem), "tls.key": b64(&alliance_ca.key_pem)}}),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "alliance-idp-ca", "labels": {"emrex.eu/test-only": "true"}},
               "data": {"ca.crt": b64(&ingress_ca.cert_pem)}}),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": sis_secret, "labels": {"emrex.eu/test-only": "true"}},
               "data": {"ca.crt": b64(&sis_ca.cert_pem), "tls.crt": b64(&smp_grpc_cert), "tls.key": b64(&smp_grpc_key)}}),
    ];
    let mut providers = Vec::new();
    let mut routes: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut ncps = Vec::new();
    let mut results_tls = BTreeMap::new();
    for ncp in example
        .iter()
        .filter(|o| o["kind"] == "NationalContactPoint")
    {
        let login = &ncp["spec"]["login"];
        let issuer = login["issuer"].as_str().expect("issuer").to_string();
        let client_id = login["clientId"].as_str().expect("clientId").to_string();
        let secret_name = login["clientSecret"]["name"].as_str().expect("secret");
        let secret_key = login["clientSecret"]["key"].as_str().expect("key");
        let client_secret = random_hex();
        secrets.push(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": secret_name, "labels": {"emrex.eu/test-only": "true"}},
            "data": {secret_key: b64(&client_secret)}}));
        let public_url = ncp["spec"]["publicUrl"]
            .as_str()
            .expect("publicUrl")
            .to_string();
        let op = OpenIdProvider::start(&OpConfig {
            clients: vec![OpClient {
                client_id,
                client_secret,
                redirect_uris: vec![format!("{public_url}/login/callback")],
            }],
            accounts: vec![OpAccount::new(
                STUDENT_SUB,
                json!({"given_name": STUDENT_GIVEN, "family_name": STUDENT_FAMILY, "birthdate": STUDENT_BIRTH}),
            )],
            issuer: Some(issuer.clone()),
            ..OpConfig::default()
        });
        // The issuer's path (Poland's `/realms/students`) is stripped on the way to the provider.
        let path = split_url(&issuer).1;
        let mut locations = vec![(String::new(), op.listen.clone())];
        if !path.is_empty() {
            locations.insert(0, (path, op.listen.clone()));
        }
        routes.insert(host_of(&issuer), locations);
        providers.push(op);
        // A gRPC results source: the institution's ResultsProvider behind the ingress, which
        // requires the NCP's client certificate (the NCP's `tlsSecret`).
        if ncp["spec"]["source"]["kind"] == "Grpc" {
            let endpoint = ncp["spec"]["source"]["endpoint"]
                .as_str()
                .expect("endpoint");
            let addr = start_results_provider().await;
            routes.insert(
                host_of(endpoint),
                vec![(String::new(), format!("grpc://{addr}"))],
            );
            let name = ncp["metadata"]["name"].as_str().expect("name");
            let (cert, key) = ingress_ca.leaf(
                &format!("{name} results client (TEST ONLY)"),
                &[format!("{name}.alliance.example")],
                ExtendedKeyUsagePurpose::ClientAuth,
            );
            secrets.push(json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": format!("{name}-results-tls"), "labels": {"emrex.eu/test-only": "true"}},
                "data": {"ca.crt": b64(&ingress_ca.cert_pem), "tls.crt": b64(&cert), "tls.key": b64(&key)}}));
            results_tls.insert(name.to_string(), format!("{name}-results-tls"));
        }
        ncps.push(ncp.clone());
    }
    c.apply(&json!(secrets));

    // 4. The example, as it is, with each NCP trusting the ingress CA for its OpenID provider, and
    //    mutual TLS to the results providers (their certificates are not from a public CA).
    let mut objects = example.clone();
    for o in &mut objects {
        if o["kind"] == "NationalContactPoint" {
            o["spec"]["login"]["caSecret"] = json!("alliance-idp-ca");
            if let Some(secret) = o["metadata"]["name"]
                .as_str()
                .and_then(|n| results_tls.get(n))
            {
                o["spec"]["source"]["tlsSecret"] = json!(secret);
            }
        }
    }
    c.apply(&json!(objects));

    // 5. Volumes for every claim (the example's results volume and the operator's SQLite ones):
    //    `local` PersistentVolumes on the node; Poland's holds the student's ELMO file.
    let results_claim = example
        .iter()
        .filter_map(|o| o["spec"]["source"]["claimName"].as_str())
        .next()
        .expect("a Directory source")
        .to_string();
    let wanted_claims = 3;
    c.settle("the PersistentVolumeClaims", SETTLE, || {
        let n = c.items("pvc").len();
        if n >= wanted_claims {
            Ok(())
        } else {
            Err(format!("{n} claims"))
        }
    });
    let mut volumes = Vec::new();
    for claim in c.items("pvc") {
        let name = claim["metadata"]["name"]
            .as_str()
            .expect("name")
            .to_string();
        let path = dir.path().join("volumes").join(&name);
        std::fs::create_dir_all(&path).expect("volume dir");
        if name == results_claim {
            std::fs::copy(
                emrex_tests::fixture("xml/elmo-schemas-examples/example-v1.7.0.xml"),
                path.join(format!("{STUDENT_SUB}.xml")),
            )
            .expect("ELMO file");
        }
        volumes.push(json!({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": format!("{}-{name}", c.ns), "labels": {"emrex.eu/test-only": "true"}},
            "spec": {
                "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
                "accessModes": claim["spec"]["accessModes"],
                "persistentVolumeReclaimPolicy": "Retain",
                "local": {"path": path},
                "claimRef": {"namespace": c.ns, "name": name},
                "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "kubernetes.io/hostname", "operator": "In", "values": ["emrex-node"]}]}]}},
            },
        }));
    }
    c.apply(&json!(volumes));

    // 6. The ingress: the example's host names → the node (for Pods: the cluster DNS; for the
    //    browser: its resolver rules), TLS from the ingress CA, Services by ClusterIP.
    let smp_public = smp_obj["spec"]["publicUrl"]
        .as_str()
        .expect("publicUrl")
        .to_string();
    c.settle("the Services", SETTLE, || {
        let have: Vec<String> = c
            .items("services")
            .iter()
            .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        let missing: Vec<String> = ncps
            .iter()
            .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
            .chain([smp_name.clone()])
            .filter(|n| !have.contains(n))
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(format!("missing {missing:?}"))
        }
    });
    routes.insert(
        host_of(&smp_public),
        vec![(
            String::new(),
            format!("http://{}:80", c.cluster_ip(&smp_name)),
        )],
    );
    for ncp in &ncps {
        let name = ncp["metadata"]["name"].as_str().expect("name");
        let public = ncp["spec"]["publicUrl"].as_str().expect("publicUrl");
        routes.insert(
            host_of(public),
            vec![(String::new(), format!("http://{}:80", c.cluster_ip(name)))],
        );
    }
    let hosts: Vec<String> = routes.keys().cloned().collect();
    let (ingress_cert, ingress_key) = ingress_ca.leaf(
        "alliance.example ingress (TEST ONLY)",
        &hosts,
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let write = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).expect("write");
        p
    };
    let cert_file = write("ingress.crt", &ingress_cert);
    let key_file = write("ingress.key", &ingress_key);
    let ca_file = write("ingress-ca.crt", &ingress_ca.cert_pem);
    let ingress = Ingress::start(
        dir.path(),
        &node_ip,
        &cert_file,
        &key_file,
        &ca_file,
        &routes.clone().into_iter().collect::<Vec<_>>(),
    );
    let state = cp.state_dir.as_ref().expect("node state");
    let mut extra = std::fs::read_to_string(state.join("dns/extra.hosts")).unwrap_or_default();
    for h in &hosts {
        extra.push_str(&format!("{node_ip} {h}\n"));
    }
    std::fs::write(state.join("dns/extra.hosts"), extra).expect("extra.hosts");

    // 7. Everything Ready, from real Pod readiness.
    c.settle("every resource Ready", SETTLE, || {
        let mut not_ready = Vec::new();
        let mut count = 0;
        for r in [
            "registries.emrex.eu",
            "registryentries.emrex.eu",
            "nationalcontactpoints.emrex.eu",
            "studentmobilityplugins.emrex.eu",
            "signingcertificates.emrex.eu",
        ] {
            for o in c.items(r) {
                count += 1;
                if condition(&o, "Ready").is_none_or(|c| c["status"] != "True") {
                    not_ready.push(format!("{r}/{}", o["metadata"]["name"]));
                }
            }
        }
        if count < 11 {
            return Err(format!("only {count} resources"));
        }
        if not_ready.is_empty() {
            Ok(())
        } else {
            Err(format!("not Ready: {not_ready:?}"))
        }
    });
    let pods = c.items("pods");
    for p in &pods {
        let name = p["metadata"]["name"].as_str().unwrap_or_default();
        assert_eq!(p["status"]["phase"], "Running", "{name}: {}", p["status"]);
        assert!(
            condition(p, "Ready").is_some_and(|c| c["status"] == "True"),
            "{name}: {}",
            p["status"]
        );
        // The kubelet ran them as the image's user, read-only.
        assert_eq!(p["spec"]["securityContext"]["runAsUser"], 65532, "{name}");
    }
    eprintln!(
        "{} Pods Running and Ready:\n{}",
        pods.len(),
        c.ok(&["get", "pods", "-o", "wide"])
    );

    // 8. The SIS starts an exchange over the SMP's SIS API (mTLS, by ClusterIP, name-checked).
    let sis_ca_file = write("sis-ca.crt", &sis_ca.cert_pem);
    let sis_cert_file = write("sis.crt", &sis_cert);
    let sis_key_file = write("sis.key", &sis_key);
    let channel = emrex_runtime::grpc::channel(
        &GrpcClientConfig {
            endpoint: format!("https://{}:50051", c.cluster_ip(&smp_name)),
            tls: Some(ClientTlsConfig {
                ca_file: sis_ca_file,
                cert_file: Some(sis_cert_file),
                key_file: Some(sis_key_file),
                server_name: Some(smp_dns.clone()),
            }),
            ..GrpcClientConfig::default()
        },
        &emrex_runtime::tls::TlsOptions::default(),
    )
    .expect("SIS channel");
    let mut sis = SmpClient::new(channel).max_decoding_message_size(64 << 20);
    let pl = ncps
        .iter()
        .find(|n| n["spec"]["source"]["kind"] == "Directory")
        .expect("the Polish NCP");
    let pl_acronym = pl["spec"]["acronym"].as_str().expect("acronym").to_string();
    let person = Person {
        given_names: STUDENT_GIVEN.into(),
        family_name: STUDENT_FAMILY.into(),
        birth_date: STUDENT_BIRTH.into(),
    };
    let start = |reference: &str| StartExchangeRequest {
        person: Some(person.clone()),
        ncp_acronym: pl_acronym.clone(),
        sis_reference: reference.into(),
    };
    let first = sis
        .start_exchange(start("application-1"))
        .await
        .expect("StartExchange")
        .into_inner();
    assert!(
        first.redirect_url.starts_with(&smp_public),
        "{}",
        first.redirect_url
    );

    // 9. The student, in Chromium.
    let browser = RunOptions {
        hosts: hosts.iter().map(|h| (h.clone(), node_ip.clone())).collect(),
        ca_file: Some(ca_file.clone()),
        run_timeout: Duration::from_secs(600),
        step_timeout: Duration::from_secs(30),
    };
    let pl_host = host_of(pl["spec"]["publicUrl"].as_str().expect("publicUrl"));
    let idp_host = host_of(pl["spec"]["login"]["issuer"].as_str().expect("issuer"));
    // OpenID Connect is the NCP's only login: the hand-over goes straight on to the provider
    // (through the NCP's redirects, which the SMP's form-action must allow).
    let login_steps = |url: &str| {
        vec![
            json!({"goto": url}),
            json!({"waitForUrl": format!("https://{idp_host}/")}),
            json!({"waitFor": "input[name=login]"}),
            json!({"fill": "input[name=login]", "value": STUDENT_SUB}),
            json!({"fill": "input[name=password]", "value": "any"}),
            json!({"click": "button[type=submit]"}),
            json!({"waitForUrl": format!("https://{pl_host}/x/")}),
            json!({"waitFor": "#consent"}),
            json!({"expectText": STUDENT_FAMILY}),
            json!({"check": "#c-r0-0"}),
            json!({"check": "#consent"}),
        ]
    };
    let mut steps = login_steps(&first.redirect_url);
    steps.extend([
        json!({"screenshot": "1-consent.png"}),
        json!({"click": "#send"}),
        json!({"waitForUrl": host_of(&smp_public)}),
        json!({"expectText": "Your results have arrived"}),
        json!({"screenshot": "2-verified.png"}),
        json!({"text": "#courses"}),
    ]);
    let (o1, b1) = (out.clone(), browser.clone());
    let outcome =
        tokio::task::spawn_blocking(move || Browser::run_with_options(&json!(steps), &o1, &b1))
            .await
            .expect("browser");
    if !outcome.ok {
        panic!(
            "{outcome:?}\ningress errors: {}\n{}",
            ingress.errors(),
            c.summary()
        );
    }
    outcome.assert_no_csp_violations();

    // 10. What the SMP recorded, against what the EMREG lists and the SigningCertificate says.
    let ex = sis
        .get_exchange(GetExchangeRequest {
            session_id: first.session_id.clone(),
        })
        .await
        .expect("GetExchange")
        .into_inner();
    assert_eq!(ex.outcome, OutcomeKind::Verified as i32, "{}", ex.detail);
    assert_eq!(ex.ncp_acronym, pl_acronym);
    assert_eq!(ex.sis_reference, "application-1");
    assert!(!ex.reports.is_empty() && ex.reports.iter().any(|r| !r.courses.is_empty()));
    assert!(ex.transcript_pdf.starts_with(b"%PDF"));
    let xml = String::from_utf8(ex.signed_xml.clone()).expect("UTF-8 XML");
    let signer_cert: String = xml
        .split("X509Certificate>")
        .nth(1)
        .expect("a certificate in the signature")
        .trim_end_matches("</ds:")
        .trim_end_matches('<')
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let emreg_service = c
        .items("services")
        .into_iter()
        .find(|s| s["metadata"]["labels"]["app.kubernetes.io/component"] == "emreg")
        .expect("the EMREG Service");
    let emreg_ip = emreg_service["spec"]["clusterIP"]
        .as_str()
        .expect("ip")
        .to_string();
    let list = Command::new("curl")
        .args(["-sf", "--max-time", "10"])
        .arg(format!("http://{emreg_ip}/ncp-list.json"))
        .output()
        .expect("curl");
    let list: Value = serde_json::from_slice(&list.stdout).expect("ncp-list.json");
    let listed = list["ncps"]
        .as_array()
        .expect("ncps")
        .iter()
        .find(|n| n["acronym"] == pl_acronym.as_str())
        .unwrap_or_else(|| panic!("EMREG does not list {pl_acronym}: {list}"));
    assert_eq!(
        pem_body(listed["pubKey"].as_str().expect("pubKey")),
        signer_cert,
        "the document was signed with the certificate EMREG lists for {pl_acronym}"
    );
    assert_eq!(
        list["ncps"].as_array().map(Vec::len),
        Some(3),
        "EMREG lists the three NCPs: {list}"
    );
    let signing_ref = pl["spec"]["signingCertificateRef"].as_str().expect("ref");
    let status_fingerprint =
        c.get(&format!("signingcertificates.emrex.eu/{signing_ref}"))["status"]["fingerprint"]
            .as_str()
            .expect("fingerprint")
            .to_string();
    assert_eq!(
        fingerprint(listed["pubKey"].as_str().expect("pubKey")),
        status_fingerprint,
        "the SigningCertificate's status names that certificate"
    );

    // 11. A second exchange; the NCP Pod is deleted while the student is on its consent page.
    let second = sis
        .start_exchange(start("application-2"))
        .await
        .expect("StartExchange")
        .into_inner();
    let mut steps = login_steps(&second.redirect_url);
    steps.extend([
        json!({"screenshot": "3-consent-before-the-pod-goes.png"}),
        json!({"handoff": "pod-deleted", "timeoutMs": 300000}),
        json!({"click": "#send"}),
        json!({"screenshot": "4-after-the-pod-went.png"}),
        json!({"url": true}),
        json!({"text": "body"}),
    ]);
    let (o2, b2) = (out.clone(), browser.clone());
    let run =
        tokio::task::spawn_blocking(move || Browser::run_with_options(&json!(steps), &o2, &b2));
    let at = handoff_wait(&out, "pod-deleted", Duration::from_secs(180));
    assert!(at.contains(&pl_host), "{at}");
    let pl_name = pl["metadata"]["name"].as_str().expect("name");
    let before: Vec<String> = c
        .items("pods")
        .iter()
        .filter(|p| {
            p["metadata"]["labels"]["app.kubernetes.io/component"] == "ncp"
                && p["metadata"]["labels"]["app.kubernetes.io/instance"] == pl_name
        })
        .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(before.len(), 1, "one Pod of {pl_name}'s NCP: {before:?}");
    c.ok(&["delete", "pod", &before[0], "--wait=true"]);
    c.settle("a new NCP Pod Ready", SETTLE, || {
        let ready: Vec<String> = c
            .items("pods")
            .iter()
            .filter(|p| {
                p["metadata"]["labels"]["app.kubernetes.io/component"] == "ncp"
                    && p["metadata"]["labels"]["app.kubernetes.io/instance"] == pl_name
                    && condition(p, "Ready").is_some_and(|c| c["status"] == "True")
            })
            .filter_map(|p| p["metadata"]["name"].as_str().map(str::to_string))
            .collect();
        match ready.as_slice() {
            [one] if *one != before[0] => Ok(()),
            other => Err(format!("ready: {other:?}")),
        }
    });
    handoff_release(&out, "pod-deleted", "the NCP Pod was replaced");
    let outcome = run.await.expect("browser");
    if !outcome.ok {
        panic!("{outcome:?}\ningress errors: {}", ingress.errors());
    }
    let page = outcome
        .results
        .iter()
        .rev()
        .find(|r| r["kind"] == "text")
        .and_then(|r| r["value"].as_str())
        .unwrap_or_default()
        .to_string();
    eprintln!("after the NCP Pod was replaced, the student sees:\n{page}");
    assert!(
        page.contains("This transfer has expired or does not exist. Please start again from the service that sent you here."),
        "{page}"
    );
    let ex2 = sis
        .get_exchange(GetExchangeRequest {
            session_id: second.session_id.clone(),
        })
        .await
        .expect("GetExchange")
        .into_inner();
    assert_eq!(
        ex2.status,
        Status::Pending as i32,
        "nothing came back: {ex2:?}"
    );

    // Tear down in the order that leaves nothing behind: the federation while the operator still
    // runs (it releases the RegistryEntries' finalizers), then the namespace.
    drop(ingress);
    drop(providers);
    c.ok(&[
        "delete",
        "nationalcontactpoints.emrex.eu,studentmobilityplugins.emrex.eu,registries.emrex.eu,signingcertificates.emrex.eu",
        "--all",
        "--timeout=120s",
    ]);
    let _ = cp.delete(&format!("/api/v1/namespaces/{}", c.ns));
}
