//! A real Kubernetes API server for the operator tests.
//!
//! [`ControlPlane::shared`] gives every test of a process the same cluster:
//!
//! * when `KUBECONFIG` is set, that cluster as it is (kind, k3d, a real one); the helpers below then
//!   go through `kubectl --raw`, so they need `kubectl` on `PATH`;
//! * otherwise `scripts/k8s-control-plane.sh build` (kube-apiserver and kube-controller-manager
//!   1.20.2 built from Debian's source once, cached in `$EMREX_CACHE_DIR/k8s/bin`) and `start DIR`:
//!   etcd, kube-apiserver and kube-controller-manager on loopback, token `admin-token`. `DIR` is
//!   `$EMREX_K8S_STATE_DIR` when set (`scripts/test.sh` sets it, shares that cluster between the
//!   test binaries and stops it at exit), else a fresh folder under the temp dir that the script
//!   stops by itself once this process has exited.
//!
//! There is no scheduler and no kubelet: pods stay `Pending`. Tests share the cluster, so they
//! should use unique names (or namespaces). The operator tests talk to it with the `kube` crate;
//! the helpers here are only for small checks.
//!
//! [`ControlPlane::with_node`] is the same control plane plus a real node (`start DIR
//! --with-node`: kubelet, containerd, CNI, kube-proxy, kube-scheduler, cluster DNS), for tests that
//! need Pods to run. It needs root, and there is one per machine: those tests are `#[ignore]`d in
//! the default run and run by `scripts/test.sh --node` (docs/testing.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::paths::workspace_dir;

/// The bearer token of the cluster started by `scripts/k8s-control-plane.sh` (`system:masters`).
pub const ADMIN_TOKEN: &str = "admin-token";

/// A Kubernetes API server to test against.
#[derive(Debug)]
pub struct ControlPlane {
    /// Kubeconfig file for clients (`kube::Config::from_custom_kubeconfig`, `kubectl`).
    pub kubeconfig: PathBuf,
    /// `https://127.0.0.1:PORT` for the cluster we started; `None` for a `KUBECONFIG` cluster.
    pub server: Option<String>,
    /// State and logs (`*.log`) of the cluster we started; `None` for a `KUBECONFIG` cluster.
    pub state_dir: Option<PathBuf>,
}

