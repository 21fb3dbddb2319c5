//! `emrex operator`, started outside the cluster against the local API server (the shared control
//! plane of `emrex_tests::k8s`), reconciles the alliance example (`examples/alliance`).
//!
//! The operator runs as the ServiceAccount of the Helm chart, with exactly the RBAC the chart
//! grants in namespace scope with `operator.applyCrds` (rendered by `tests/chart/render.py`, the
//! Helm engine), so a rule the operator needs and the chart lacks fails here. It holds its Lease
//! (leader election on, as in the chart) and applies the CRDs itself (`--apply-crds`).
//!
//! Pods never run on this control plane (no kubelet), so `Available` stays False everywhere and
//! the in-cluster EMREG the example's Registry asks for never answers: first every resource must
//! reach `Reconciled` with the RegistryEntries waiting for that EMREG. Then the Registry is
//! pointed at a real `emrex emreg` process on loopback (`external`, mutual TLS with certificates
//! made here), and every RegistryEntry and NationalContactPoint must reach `Published`, with the
//! EMREG listing the three NCPs with the certificates the operator issued; deleting an NCP removes
//! its entry from the EMREG (the RegistryEntry finalizer).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use emrex_tests::k8s::ControlPlane;
use emrex_tests::tools::{DEFAULT_TIMEOUT, require_python_module, require_tool, run};
use emrex_tests::{output_dir, workspace_dir};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde_json::{Value, json};

/// How long the operator may take to bring the example to each state.
const SETTLE: Duration = Duration::from_secs(180);

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn http_get(addr: &str, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some((body.split_whitespace().nth(1)?.parse().ok()?, body))
}

// ------------------------------------------------------------------------------------------------
// kubectl

fn kubectl_with(kubeconfig: &Path, args: &[&str]) -> Result<String, String> {
    let out = run(
        Command::new(require_tool("kubectl"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args),
        DEFAULT_TIMEOUT,
    );
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("kubectl {args:?}: {}", out.stderr_text()))
    }
}

fn kubectl(args: &[&str]) -> Result<String, String> {
    kubectl_with(&ControlPlane::shared().kubeconfig, args)
}

fn kubectl_ok(args: &[&str]) -> String {
    kubectl(args).unwrap_or_else(|e| panic!("{e}"))
}

/// Every object of `resource` in `ns`.
fn list(resource: &str, ns: &str) -> Vec<Value> {
    let out = kubectl_ok(&["get", resource, "-n", ns, "-o", "json"]);
    let v: Value = serde_json::from_str(&out).expect("kubectl -o json");
    v["items"].as_array().cloned().unwrap_or_default()
}

/// `(status, reason)` of the condition `type_`, if present.
fn condition(obj: &Value, type_: &str) -> Option<(String, String)> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default().to_string(),
                c["reason"].as_str().unwrap_or_default().to_string(),
            )
        })
}

fn is(obj: &Value, type_: &str, status: &str) -> bool {
    condition(obj, type_).is_some_and(|(s, _)| s == status)
}