impl ControlPlane {
    /// The cluster with a node shared by all tests of this process (started on first use):
    /// `KUBECONFIG` as it is when set (a cluster whose nodes run Pods, images loaded by the
    /// caller), else `k8s-control-plane.sh build --with-node` and `start DIR --with-node`, with
    /// `DIR` = `$EMREX_K8S_NODE_STATE_DIR` when set, else a fresh folder under the temp dir that
    /// the script stops once this process has exited.
    ///
    /// # Panics
    /// When the node cannot be built or started (with the script's output), on every call.
    pub fn with_node() -> &'static ControlPlane {
        static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();
        match SHARED.get_or_init(|| Self::from_env_or_start_with(true)) {
            Ok(cp) => cp,
            Err(e) => panic!("no Kubernetes control plane with a node: {e}"),
        }
    }

    /// Whether this is a node cluster we started (so images must be loaded into its containerd
    /// with [`ControlPlane::load_image`]).
    pub fn started_node(&self) -> bool {
        self.state_dir
            .as_ref()
            .is_some_and(|d| d.join("node").is_file())
    }

    /// The node's address (Pods reach the host there), for a node cluster we started.
    pub fn node_address(&self) -> Option<String> {
        let dir = self.state_dir.as_ref()?;
        std::fs::read_to_string(dir.join("node"))
            .ok()
            .map(|s| s.trim().to_string())
    }

    /// Loads an image archive (`podman save`, docker-archive or OCI) into the node's containerd,
    /// where the kubelet finds it without any registry.
    ///
    /// # Panics
    /// When this is not a node cluster we started, or the import fails.
    pub fn load_image(&self, archive: &Path) {
        let dir = self
            .state_dir
            .as_ref()
            .filter(|_| self.started_node())
            .unwrap_or_else(|| panic!("load_image needs a node cluster started by the script"));
        let script = workspace_dir().join("scripts/k8s-control-plane.sh");
        script_run(
            Command::new("bash")
                .arg(&script)
                .arg("load-image")
                .arg(dir)
                .arg(archive),
        )
        .unwrap_or_else(|e| panic!("loading {}: {e}", archive.display()));
    }

    /// The cluster shared by all tests of this process (started on first use).
    ///
    /// # Panics
    /// When the control plane cannot be built or started (with the script's output), on every call.
    pub fn shared() -> &'static ControlPlane {
        static SHARED: OnceLock<Result<ControlPlane, String>> = OnceLock::new();
        match SHARED.get_or_init(Self::from_env_or_start) {
            Ok(cp) => cp,
            Err(e) => panic!("no Kubernetes control plane: {e}"),
        }
    }

    fn from_env_or_start() -> Result<ControlPlane, String> {
        Self::from_env_or_start_with(false)
    }

    fn from_env_or_start_with(node: bool) -> Result<ControlPlane, String> {
        if let Some(kc) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            return Ok(ControlPlane {
                kubeconfig: PathBuf::from(kc),
                server: None,
                state_dir: None,
            });
        }
        let script = workspace_dir().join("scripts/k8s-control-plane.sh");
        let mut build = Command::new("bash");
        build.arg(&script).arg("build");
        if node {
            build.arg("--with-node");
        }
        script_run(&mut build)?;
        let mut start = Command::new("bash");
        start.arg(&script).arg("start");
        let (state_env, prefix) = if node {
            ("EMREX_K8S_NODE_STATE_DIR", "emrex-k8s-node")
        } else {
            ("EMREX_K8S_STATE_DIR", "emrex-k8s")
        };
        let dir = match std::env::var_os(state_env).filter(|v| !v.is_empty()) {
            Some(dir) => PathBuf::from(dir),
            None => {
                start.env("EMREX_K8S_WATCH_PID", std::process::id().to_string());
                std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()))
            }
        };
        start.arg(&dir);
        if node {
            start.arg("--with-node");
        }
        let out = script_run(&mut start)?;
        let last = out.lines().last().unwrap_or_default();
        let kubeconfig = last
            .strip_prefix("export KUBECONFIG=")
            .map(PathBuf::from)
            .ok_or_else(|| format!("unexpected output of `start`: {out}"))?;
        let dir = kubeconfig.parent().unwrap_or(&dir).to_path_buf();
        let port = std::fs::read_to_string(dir.join("port"))
            .map_err(|e| format!("{}: {e}", dir.join("port").display()))?;
        Ok(ControlPlane {
            kubeconfig,
            server: Some(format!("https://127.0.0.1:{}", port.trim())),
            state_dir: Some(dir),
        })
    }

    /// `GET path` (e.g. `/version`, `/api/v1/namespaces/default/configmaps/x`) as JSON.
    ///
    /// # Panics
    /// When the request fails or the answer is not a 2xx JSON document.
    pub fn kubectl_like_get(&self, path: &str) -> Value {
        self.get(path).unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// `GET path`; `Err` holds the HTTP status and body (or kubectl's error), which include the
    /// API's `reason` (`NotFound`, …).
    pub fn get(&self, path: &str) -> Result<Value, String> {
        self.request("GET", path, None)
    }

    /// `POST path` with a JSON body (create); `Err` as for [`ControlPlane::get`].
    pub fn post(&self, path: &str, body: &Value) -> Result<Value, String> {
        self.request("POST", path, Some(body))
    }

    /// `DELETE path`; `Err` as for [`ControlPlane::get`].
    pub fn delete(&self, path: &str) -> Result<Value, String> {
        self.request("DELETE", path, None)
    }

    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let body_file = body
            .map(|b| -> Result<tempfile::NamedTempFile, String> {
                let f = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
                std::fs::write(f.path(), b.to_string()).map_err(|e| e.to_string())?;
                Ok(f)
            })
            .transpose()?;
        let body_path = body_file.as_ref().map(tempfile::NamedTempFile::path);
        match &self.server {
            Some(server) => curl(server, method, path, body_path),
            None => kubectl_raw(&self.kubeconfig, method, path, body_path),
        }
    }
}

/// Runs a `k8s-control-plane.sh` command; `Ok(stdout)` or `Err(stdout + stderr)`.
fn script_run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{cmd:?} failed ({}):\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn parse_json(text: &str) -> Result<Value, String> {
    serde_json::from_str(text).map_err(|e| format!("not JSON ({e}): {text}"))
}

fn curl(server: &str, method: &str, path: &str, body: Option<&Path>) -> Result<Value, String> {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-k", "--max-time", "60", "-X", method])
        .args(["-H", &format!("Authorization: Bearer {ADMIN_TOKEN}")])
        .args(["-H", "Accept: application/json"])
        .args(["-w", "\n%{http_code}"]);
    if let Some(body) = body {
        cmd.args(["-H", "Content-Type: application/json", "--data-binary"])
            .arg(format!("@{}", body.display()));
    }
    let out = cmd
        .arg(format!("{server}{path}"))
        .output()
        .map_err(|e| format!("cannot run curl: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "curl failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    match status.trim().parse::<u16>() {
        Ok(200..=299) => parse_json(body),
        _ => Err(format!("HTTP {status}: {body}")),
    }
}

fn kubectl_raw(
    kubeconfig: &Path,
    method: &str,
    path: &str,
    body: Option<&Path>,
) -> Result<Value, String> {
    let verb = match method {
        "GET" => "get",
        "POST" => "create",
        "DELETE" => "delete",
        other => return Err(format!("{other} is not supported through kubectl")),
    };
    let mut cmd = Command::new("kubectl");
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .args([verb, "--raw", path]);
    if let Some(body) = body {
        cmd.arg("-f").arg(body);
    }
    let out = cmd.output().map_err(|e| {
        format!("cannot run kubectl (needed for the KUBECONFIG cluster's helpers): {e}")
    })?;
    if out.status.success() {
        parse_json(&String::from_utf8_lossy(&out.stdout))
    } else {
        Err(format!(
            "kubectl {verb} --raw {path} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