fn name(obj: &Value) -> String {
    obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// What each resource of the example reports (for failure messages).
fn summary(ns: &str) -> String {
    let mut out = String::new();
    for r in [
        "registries.emrex.eu",
        "registryentries.emrex.eu",
        "nationalcontactpoints.emrex.eu",
        "studentmobilityplugins.emrex.eu",
        "signingcertificates.emrex.eu",
    ] {
        for o in list(r, ns) {
            out.push_str(&format!(
                "{r}/{}: {}\n",
                name(&o),
                o["status"]["conditions"]
            ));
        }
    }
    out
}

/// Polls `check` (which explains what is missing) until it passes or `SETTLE` runs out.
fn settle(
    what: &str,
    ns: &str,
    operator: &mut Operator,
    mut check: impl FnMut() -> Result<(), String>,
) {
    let deadline = Instant::now() + SETTLE;
    loop {
        match check() {
            Ok(()) => return,
            Err(e) if Instant::now() >= deadline => panic!(
                "{what}: not reached within {SETTLE:?}: {e}\n{}\noperator log: {}",
                summary(ns),
                operator.log.display()
            ),
            Err(_) => {
                operator.assert_running();
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// processes

/// A child process stopped (SIGTERM, then SIGKILL) when dropped.
struct Proc {
    child: Child,
    what: &'static str,
}

impl Proc {
    fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.what);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Operator {
    proc: Proc,
    admin: String,
    log: PathBuf,
}

impl Operator {
    /// `emrex operator` as the chart's ServiceAccount, for namespace `ns`.
    fn start(kubeconfig: &Path, ns: &str, log: PathBuf) -> Self {
        let log_file = std::fs::File::create(&log).expect("operator log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_emrex"))
            .args(["operator", "--namespace", ns])
            .args(["--leader-election", "true", "--lease-name", "emrex"])
            .args(["--lease-namespace", ns, "--admin-listen", "127.0.0.1:0"])
            .args(["--apply-crds", "--log-format", "plain"])
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", "operator-examples-test")
            .env("POD_NAMESPACE", ns)
            .env("RUST_LOG", "info,emrex_operator=debug")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .expect("start emrex operator");
        let stdout = child.stdout.take().expect("stdout");
        let mut proc = Proc {
            child,
            what: "emrex operator",
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("emrex-operator-admin ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let admin = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(a) => a,
            Err(_) => {
                proc.stop();
                panic!(
                    "emrex operator printed no admin address; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        Self { proc, admin, log }
    }

    fn assert_running(&mut self) {
        if let Ok(Some(status)) = self.proc.child.try_wait() {
            panic!(
                "emrex operator exited ({status}); log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
    }
}

/// A CA with its issuer, for the EMREG's server and the operator's client certificate.
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
    fn leaf(&self, cn: &str, sans: &[&str], usage: ExtendedKeyUsagePurpose) -> (String, String) {
        let key = KeyPair::generate().expect("key");
        let mut params =
            CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .expect("params");
        params.distinguished_name.push(DnType::CommonName, cn);
        params.extended_key_usages = vec![usage];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        let cert = params.signed_by(&key, &self.issuer).expect("leaf");
        (cert.pem(), key.serialize_pem())
    }
}

/// `emrex emreg` on loopback with mutual TLS on gRPC; returns the process, the gRPC endpoint and
/// the HTTP address of the EMREX 1.x lists.
fn start_emreg(dir: &Path, ca: &Ca) -> (Proc, String, String) {
    let (cert, key) = ca.leaf(
        "emreg.test",
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let write = |name: &str, body: &str| {
        let p = dir.join(name);
        std::fs::write(&p, body).expect("write");
        p
    };
    let cert_file = write("emreg.crt", &cert);
    let key_file = write("emreg.key", &key);
    let ca_file = write("clients-ca.crt", &ca.cert_pem);
    let (grpc, http, admin) = (free_port(), free_port(), free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(["emreg", "--grpc-listen", &format!("127.0.0.1:{grpc}")])
        .args(["--http-listen", &format!("127.0.0.1:{http}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args([
            "--store",
            &format!("sqlite:{}", dir.join("emreg.db").display()),
        ])
        .env("EMREX_EMREG_GRPC__TLS__CERT_FILE", &cert_file)
        .env("EMREX_EMREG_GRPC__TLS__KEY_FILE", &key_file)
        .env("EMREX_EMREG_GRPC__TLS__CLIENT_CA_FILE", &ca_file)
        .env("EMREX_EMREG_SHUTDOWN__DRAIN_DELAY", "100ms")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start emrex emreg");
    let proc = Proc {
        child,
        what: "emrex emreg",
    };
    let admin = format!("127.0.0.1:{admin}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http_get(&admin, "/ready"), Some((200, _))) {
        assert!(
            Instant::now() < deadline,
            "emrex emreg did not become ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (
        proc,
        format!("https://127.0.0.1:{grpc}"),
        format!("127.0.0.1:{http}"),
    )
}

// ------------------------------------------------------------------------------------------------
// setup

/// The chart's namespace-scoped RBAC (with --apply-crds) for namespace `ns`, applied; returns a
/// kubeconfig that authenticates as its ServiceAccount and the cluster-scoped objects to delete.
fn chart_identity(ns: &str, dir: &Path) -> (PathBuf, Vec<(String, String)>) {
    let python = require_tool("python3");
    require_python_module("helm_python");
    let out = run(
        Command::new(python)
            .arg(workspace_dir().join("tests/chart/render.py"))
            .args(["--combination", "namespace-scope", "--namespace", ns])
            .args([
                "--set-json",
                r#"{"crds":{"enabled":false},"operator":{"applyCrds":true}}"#,
            ]),
        DEFAULT_TIMEOUT,
    );
    assert!(out.status.success(), "render.py: {}", out.stderr_text());
    let rendered: Value = serde_json::from_slice(&out.stdout).expect("render.py JSON");
    let rbac: Vec<Value> = rendered["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["object"].clone())
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some(
                    "ServiceAccount"
                        | "Role"
                        | "RoleBinding"
                        | "ClusterRole"
                        | "ClusterRoleBinding"
                )
            )
        })
        .collect();
    let cluster_scoped = rbac
        .iter()
        .filter(|o| o["metadata"]["namespace"].is_null())
        .map(|o| {
            (
                o["kind"].as_str().unwrap_or_default().to_lowercase(),
                name(o),
            )
        })
        .collect();
    let file = dir.join("rbac.json");
    std::fs::write(
        &file,
        json!({"apiVersion": "v1", "kind": "List", "items": rbac}).to_string(),
    )
    .expect("write");
    kubectl_ok(&["apply", "-f", file.to_str().expect("path")]);

    // A token of that ServiceAccount (TokenRequest), in a copy of the admin kubeconfig.
    let token = service_account_token(ns, "emrex");
    let mut config: Value = serde_json::from_str(&kubectl_ok(&[
        "config", "view", "--raw", "--minify", "-o", "json",
    ]))
    .expect("kubeconfig JSON");
    config["users"][0]["user"] = json!({"token": token});
    config["contexts"][0]["context"]["namespace"] = json!(ns);
    let kubeconfig = dir.join("operator.kubeconfig");
    std::fs::write(&kubeconfig, config.to_string()).expect("write kubeconfig");
    (kubeconfig, cluster_scoped)
}

/// A bearer token of ServiceAccount `sa`: TokenRequest (`kubectl create token`, kubectl ≥ 1.24),
/// else the token Secret that API servers before 1.24 create for every ServiceAccount.
fn service_account_token(ns: &str, sa: &str) -> String {
    if let Ok(token) = kubectl(&["create", "token", sa, "-n", ns, "--duration", "2h"]) {
        return token.trim().to_string();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let secret = kubectl_ok(&[
            "get",
            "serviceaccount",
            sa,
            "-n",
            ns,
            "-o",
            "jsonpath={.secrets[0].name}",
        ]);
        if let Some(token) = (!secret.trim().is_empty())
            .then(|| secret_value(ns, secret.trim(), "token"))
            .flatten()
        {
            return token;
        }
        assert!(
            Instant::now() < deadline,
            "no token for ServiceAccount {sa}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn openssl_text(pem: &str) -> String {
    let f = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(f.path(), pem).expect("write");
    let out = run(
        Command::new(require_tool("openssl"))
            .args(["x509", "-noout", "-text", "-in"])
            .arg(f.path()),
        DEFAULT_TIMEOUT,
    );
    assert!(out.status.success(), "{}", out.stderr_text());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn secret_value(ns: &str, secret: &str, key: &str) -> Option<String> {
    let out = kubectl(&["get", "secret", secret, "-n", ns, "-o", "json"]).ok()?;
    let v: Value = serde_json::from_str(&out).ok()?;
    let b64 = v["data"][key].as_str()?;
    Some(String::from_utf8(base64_decode(b64)).expect("PEM is UTF-8"))
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes().filter(|c| *c != b'=' && !c.is_ascii_whitespace()) {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .expect("base64 character") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

// ------------------------------------------------------------------------------------------------
// the test

#[test]
fn the_operator_reconciles_and_publishes_the_alliance_example() {
    let ns = unique("operator-alliance");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = output_dir("operator_examples");
    kubectl_ok(&["create", "namespace", &ns]);
    let (kubeconfig, cluster_scoped) = chart_identity(&ns, dir.path());
    let mut operator = Operator::start(&kubeconfig, &ns, out.join("operator.log"));

    // Ready (leading, controllers running), metrics served; the CRDs it applied are established.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !matches!(http_get(&operator.admin, "/ready"), Some((200, _))) {
        operator.assert_running();
        assert!(Instant::now() < deadline, "the operator never became ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    for crd in [
        "registries.emrex.eu",
        "registryentries.emrex.eu",
        "nationalcontactpoints.emrex.eu",
        "studentmobilityplugins.emrex.eu",
        "signingcertificates.emrex.eu",
    ] {
        kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{crd}"),
        ]);
    }
    let lease: Value = serde_json::from_str(&kubectl_ok(&[
        "get",
        "lease.coordination.k8s.io",
        "emrex",
        "-n",
        &ns,
        "-o",
        "json",
    ]))
    .expect("lease");
    assert_eq!(lease["spec"]["holderIdentity"], "operator-examples-test");

    // The example, with the alliance CA Secret made here (never committed).
    let alliance_ca = Ca::new("Example Alliance EMREX CA");
    std::fs::write(dir.path().join("ca.crt"), &alliance_ca.cert_pem).expect("write");
    std::fs::write(dir.path().join("ca.key"), &alliance_ca.key_pem).expect("write");
    kubectl_ok(&[
        "-n",
        &ns,
        "create",
        "secret",
        "tls",
        "alliance-ca",
        "--cert",
        dir.path().join("ca.crt").to_str().expect("path"),
        "--key",
        dir.path().join("ca.key").to_str().expect("path"),
    ]);
    let examples = workspace_dir().join("examples/alliance");
    kubectl_ok(&[
        "apply",
        "-n",
        &ns,
        "-f",
        examples.to_str().expect("path"),
        "-f",
        examples.join("test-secrets").to_str().expect("path"),
    ]);

    // Phase 1: everything Reconciled; nothing Available (no Pods run here); the RegistryEntries
    // wait for the in-cluster EMREG, which never becomes available here.
    let started = Instant::now();
    settle("Reconciled", &ns, &mut operator, || {
        for r in [
            "signingcertificates.emrex.eu",
            "registries.emrex.eu",
            "nationalcontactpoints.emrex.eu",
            "studentmobilityplugins.emrex.eu",
        ] {
            let objs = list(r, &ns);
            if objs.is_empty() {
                return Err(format!("no {r}"));
            }
            for o in &objs {
                if !is(o, "Reconciled", "True") {
                    return Err(format!("{r}/{} not Reconciled", name(o)));
                }
            }
        }
        let entries = list("registryentries.emrex.eu", &ns);
        if entries.len() != 3 {
            return Err(format!("{} RegistryEntries", entries.len()));
        }
        for e in &entries {
            match condition(e, "Published") {
                Some((s, reason)) if s == "False" && reason == "RegistryUnavailable" => {}
                other => return Err(format!("entry {}: Published {other:?}", name(e))),
            }
        }
        Ok(())
    });
    eprintln!("Reconciled after {:?}", started.elapsed());
    for r in [
        "registries.emrex.eu",
        "nationalcontactpoints.emrex.eu",
        "studentmobilityplugins.emrex.eu",
    ] {
        for o in list(r, &ns) {
            assert!(
                !is(&o, "Available", "True"),
                "{r}/{}: Available without Pods",
                name(&o)
            );
            assert!(
                !is(&o, "Ready", "True"),
                "{r}/{}: Ready without Pods",
                name(&o)
            );
        }
    }
    // The services it runs: the EMREG, three NCPs, three Signers, the SMP.
    let deployments = list("deployments.apps", &ns);
    assert!(
        deployments.len() >= 8,
        "{} Deployments: {:?}",
        deployments.len(),
        deployments.iter().map(name).collect::<Vec<_>>()
    );
    // The three certificates as the example asks: ECDSA P-256, RSA 3072, issued by the CA.
    let certs = list("signingcertificates.emrex.eu", &ns);
    for c in &certs {
        let secret = c["spec"]["secretName"].as_str().expect("secretName");
        let pem = secret_value(&ns, secret, "tls.crt")
            .unwrap_or_else(|| panic!("{secret} has no tls.crt"));
        assert!(secret_value(&ns, secret, "tls.key").is_some());
        assert!(c["status"]["fingerprint"].is_string(), "{}", c["status"]);
        let text = openssl_text(&pem);
        match name(c).as_str() {
            "ncp-fi-signing" => assert!(
                text.contains("prime256v1") || text.contains("P-256"),
                "{text}"
            ),
            "ncp-pl-signing" => assert!(text.contains("(3072 bit)"), "{text}"),
            "ncp-it-signing" => assert!(
                text.contains("Issuer: CN = Example Alliance EMREX CA")
                    || text.contains("Issuer: CN=Example Alliance EMREX CA"),
                "{text}"
            ),
            other => panic!("unexpected SigningCertificate {other}"),
        }
    }

    // Phase 2: the Registry now names a real EMREG (external, mutual TLS).
    let emreg_ca = Ca::new("Test EMREG CA");
    let (mut emreg, endpoint, emreg_http) = start_emreg(dir.path(), &emreg_ca);
    let (client_cert, client_key) =
        emreg_ca.leaf("emrex-operator", &[], ExtendedKeyUsagePurpose::ClientAuth);
    for (file, body) in [
        ("client-ca.crt", &emreg_ca.cert_pem),
        ("client.crt", &client_cert),
        ("client.key", &client_key),
    ] {
        std::fs::write(dir.path().join(file), body).expect("write");
    }
    kubectl_ok(&[
        "-n",
        &ns,
        "create",
        "secret",
        "generic",
        "external-emreg-client-tls",
        &format!(
            "--from-file=ca.crt={}",
            dir.path().join("client-ca.crt").display()
        ),
        &format!(
            "--from-file=tls.crt={}",
            dir.path().join("client.crt").display()
        ),
        &format!(
            "--from-file=tls.key={}",
            dir.path().join("client.key").display()
        ),
    ]);
    kubectl_ok(&[
        "-n",
        &ns,
        "patch",
        "registry.emrex.eu",
        "alliance",
        "--type",
        "merge",
        "-p",
        &json!({"spec": {"external": {"grpcEndpoint": endpoint, "tlsSecret": "external-emreg-client-tls"}}})
            .to_string(),
    ]);
    let started = Instant::now();
    settle("Published", &ns, &mut operator, || {
        let entries = list("registryentries.emrex.eu", &ns);
        if entries.len() != 3 {
            return Err(format!("{} RegistryEntries", entries.len()));
        }
        for e in &entries {
            if !(is(e, "Reconciled", "True") && is(e, "Published", "True")) {
                return Err(format!("entry {} not Published", name(e)));
            }
        }
        // NationalContactPoints report their entry's publication; SigningCertificates have no
        // Published condition (the entries listing them do).
        for n in list("nationalcontactpoints.emrex.eu", &ns) {
            if !(is(&n, "Reconciled", "True") && is(&n, "Published", "True")) {
                return Err(format!("NCP {} not Published", name(&n)));
            }
        }
        for c in list("signingcertificates.emrex.eu", &ns) {
            if !is(&c, "Reconciled", "True") {
                return Err(format!("certificate {} not Reconciled", name(&c)));
            }
        }
        let reg = list("registries.emrex.eu", &ns);
        if !reg.iter().all(|r| is(r, "Reconciled", "True")) {
            return Err("Registry not Reconciled".into());
        }
        Ok(())
    });
    eprintln!("Published after {:?}", started.elapsed());
    // Each entry lists exactly its NCP's current certificate; the EMREG serves them.
    let certs = list("signingcertificates.emrex.eu", &ns);
    for e in list("registryentries.emrex.eu", &ns) {
        let fps: Vec<String> = e["status"]["publishedFingerprints"]
            .as_array()
            .expect("publishedFingerprints")
            .iter()
            .map(|f| f.as_str().expect("string").to_string())
            .collect();
        let cert_ref = e["spec"]["certificates"][0]["signingCertificateRef"]
            .as_str()
            .expect("signingCertificateRef");
        let cert = certs
            .iter()
            .find(|c| name(c) == cert_ref)
            .expect("the entry's SigningCertificate");
        assert_eq!(
            fps,
            vec![
                cert["status"]["fingerprint"]
                    .as_str()
                    .expect("fingerprint")
                    .to_string()
            ],
            "entry {}",
            name(&e)
        );
    }
    let (status, body) = http_get(&emreg_http, "/ncp-list.json").expect("EMREG JSON list");
    assert_eq!(status, 200, "{body}");
    for acronym in ["FI-ALLIANCE", "PL-ALLIANCE", "IT-ALLIANCE"] {
        assert!(body.contains(acronym), "{acronym} not listed: {body}");
    }

    // Deleting an NCP removes its entry from the EMREG before the RegistryEntry goes.
    kubectl_ok(&[
        "delete",
        "nationalcontactpoint.emrex.eu",
        "ncp-it",
        "-n",
        &ns,
        "--wait=false",
    ]);
    let started = Instant::now();
    settle("IT entry removed", &ns, &mut operator, || {
        let (_, body) = http_get(&emreg_http, "/ncp-list.json").ok_or("EMREG down")?;
        if body.contains("IT-ALLIANCE") {
            return Err("IT-ALLIANCE still listed".into());
        }
        if list("registryentries.emrex.eu", &ns).len() != 2 {
            return Err("the IT RegistryEntry is still there".into());
        }
        Ok(())
    });

    eprintln!("IT entry removed after {:?}", started.elapsed());
    // Clean up while the operator still runs: it removes the remaining entries from the EMREG
    // and releases their finalizers, so the namespace can go.
    let _ = kubectl(&["delete", "namespace", &ns, "--wait=false"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline
        && kubectl(&["get", "registryentries.emrex.eu", "-n", &ns, "-o", "name"])
            .is_ok_and(|out| !out.trim().is_empty())
    {
        std::thread::sleep(Duration::from_millis(500));
    }
    operator.proc.stop();
    emreg.stop();
    for (kind, n) in cluster_scoped {
        let _ = kubectl(&["delete", &kind, &n, "--ignore-not-found"]);
    }
}
