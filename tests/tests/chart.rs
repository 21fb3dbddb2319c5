//! The Helm chart (`charts/emrex`) and the examples (`examples/`), against the Helm engine itself
//! and a real API server.
//!
//! * `tests/chart/render.py` renders the chart with PyPI `helm-python-sdk` (Helm v4's Go SDK, no
//!   helm binary) for the named value combinations of `tests/chart/combinations.json`, lints it,
//!   and prints the objects as JSON; the checks below read that JSON.
//! * Every rendered object of every combination and every example is applied with `kubectl` to
//!   the local kube-apiserver ([`ControlPlane::shared`]) in a fresh namespace, read back (`kubectl
//!   get -f`), and compared: everything we wrote must be there as we wrote it (so a misspelt field
//!   that a CRD schema would prune fails too). RBAC is checked with `kubectl auth can-i` as the
//!   operator's ServiceAccount.
//! * Values that violate `values.schema.json` are refused.
//! * `kubectl apply -f crds/` works (issue #6).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use emrex_tests::k8s::ControlPlane;
use emrex_tests::tools::{DEFAULT_TIMEOUT, Finished, require_python_module, require_tool, run};
use emrex_tests::{KeyAlg, Subject, TestKey, base64_encode, workspace_dir};
use serde_json::{Value, json};

// ------------------------------------------------------------------------------------------------
// helpers

/// The image the chart runs by default: repository and the chart's appVersion.
const DEFAULT_IMAGE_REPO: &str = "ghcr.io/emrex-rs/emrex";
/// The five CRDs of emrex.eu.
const CRD_NAMES: [&str; 5] = [
    "registries.emrex.eu",
    "registryentries.emrex.eu",
    "nationalcontactpoints.emrex.eu",
    "studentmobilityplugins.emrex.eu",
    "signingcertificates.emrex.eu",
];

fn root() -> PathBuf {
    workspace_dir()
}

/// A DNS-label name no other test or run (the cluster may be shared) has used.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    let name = format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000);
    assert!(name.len() <= 63, "{name} is too long for a namespace");
    name
}

/// Retries `f` every half second while it fails, for at most `limit`; the last error otherwise.
fn eventually<T>(limit: Duration, mut f: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match f() {
            Ok(v) => return v,
            Err(e) if Instant::now() >= deadline => panic!("still failing after {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `python3 tests/chart/render.py ARGS` (the Helm engine through helm-python-sdk).
fn render_py(args: &[&str]) -> Finished {
    let python = require_tool("python3");
    require_python_module("helm_python");
    run(
        Command::new(python)
            .arg(root().join("tests/chart/render.py"))
            .args(args),
        DEFAULT_TIMEOUT,
    )
}

/// Renders (must succeed) and returns render.py's JSON.
fn render(args: &[&str]) -> Value {
    let out = render_py(args);
    assert!(
        out.status.success(),
        "render.py {args:?} failed ({}):\n{}",
        out.status,
        out.stderr_text()
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("render.py {args:?} printed no JSON ({e})"))
}

/// A YAML file's documents as JSON, parsed by Helm's own YAML reader.
fn yaml_file(path: &Path) -> Vec<Value> {
    let path = path.to_str().expect("UTF-8 path");
    match render(&["--yaml-to-json", path]) {
        Value::Array(docs) => docs,
        other => panic!("--yaml-to-json {path}: not a list: {other}"),
    }
}

/// The rendered objects of one render.py result.
fn objects(rendered: &Value) -> Vec<Value> {
    rendered["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["object"].clone())
        .collect()
}

fn of_kind<'a>(objs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objs.iter().filter(|o| o["kind"] == kind).collect()
}

fn the_one<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    let found = of_kind(objs, kind);
    assert_eq!(found.len(), 1, "exactly one {kind}: {found:?}");
    found[0]
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|s| s.as_str().expect("string").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The workspace version: `version` in `[workspace.package]` of the root Cargo.toml.
fn workspace_version() -> String {
    let toml = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    let mut in_section = false;
    for line in toml.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_section = line == "[workspace.package]";
        } else if in_section && let Some(rest) = line.strip_prefix("version") {
            let value = rest.trim_start().trim_start_matches('=').trim();
            return value.trim_matches('"').to_string();
        }
    }
    panic!("no version in [workspace.package] of Cargo.toml");
}

// ------------------------------------------------------------------------------------------------
// kubectl against the local API server

fn kubectl_cmd() -> Command {
    let cp = ControlPlane::shared();
    let mut cmd = Command::new(require_tool("kubectl"));
    cmd.arg("--kubeconfig").arg(&cp.kubeconfig);
    cmd
}

fn kubectl(args: &[&str]) -> Finished {
    run(kubectl_cmd().args(args), DEFAULT_TIMEOUT)
}

fn kubectl_ok(args: &[&str]) -> String {
    let out = kubectl(args);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}{}",
        text(&out.stdout),
        out.stderr_text()
    );
    text(&out.stdout)
}

/// `kubectl apply -f FILE`, retried while the API server is still publishing freshly established
/// kinds ("no matches for kind" right after a CRD became Established) or a concurrent writer
/// changed an object (conflict).
fn apply_file(file: &Path) {
    let f = file.to_str().expect("UTF-8 path");
    eventually(Duration::from_secs(60), || {
        let out = kubectl(&["apply", "-f", f]);
        if out.status.success() {
            Ok(())
        } else {
            let err = format!("kubectl apply -f {f}: {}", out.stderr_text());
            let transient = [
                "no matches for kind",
                "the object has been modified",
                "NotFound",
            ]
            .iter()
            .any(|t| err.contains(t));
            if transient {
                Err(err)
            } else {
                panic!("{err}");
            }
        }
    });
}

fn write_list(dir: &Path, name: &str, items: &[Value]) -> PathBuf {
    let path = dir.join(name);
    let list = json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(&path, serde_json::to_vec_pretty(&list).expect("json")).expect("write list");
    path
}

/// Every live object that `file` describes (`kubectl get -f FILE -o json`), as a list.
fn read_back(file: &Path) -> Vec<Value> {
    let out = kubectl_ok(&[
        "get",
        "-f",
        file.to_str().expect("UTF-8 path"),
        "-o",
        "json",
    ]);
    let v: Value = serde_json::from_str(&out).expect("kubectl get -o json");
    match v["kind"].as_str() {
        Some("List") => v["items"].as_array().cloned().unwrap_or_default(),
        _ => vec![v],
    }
}

fn create_namespace(name: &str) {
    kubectl_ok(&["create", "namespace", name]);
}

/// Best-effort clean-up of what a test created (the cluster is shared and lives on).
fn delete_namespaces_and(names: &[&str], cluster_objects: &[(&str, String)]) {
    for ns in names {
        let _ = kubectl(&["delete", "namespace", ns, "--wait=false"]);
    }
    for (kind, name) in cluster_objects {
        let _ = kubectl(&["delete", kind, name, "--wait=false", "--ignore-not-found"]);
    }
}

/// CRDs are cluster-wide and shared by the tests of this process: one writer at a time.
fn crd_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: OnceLock<Mutex<()>> = OnceLock::new();
    LOCK.get_or_init(|| Mutex::new(()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn wait_established(names: &[&str]) {
    for name in names {
        kubectl_ok(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{name}"),
        ]);
    }
}

/// Applies CRD objects (JSON) and waits until each is Established; the caller holds [`crd_lock`].
fn apply_crds_locked(dir: &Path, crds: &[Value]) {
    if crds.is_empty() {
        return;
    }
    let file = write_list(dir, "crds.json", crds);
    apply_file(&file);
    let names: Vec<&str> = crds
        .iter()
        .map(|c| c["metadata"]["name"].as_str().expect("CRD name"))
        .collect();
    wait_established(&names);
}

/// Applies CRD objects (JSON) and waits until each is Established.
fn apply_crds(dir: &Path, crds: &[Value]) {
    let _guard = crd_lock();
    apply_crds_locked(dir, crds);
}

/// A stand-in for the Prometheus Operator's ServiceMonitor CRD (not installed here): same group,
/// version and kind, any spec. It lets the API server store the chart's ServiceMonitor; whether
/// Prometheus understands its fields is checked by the render assertions, not by this schema.
fn servicemonitor_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
        "spec": {
            "group": "monitoring.coreos.com",
            "scope": "Namespaced",
            "names": {"plural": "servicemonitors", "singular": "servicemonitor", "kind": "ServiceMonitor", "listKind": "ServiceMonitorList"},
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }}}
            }]
        }
    })
}

/// Checks that everything in `expected` is in `actual` with the same value (the API server adds
/// defaults, status and metadata; it must not drop or change what we wrote). A Secret's
/// `stringData` is compared with its `data`, into which the API server moves it.
fn contains(expected: &Value, actual: &Value, path: &str, errors: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                if k == "stringData" && path.is_empty() {
                    for (sk, sv) in ev.as_object().expect("stringData is a map") {
                        let want = base64_encode(sv.as_str().expect("string").as_bytes());
                        if actual["data"][sk] != want.as_str() {
                            errors.push(format!("data.{sk}: not the stringData written"));
                        }
                    }
                    continue;
                }
                match a.get(k) {
                    Some(av) => contains(ev, av, &format!("{path}.{k}"), errors),
                    None => errors.push(format!("{path}.{k}: missing (pruned?)")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if e.len() != a.len() {
                errors.push(format!(
                    "{path}: {} items written, {} read",
                    e.len(),
                    a.len()
                ));
            }
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                contains(ev, av, &format!("{path}[{i}]"), errors);
            }
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => {}
        (e, a) if e == a => {}
        (e, a) => errors.push(format!("{path}: wrote {e}, read {a}")),
    }
}

fn key_of(o: &Value) -> (String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (
        s(&o["kind"]),
        s(&o["metadata"]["namespace"]),
        s(&o["metadata"]["name"]),
    )
}

/// Applies `objs` (CRDs first) and checks each reads back as written. `default_ns` is where
/// objects without a namespace go (`kubectl apply -n`), as for the examples.
fn apply_and_read_back(dir: &Path, objs: &[Value], default_ns: Option<&str>) -> Vec<Value> {
    let crds: Vec<Value> = of_kind(objs, "CustomResourceDefinition")
        .into_iter()
        .cloned()
        .collect();
    let needs_servicemonitor = !of_kind(objs, "ServiceMonitor").is_empty();
    // Held until the CRDs are read back: another test applying the plain crds/ file in between
    // would remove the chart's labels and annotation (client-side apply).
    let _guard = (!crds.is_empty() || needs_servicemonitor).then(crd_lock);
    apply_crds_locked(dir, &crds);
    if needs_servicemonitor {
        apply_crds_locked(dir, &[servicemonitor_crd()]);
    }
    let rest: Vec<Value> = objs
        .iter()
        .filter(|o| o["kind"] != "CustomResourceDefinition")
        .map(|o| {
            let mut o = o.clone();
            if let Some(ns) = default_ns
                && o["metadata"]["namespace"].is_null()
                && !matches!(
                    o["kind"].as_str(),
                    Some("ClusterRole" | "ClusterRoleBinding" | "Namespace")
                )
            {
                o["metadata"]["namespace"] = json!(ns);
            }
            o
        })
        .collect();
    let file = write_list(dir, "objects.json", &rest);
    apply_file(&file);
    let mut live = read_back(&file);
    let crd_file = write_list(dir, "crds-read.json", &crds);
    if !crds.is_empty() {
        live.extend(read_back(&crd_file));
    }
    let mut errors = Vec::new();
    for o in rest.iter().chain(&crds) {
        let key = key_of(o);
        match live.iter().find(|l| key_of(l) == key) {
            Some(l) => {
                let mut errs = Vec::new();
                contains(o, l, "", &mut errs);
                errors.extend(errs.into_iter().map(|e| format!("{key:?}: {e}")));
            }
            None => errors.push(format!("{key:?}: not read back")),
        }
    }
    assert!(
        errors.is_empty(),
        "objects differ after the round trip:\n  {}",
        errors.join("\n  ")
    );
    live
}

/// `kubectl auth can-i QUERY` (space-separated words) as the release's ServiceAccount `emrex`
/// of namespace `sa_ns`: true for "yes".
fn can(sa_ns: &str, query: &str) -> bool {
    let user = format!("--as=system:serviceaccount:{sa_ns}:emrex");
    let mut args = vec!["auth", "can-i"];
    args.extend(query.split_whitespace());
    args.push(&user);
    let out = kubectl(&args);
    match text(&out.stdout).trim() {
        "yes" => true,
        "no" => false,
        other => panic!("kubectl auth can-i {query}: {other} {}", out.stderr_text()),
    }
}

fn server_version() -> String {
    let v = ControlPlane::shared().kubectl_like_get("/version");
    v["gitVersion"].as_str().expect("gitVersion").to_string()
}

// ------------------------------------------------------------------------------------------------
// the chart, rendered

#[test]
fn chart_version_and_app_version_follow_the_workspace() {
    let rendered = render(&[]);
    let version = workspace_version();
    assert_eq!(rendered["chart"]["name"], "emrex");
    assert_eq!(
        rendered["chart"]["version"],
        version.as_str(),
        "Chart.yaml version != [workspace.package] version of Cargo.toml"
    );
    assert_eq!(
        rendered["chart"]["appVersion"],
        version.as_str(),
        "Chart.yaml appVersion != [workspace.package] version of Cargo.toml"
    );
    // The default image is that version.
    let deploy = objects(&rendered);
    let deploy = the_one(&deploy, "Deployment");
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        format!("{DEFAULT_IMAGE_REPO}:{version}").as_str()
    );
}

#[test]
fn the_crd_template_is_the_generated_crds_file() {
    // (generated file, chart copy, Kubernetes version the chart picks it for)
    let variants = [
        (
            "crds/emrex.eu.yaml",
            "charts/emrex/files/emrex.eu.yaml",
            "v1.24.0",
        ),
        (
            "crds/cel/emrex.eu.yaml",
            "charts/emrex/files/emrex.eu.cel.yaml",
            "v1.25.0",
        ),
    ];
    for (generated, copy, kube_version) in variants {
        let g =
            std::fs::read(root().join(generated)).unwrap_or_else(|e| panic!("{generated}: {e}"));
        let c = std::fs::read(root().join(copy)).unwrap_or_else(|e| panic!("{copy}: {e}"));
        assert!(
            g == c,
            "{copy} differs from {generated}: run `cp {generated} {copy}`"
        );

        // What the template renders for that version is that file, plus our labels and the
        // keep annotation.
        let want = yaml_file(&root().join(generated));
        assert_eq!(want.len(), 5);
        let rendered = objects(&render(&["--kube-version", kube_version]));
        let crds = of_kind(&rendered, "CustomResourceDefinition");
        assert_eq!(crds.len(), want.len());
        for (got, want) in crds.iter().zip(&want) {
            let mut got = (*got).clone();
            let meta = got["metadata"].as_object_mut().expect("metadata");
            let annotations = meta.remove("annotations").expect("annotations");
            assert_eq!(annotations, json!({"helm.sh/resource-policy": "keep"}));
            let labels = meta.remove("labels").expect("labels");
            assert_eq!(labels["app.kubernetes.io/part-of"], "emrex");
            assert_eq!(&got, want, "rendered CRD differs from {generated}");
        }
        let names: Vec<&str> = crds
            .iter()
            .map(|c| c["metadata"]["name"].as_str().expect("name"))
            .collect();
        assert_eq!(names, CRD_NAMES);
        // CEL rules only from 1.25 on (older API servers refuse x-kubernetes-validations).
        let cel = crds
            .iter()
            .any(|c| c.to_string().contains("x-kubernetes-validations"));
        assert_eq!(cel, kube_version == "v1.25.0", "{generated}");
    }

    // crds.keep=false: no annotation; crds.enabled=false: no CRDs.
    let not_kept = objects(&render(&["--set-json", r#"{"crds":{"keep":false}}"#]));
    for c in of_kind(&not_kept, "CustomResourceDefinition") {
        assert!(c["metadata"]["annotations"].is_null(), "{}", c["metadata"]);
    }
    let none = objects(&render(&["--combination", "crds-disabled"]));
    assert!(of_kind(&none, "CustomResourceDefinition").is_empty());
}

/// The security context, probes, ports and environment every combination's Deployment must have.
fn check_deployment(deploy: &Value, release_ns: &str) {
    assert_eq!(deploy["metadata"]["namespace"], release_ns);
    let pod = &deploy["spec"]["template"]["spec"];
    let psc = &pod["securityContext"];
    assert_eq!(psc["runAsNonRoot"], true, "{psc}");
    assert_eq!(psc["runAsUser"], 65532, "{psc}");
    assert_eq!(psc["seccompProfile"]["type"], "RuntimeDefault", "{psc}");
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true, "{sc}");
    assert_eq!(sc["runAsUser"], 65532, "{sc}");
    assert_eq!(sc["readOnlyRootFilesystem"], true, "{sc}");
    assert_eq!(sc["allowPrivilegeEscalation"], false, "{sc}");
    assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{sc}");
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{sc}");
    assert!(sc["privileged"].is_null() || sc["privileged"] == false);

    assert_eq!(
        c["ports"],
        json!([{"name": "admin", "containerPort": 9090, "protocol": "TCP"}])
    );
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/live");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "admin");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/ready");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "admin");
    assert!(
        c["resources"]["requests"]["memory"].is_string()
            && c["resources"]["limits"]["memory"].is_string(),
        "resources: {}",
        c["resources"]
    );
    let env = c["env"].as_array().expect("env");
    for (name, field) in [
        ("POD_NAME", "metadata.name"),
        ("POD_NAMESPACE", "metadata.namespace"),
    ] {
        let e = env
            .iter()
            .find(|e| e["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {env:?}"));
        assert_eq!(e["valueFrom"]["fieldRef"]["fieldPath"], field);
    }
    assert_eq!(
        pod["serviceAccountName"], deploy["metadata"]["name"],
        "the release's ServiceAccount"
    );
}

fn args_of(deploy: &Value) -> Vec<String> {
    strs(&deploy["spec"]["template"]["spec"]["containers"][0]["args"])
}

/// The emrex.eu rules of a Role or ClusterRole (what the operator needs on its own kinds).
fn check_operator_rules(role: &Value) {
    let rules = role["rules"].as_array().expect("rules");
    let verbs_for = |group: &str, resource: &str| -> Vec<String> {
        rules
            .iter()
            .filter(|r| {
                strs(&r["apiGroups"]).iter().any(|g| g == group)
                    && strs(&r["resources"]).iter().any(|x| x == resource)
                    && r["resourceNames"].is_null()
            })
            .flat_map(|r| strs(&r["verbs"]))
            .collect()
    };
    let has = |group: &str, resource: &str, verbs: &[&str]| {
        let got = verbs_for(group, resource);
        for v in verbs {
            assert!(
                got.iter().any(|g| g == v),
                "{group}/{resource} lacks {v}: {got:?}"
            );
        }
        got
    };
    for kind in [
        "registries",
        "registryentries",
        "nationalcontactpoints",
        "studentmobilityplugins",
        "signingcertificates",
    ] {
        let got = has(
            "emrex.eu",
            kind,
            &["get", "list", "watch", "patch", "create"],
        );
        assert_eq!(
            got.iter().any(|v| v == "delete"),
            kind == "registryentries",
            "{kind}: only RegistryEntries are deleted (pruned): {got:?}"
        );
        has(
            "emrex.eu",
            &format!("{kind}/status"),
            &["get", "patch", "update"],
        );
        has("emrex.eu", &format!("{kind}/finalizers"), &["update"]);
    }
    has(
        "apps",
        "deployments",
        &["get", "list", "watch", "create", "patch", "delete"],
    );
    for r in [
        "services",
        "configmaps",
        "secrets",
        "serviceaccounts",
        "persistentvolumeclaims",
    ] {
        has(
            "",
            r,
            &["get", "list", "watch", "create", "patch", "delete"],
        );
    }
    has(
        "networking.k8s.io",
        "networkpolicies",
        &["get", "list", "watch", "create", "patch", "delete"],
    );
    has(
        "policy",
        "poddisruptionbudgets",
        &["get", "list", "watch", "create", "patch", "delete"],
    );
    has("", "events", &["create", "patch"]);
    has("events.k8s.io", "events", &["create", "patch"]);
    // Nothing cluster-admin-like.
    for r in rules {
        for field in ["apiGroups", "resources", "verbs"] {
            assert!(!strs(&r[field]).iter().any(|x| x == "*"), "wildcard in {r}");
        }
    }
}

#[test]
fn every_combination_renders_lints_and_has_the_documented_shape() {
    let ns = "emrex-system";
    let all = render(&["--all", "--lint", "--namespace", ns]);
    let all = all.as_object().expect("combinations");
    for name in [
        "default",
        "cluster-scope",
        "namespace-scope",
        "crds-disabled",
        "apply-crds",
        "monitoring",
        "registry",
    ] {
        let rendered = all
            .get(name)
            .unwrap_or_else(|| panic!("combination {name} missing"));
        let lint = rendered["lint"].as_array().expect("lint");
        assert!(
            lint.iter().all(|m| m["severity"] == "info"),
            "{name}: lint: {lint:?}"
        );
        let objs = objects(rendered);
        let deploy = the_one(&objs, "Deployment");
        check_deployment(deploy, ns);
        assert_eq!(deploy["spec"]["replicas"], 2, "{name}");
        let args = args_of(deploy);
        assert_eq!(args[0], "operator", "{name}: {args:?}");
        for want in [
            "--admin-listen=0.0.0.0:9090",
            "--leader-election=true",
            "--lease-name=emrex",
            "--lease-namespace=emrex-system",
            "--image=ghcr.io/emrex-rs/emrex:0.1.0",
            "--log-format=json",
        ] {
            assert!(args.iter().any(|a| a == want), "{name}: {want} in {args:?}");
        }
        let namespace_args: Vec<&String> = args
            .iter()
            .filter(|a| a.starts_with("--namespace"))
            .collect();
        let apply_crds = args.iter().any(|a| a == "--apply-crds");
        assert_eq!(apply_crds, name == "apply-crds", "{name}: {args:?}");

        // Every namespaced object lands in the release namespace (RBAC of the watched namespace
        // aside, checked below).
        for o in &objs {
            let kind = o["kind"].as_str().expect("kind");
            let cluster_scoped = matches!(
                kind,
                "CustomResourceDefinition" | "ClusterRole" | "ClusterRoleBinding"
            );
            if cluster_scoped {
                assert!(o["metadata"]["namespace"].is_null(), "{name}: {o}");
            } else if !matches!(kind, "Role" | "RoleBinding") {
                assert_eq!(o["metadata"]["namespace"], ns, "{name}: {kind}");
            }
            assert_eq!(
                o["metadata"]["labels"]["app.kubernetes.io/part-of"], "emrex",
                "{name}: {kind} labels"
            );
        }

        let cluster_roles = of_kind(&objs, "ClusterRole");
        let roles = of_kind(&objs, "Role");
        let lease_role = roles
            .iter()
            .find(|r| r["metadata"]["name"] == "emrex-leader-election")
            .unwrap_or_else(|| panic!("{name}: no leader-election Role"));
        assert_eq!(lease_role["metadata"]["namespace"], ns);
        let lease_rules = lease_role["rules"].as_array().expect("rules");
        assert!(
            lease_rules
                .iter()
                .all(|r| r["apiGroups"] == json!(["coordination.k8s.io"])
                    && r["resources"] == json!(["leases"]))
        );
        assert!(
            lease_rules
                .iter()
                .any(|r| r["resourceNames"] == json!(["emrex"])
                    && r["verbs"] == json!(["get", "update", "patch"]))
        );

        if name == "namespace-scope" {
            // One watched namespace: the release namespace by default, passed as --namespace.
            assert_eq!(namespace_args, vec!["--namespace=emrex-system"], "{name}");
            let op_role = roles
                .iter()
                .find(|r| r["metadata"]["name"] == "emrex")
                .expect("operator Role");
            assert_eq!(op_role["metadata"]["namespace"], ns);
            check_operator_rules(op_role);
            assert!(cluster_roles.is_empty(), "{name}: {cluster_roles:?}");
            assert!(of_kind(&objs, "ClusterRoleBinding").is_empty());
        } else {
            assert!(namespace_args.is_empty(), "{name}: {args:?}");
            let op_role = cluster_roles
                .iter()
                .find(|r| r["metadata"]["name"] == "emrex-system-emrex")
                .expect("operator ClusterRole");
            check_operator_rules(op_role);
            let binding = of_kind(&objs, "ClusterRoleBinding")
                .into_iter()
                .find(|b| b["metadata"]["name"] == "emrex-system-emrex")
                .expect("operator ClusterRoleBinding");
            assert_eq!(
                binding["subjects"],
                json!([{"kind": "ServiceAccount", "name": "emrex", "namespace": ns}])
            );
            assert_eq!(roles.len(), 1, "{name}: only the lease Role");
        }

        // --apply-crds: a ClusterRole for exactly the five CRDs; never otherwise.
        let crd_role = cluster_roles
            .iter()
            .find(|r| r["metadata"]["name"] == "emrex-system-emrex-crds");
        assert_eq!(crd_role.is_some(), apply_crds, "{name}");
        if let Some(role) = crd_role {
            let rules = role["rules"].as_array().expect("rules");
            assert_eq!(rules.len(), 1, "{role}");
            assert_eq!(rules[0]["apiGroups"], json!(["apiextensions.k8s.io"]));
            assert_eq!(rules[0]["resources"], json!(["customresourcedefinitions"]));
            assert_eq!(rules[0]["resourceNames"], json!(CRD_NAMES));
            assert_eq!(rules[0]["verbs"], json!(["get", "create", "patch"]));
        }

        let crd_count = of_kind(&objs, "CustomResourceDefinition").len();
        let want_crds = if matches!(name, "crds-disabled" | "apply-crds") {
            0
        } else {
            5
        };
        assert_eq!(crd_count, want_crds, "{name}");

        let service = the_one(&objs, "Service");
        assert_eq!(
            service["spec"]["ports"],
            json!([{"name": "metrics", "port": 9090, "targetPort": "admin", "protocol": "TCP"}])
        );
        assert_eq!(
            service["spec"]["selector"],
            deploy["spec"]["selector"]["matchLabels"]
        );
        the_one(&objs, "ServiceAccount");

        let monitoring = name == "monitoring";
        assert_eq!(!of_kind(&objs, "ServiceMonitor").is_empty(), monitoring);
        assert_eq!(
            !of_kind(&objs, "PodDisruptionBudget").is_empty(),
            monitoring
        );
        assert_eq!(!of_kind(&objs, "NetworkPolicy").is_empty(), monitoring);
        if monitoring {
            let sm = the_one(&objs, "ServiceMonitor");
            assert_eq!(sm["apiVersion"], "monitoring.coreos.com/v1");
            assert_eq!(sm["metadata"]["labels"]["release"], "prometheus");
            assert_eq!(sm["spec"]["endpoints"][0]["port"], "metrics");
            assert_eq!(sm["spec"]["endpoints"][0]["path"], "/metrics");
            assert_eq!(
                sm["spec"]["selector"]["matchLabels"],
                service["spec"]["selector"]
            );
            let pdb = the_one(&objs, "PodDisruptionBudget");
            assert_eq!(
                pdb["apiVersion"], "policy/v1",
                "offline: a current Kubernetes"
            );
            assert_eq!(pdb["spec"]["minAvailable"], 1);
            let np = the_one(&objs, "NetworkPolicy");
            assert_eq!(np["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
            let ingress = np["spec"]["ingress"].as_array().expect("ingress");
            assert_eq!(ingress.len(), 1, "one ingress rule: {ingress:?}");
            assert_eq!(
                ingress[0]["ports"],
                json!([{"port": "admin", "protocol": "TCP"}]),
                "ingress only to the admin port"
            );
            assert!(ingress[0]["from"].is_array(), "metricsFrom applied");
            let egress = np["spec"]["egress"].as_array().expect("egress");
            let ports: Vec<(i64, String)> = egress
                .iter()
                .flat_map(|r| r["ports"].as_array().cloned().unwrap_or_default())
                .map(|p| {
                    (
                        p["port"].as_i64().expect("numeric egress port"),
                        p["protocol"].as_str().expect("protocol").to_string(),
                    )
                })
                .collect();
            for want in [
                (53, "UDP"),
                (53, "TCP"),
                (443, "TCP"),
                (6443, "TCP"),
                (50051, "TCP"),
            ] {
                assert!(
                    ports
                        .iter()
                        .any(|(p, proto)| *p == want.0 && proto == want.1),
                    "egress {want:?} in {ports:?}"
                );
            }
            assert_eq!(
                egress[1]["to"],
                json!([{"ipBlock": {"cidr": "10.96.0.1/32"}}]),
                "API server CIDRs"
            );
        }

        let registries = of_kind(&objs, "Registry");
        assert_eq!(!registries.is_empty(), name == "registry");
        if let Some(r) = registries.first() {
            assert_eq!(r["apiVersion"], "emrex.eu/v1alpha1");
            assert_eq!(r["metadata"]["name"], "emreg");
            assert_eq!(r["metadata"]["namespace"], ns);
            assert_eq!(r["spec"], json!({"workload": {"replicas": 1}}));
        }

        let notes = rendered["notes"].as_str().expect("NOTES.txt");
        for want in ["kubectl get emrex", "examples/alliance", "docs/deploy.md"] {
            assert!(
                notes.contains(want),
                "{name}: NOTES.txt lacks {want}:\n{notes}"
            );
        }
    }
}

#[test]
fn namespace_scope_watches_exactly_the_given_namespace() {
    let rendered = render(&[
        "--combination",
        "namespace-scope",
        "--set-json",
        r#"{"watchNamespaces":["federation-a"]}"#,
    ]);
    let objs = objects(&rendered);
    let args = args_of(the_one(&objs, "Deployment"));
    let ns_args: Vec<&String> = args
        .iter()
        .filter(|a| a.starts_with("--namespace"))
        .collect();
    assert_eq!(ns_args, vec!["--namespace=federation-a"]);
    // The operator's Role and binding in the watched namespace, the lease in the release's.
    for kind in ["Role", "RoleBinding"] {
        let in_watched: Vec<_> = of_kind(&objs, kind)
            .into_iter()
            .filter(|r| r["metadata"]["namespace"] == "federation-a")
            .collect();
        assert_eq!(in_watched.len(), 1, "{kind}");
    }
    let binding = of_kind(&objs, "RoleBinding")
        .into_iter()
        .find(|r| r["metadata"]["namespace"] == "federation-a")
        .expect("binding");
    assert_eq!(binding["subjects"][0]["namespace"], "emrex-system");
    assert!(
        rendered["notes"]
            .as_str()
            .expect("notes")
            .contains("watches namespace \"federation-a\" only")
    );
    // The shared EMREG goes to the watched namespace.
    let with_registry = render(&[
        "--combination",
        "namespace-scope",
        "--combination",
        "registry",
        "--set-json",
        r#"{"watchNamespaces":["federation-a"]}"#,
    ]);
    let objs = objects(&with_registry);
    assert_eq!(
        the_one(&objs, "Registry")["metadata"]["namespace"],
        "federation-a"
    );
}

#[test]
fn values_that_violate_the_schema_are_refused() {
    let cases: [(&str, &str); 9] = [
        (
            r#"{"replicaCount": 2}"#,
            "additional properties 'replicaCount' not allowed",
        ),
        (
            r#"{"image": {"registry": "x"}}"#,
            "additional properties 'registry' not allowed",
        ),
        (
            r#"{"networkPolicy": {"apiServer": {"cidr": "10.0.0.1/32"}}}"#,
            "additional properties 'cidr' not allowed",
        ),
        (r#"{"replicas": "two"}"#, "got string, want integer"),
        (
            r#"{"crds": {"enabled": "yes"}}"#,
            "got string, want boolean",
        ),
        (
            r#"{"rbac": {"scope": "galaxy"}}"#,
            "value must be one of 'cluster', 'namespace'",
        ),
        (
            r#"{"operator": {"logFormat": "xml"}}"#,
            "value must be one of 'plain', 'json'",
        ),
        (
            r#"{"rbac": {"scope": "namespace"}, "watchNamespaces": ["a", "b"]}"#,
            "maxItems",
        ),
        (r#"{"watchNamespaces": ["a"]}"#, "maxItems"),
    ];
    for (values, want) in cases {
        let out = render_py(&["--set-json", values]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{values} must be refused; got {}: {}",
            out.status,
            text(&out.stdout)
        );
        let err = out.stderr_text();
        assert!(
            err.contains("values don't meet the specifications of the schema"),
            "{values}: not a schema error: {err}"
        );
        assert!(err.contains(want), "{values}: {want:?} not in {err}");
        assert!(out.stdout.is_empty(), "{values}: printed manifests");
    }
    // The same through a values file, as `helm install -f` reads it.
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("bad-values.yaml");
    std::fs::write(&file, "rbac:\n  scope: cluster\n  create: true\n").expect("write");
    let out = render_py(&["--values", file.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1), "{}", out.stderr_text());
    assert!(
        out.stderr_text()
            .contains("additional properties 'create' not allowed"),
        "{}",
        out.stderr_text()
    );
    // Template-level guards for what the schema cannot see.
    let out = render_py(&["--set-json", r#"{"operator": {"leaderElection": false}}"#]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr_text()
            .contains("replicas > 1 needs operator.leaderElection")
    );
    let out = render_py(&[
        "--set-json",
        r#"{"registry": {"enabled": true, "replicas": 2}}"#,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr_text()
            .contains("registry.replicas > 1 needs registry.postgresUrl")
    );
}

// ------------------------------------------------------------------------------------------------
// against the API server

#[test]
fn kubectl_apply_of_the_crds_directory_succeeds() {
    let _guard = crd_lock();
    let crds = root().join("crds");
    let out = kubectl_ok(&["apply", "-f", crds.to_str().expect("path")]);
    for name in CRD_NAMES {
        assert!(
            out.contains(&format!(
                "customresourcedefinition.apiextensions.k8s.io/{name}"
            )),
            "{name} not applied: {out}"
        );
    }
    wait_established(&CRD_NAMES);
}

/// Renders `combination` for the local API server's version into a fresh namespace, applies every
/// object, reads each back, and returns (release namespace, rendered objects).
fn apply_combination(
    combination: &str,
    extra: Option<&str>,
    watch_ns: Option<&str>,
) -> (String, Vec<Value>) {
    let ns = unique(&format!("chart-{combination}"));
    create_namespace(&ns);
    if let Some(w) = watch_ns {
        create_namespace(w);
    }
    let version = server_version();
    let mut args = vec![
        "--combination",
        combination,
        "--namespace",
        &ns,
        "--kube-version",
        &version,
        "--lint",
    ];
    if let Some(extra) = extra {
        args.extend(["--set-json", extra]);
    }
    let rendered = render(&args);
    let objs = objects(&rendered);
    let dir = tempfile::tempdir().expect("tempdir");
    apply_and_read_back(dir.path(), &objs, None);
    (ns, objs)
}

fn cleanup(ns: &str, extra_ns: &[&str], objs: &[Value]) {
    let cluster: Vec<(&str, String)> = objs
        .iter()
        .filter(|o| {
            matches!(
                o["kind"].as_str(),
                Some("ClusterRole" | "ClusterRoleBinding")
            )
        })
        .map(|o| {
            (
                if o["kind"] == "ClusterRole" {
                    "clusterrole"
                } else {
                    "clusterrolebinding"
                },
                o["metadata"]["name"].as_str().expect("name").to_string(),
            )
        })
        .collect();
    let mut all = vec![ns];
    all.extend_from_slice(extra_ns);
    delete_namespaces_and(&all, &cluster);
}

#[test]
fn default_values_are_accepted_by_the_api_server_and_rbac_is_cluster_wide() {
    let (ns, objs) = apply_combination("default", None, None);
    // The ClusterRole works for the operator's ServiceAccount, in any namespace.
    assert!(can(
        &ns,
        "list nationalcontactpoints.emrex.eu --all-namespaces"
    ));
    assert!(can(
        &ns,
        "watch signingcertificates.emrex.eu -n kube-public"
    ));
    assert!(can(
        &ns,
        "patch registryentries.emrex.eu --subresource=status -n default"
    ));
    assert!(can(
        &ns,
        "update nationalcontactpoints.emrex.eu --subresource=finalizers -n x"
    ));
    assert!(can(&ns, "delete registryentries.emrex.eu -n default"));
    assert!(!can(
        &ns,
        "delete nationalcontactpoints.emrex.eu -n default"
    ));
    assert!(can(&ns, "create deployments.apps -n default"));
    assert!(!can(&ns, "create pods -n default"));
    // Its own Lease only, in the release namespace.
    assert!(can(
        &ns,
        &format!("update leases.coordination.k8s.io/emrex -n {ns}")
    ));
    assert!(!can(
        &ns,
        &format!("update leases.coordination.k8s.io/other -n {ns}")
    ));
    assert!(!can(
        &ns,
        "update leases.coordination.k8s.io/emrex -n default"
    ));
    // No CRD rights without --apply-crds.
    assert!(!can(
        &ns,
        "get customresourcedefinitions.apiextensions.k8s.io/registries.emrex.eu"
    ));
    cleanup(&ns, &[], &objs);
}

#[test]
fn cluster_scope_is_accepted_by_the_api_server() {
    let (ns, objs) = apply_combination("cluster-scope", None, None);
    assert!(can(&ns, "get registries.emrex.eu --all-namespaces"));
    cleanup(&ns, &[], &objs);
}

#[test]
fn namespace_scope_is_accepted_by_the_api_server_and_rbac_is_one_namespace() {
    let watch = unique("chart-watched");
    let extra = json!({"watchNamespaces": [watch]}).to_string();
    let (ns, objs) = apply_combination("namespace-scope", Some(&extra), Some(&watch));
    // Everything in the watched namespace, nothing elsewhere; the Lease in the release namespace.
    assert!(can(
        &ns,
        &format!("list nationalcontactpoints.emrex.eu -n {watch}")
    ));
    assert!(can(
        &ns,
        &format!("patch signingcertificates.emrex.eu --subresource=status -n {watch}")
    ));
    assert!(can(&ns, &format!("create secrets -n {watch}")));
    assert!(!can(&ns, "list nationalcontactpoints.emrex.eu -n default"));
    assert!(!can(
        &ns,
        &format!("list nationalcontactpoints.emrex.eu -n {ns}")
    ));
    assert!(!can(
        &ns,
        "list nationalcontactpoints.emrex.eu --all-namespaces"
    ));
    assert!(!can(&ns, "get secrets -n kube-system"));
    assert!(can(
        &ns,
        &format!("get leases.coordination.k8s.io/emrex -n {ns}")
    ));
    cleanup(&ns, &[&watch], &objs);
}

#[test]
fn crds_disabled_is_accepted_by_the_api_server() {
    let (ns, objs) = apply_combination("crds-disabled", None, None);
    assert!(of_kind(&objs, "CustomResourceDefinition").is_empty());
    cleanup(&ns, &[], &objs);
}

#[test]
fn apply_crds_is_accepted_by_the_api_server_and_limited_to_our_crds() {
    let (ns, objs) = apply_combination("apply-crds", None, None);
    let crd = "customresourcedefinitions.apiextensions.k8s.io";
    for name in CRD_NAMES {
        for verb in ["get", "create", "patch"] {
            assert!(can(&ns, &format!("{verb} {crd}/{name}")), "{verb} {name}");
        }
        assert!(!can(&ns, &format!("delete {crd}/{name}")), "delete {name}");
    }
    assert!(!can(&ns, &format!("patch {crd}/widgets.example.test")));
    assert!(!can(&ns, &format!("list {crd}")));
    cleanup(&ns, &[], &objs);
}

#[test]
fn monitoring_pdb_and_network_policy_are_accepted_by_the_api_server() {
    let (ns, objs) = apply_combination("monitoring", None, None);
    // Rendered for this API server's version: 1.20 serves PodDisruptionBudget as policy/v1beta1
    // only, newer ones as policy/v1.
    let pdb = the_one(&objs, "PodDisruptionBudget");
    let minor: u32 = server_version()
        .trim_start_matches('v')
        .split('.')
        .nth(1)
        .and_then(|m| m.trim_end_matches('+').parse().ok())
        .expect("minor version");
    let want = if minor >= 21 {
        "policy/v1"
    } else {
        "policy/v1beta1"
    };
    assert_eq!(pdb["apiVersion"], want);
    cleanup(&ns, &[], &objs);
}

#[test]
fn shared_registry_is_accepted_by_the_api_server() {
    let (ns, objs) = apply_combination("registry", None, None);
    let got: Value = serde_json::from_str(&kubectl_ok(&[
        "get",
        "registry.emrex.eu",
        "emreg",
        "-n",
        &ns,
        "-o",
        "json",
    ]))
    .expect("json");
    assert_eq!(got["spec"]["workload"]["replicas"], 1);
    cleanup(&ns, &[], &objs);
}

// ------------------------------------------------------------------------------------------------
// the examples

fn example_objects(dir: &str) -> Vec<Value> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{dir} has YAML files");
    files.iter().flat_map(|f| yaml_file(f)).collect()
}

/// Nothing secret is committed: Secrets only hold the marked test placeholder, no PEM key anywhere.
fn check_no_committed_secrets(dir: &str) {
    for entry in walk(&root().join(dir)) {
        let body = std::fs::read_to_string(&entry).expect("read example");
        assert!(
            !body.contains("PRIVATE KEY"),
            "{}: a private key is committed",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn check_test_secrets(secrets: &[Value]) {
    for s in secrets {
        assert_eq!(s["kind"], "Secret");
        assert_eq!(s["metadata"]["labels"]["emrex.eu/test-only"], "true");
        assert!(s["data"].is_null(), "test secrets use stringData: {s}");
        for (k, v) in s["stringData"].as_object().expect("stringData") {
            assert!(
                v.as_str().is_some_and(|v| v.starts_with("REPLACE-ME")),
                "{k}: not the marked placeholder"
            );
        }
    }
}

/// `kubectl create secret tls NAME` from a test key, in `ns`.
fn create_tls_secret(ns: &str, name: &str, key: &TestKey) {
    kubectl_ok(&[
        "-n",
        ns,
        "create",
        "secret",
        "tls",
        name,
        "--cert",
        key.cert_path.to_str().expect("path"),
        "--key",
        key.key_path.to_str().expect("path"),
    ]);
}

#[test]
fn the_alliance_example_is_consistent_and_accepted_by_the_api_server() {
    check_no_committed_secrets("examples");
    let objs = example_objects("examples/alliance");
    let secrets = example_objects("examples/alliance/test-secrets");
    check_test_secrets(&secrets);
    for o in objs.iter().chain(&secrets) {
        assert!(
            o["metadata"]["namespace"].is_null(),
            "examples set no namespace: {o}"
        );
    }

    // One Registry (run here), three NCPs in three countries, one SMP.
    let registry = the_one(&objs, "Registry");
    assert!(
        registry["spec"]["external"].is_null(),
        "the operator runs it"
    );
    let registry_name = registry["metadata"]["name"].as_str().expect("name");
    let ncps = of_kind(&objs, "NationalContactPoint");
    let mut countries: Vec<&str> = ncps
        .iter()
        .map(|n| n["spec"]["countryCode"].as_str().expect("country"))
        .collect();
    countries.sort_unstable();
    assert_eq!(countries, ["FI", "IT", "PL"]);
    let smp = the_one(&objs, "StudentMobilityPlugin");
    assert_eq!(smp["spec"]["registryRef"], registry_name);

    // Each NCP has its own SigningCertificate; the three vary as documented.
    let certs = of_kind(&objs, "SigningCertificate");
    assert_eq!(certs.len(), 3);
    let secret_names: Vec<&str> = secrets
        .iter()
        .map(|s| s["metadata"]["name"].as_str().expect("name"))
        .collect();
    let mut used = Vec::new();
    for ncp in &ncps {
        let spec = &ncp["spec"];
        assert_eq!(spec["registryRef"], registry_name);
        let cert_name = spec["signingCertificateRef"].as_str().expect("ref");
        assert!(!used.contains(&cert_name), "one certificate per NCP");
        used.push(cert_name);
        assert!(
            certs.iter().any(|c| c["metadata"]["name"] == cert_name),
            "{cert_name} exists"
        );
        let secret = spec["login"]["clientSecret"]["name"]
            .as_str()
            .expect("secret");
        assert!(
            secret_names.contains(&secret),
            "{secret} has a test placeholder"
        );
    }
    let ecdsa_self = certs
        .iter()
        .any(|c| c["spec"]["keyAlgorithm"] == "ECDSA" && c["spec"]["caSecret"].is_null());
    let rsa3072 = certs
        .iter()
        .any(|c| c["spec"]["keyAlgorithm"] == "RSA" && c["spec"]["keySize"] == 3072);
    let from_ca: Vec<_> = certs
        .iter()
        .filter(|c| c["spec"]["caSecret"].is_string())
        .collect();
    assert!(ecdsa_self && rsa3072 && from_ca.len() == 1, "{certs:?}");
    let ca_secret = from_ca[0]["spec"]["caSecret"].as_str().expect("caSecret");

    // Apply it all (CA Secret made here, never committed) and read every object back.
    let ns = unique("example-alliance");
    create_namespace(&ns);
    let ca = TestKey::generate(
        KeyAlg::EcP256,
        &Subject::new("Example Alliance EMREX CA", "Example Alliance", "EU"),
    );
    create_tls_secret(&ns, ca_secret, &ca);
    let crds = yaml_file(&root().join("crds/emrex.eu.yaml"));
    let dir = tempfile::tempdir().expect("tempdir");
    apply_crds(dir.path(), &crds);
    let mut all = objs.clone();
    all.extend(secrets);
    apply_and_read_back(dir.path(), &all, Some(&ns));
    let listed = kubectl_ok(&["get", "emrex", "-n", &ns, "-o", "name"]);
    assert_eq!(
        listed.lines().count(),
        8,
        "kubectl get emrex lists 8 resources:\n{listed}"
    );
    delete_namespaces_and(&[&ns], &[]);
}

#[test]
fn the_national_ncp_example_is_consistent_and_accepted_by_the_api_server() {
    let objs = example_objects("examples/national-ncp");
    let secrets = example_objects("examples/national-ncp/test-secrets");
    check_test_secrets(&secrets);
    let registry = the_one(&objs, "Registry");
    let external = &registry["spec"]["external"];
    assert!(
        external["grpcEndpoint"]
            .as_str()
            .is_some_and(|e| e.starts_with("https://")),
        "{registry}"
    );
    let tls_secret = external["tlsSecret"].as_str().expect("tlsSecret");
    let ncp = the_one(&objs, "NationalContactPoint");
    assert_eq!(ncp["spec"]["registryRef"], registry["metadata"]["name"]);
    let cert = the_one(&objs, "SigningCertificate");
    assert_eq!(
        ncp["spec"]["signingCertificateRef"],
        cert["metadata"]["name"]
    );

    let ns = unique("example-national");
    create_namespace(&ns);
    // The mTLS client Secret for the external EMREG: ca.crt, tls.crt, tls.key, made here.
    let ca = TestKey::generate(
        KeyAlg::EcP256,
        &Subject::new("Example Federation EMREG CA", "Example Federation", "EU"),
    );
    let client = TestKey::issued_by(
        KeyAlg::EcP256,
        &Subject::new(
            "emrex-operator",
            "Example Swedish Student Records Service",
            "SE",
        ),
        &ca,
    );
    kubectl_ok(&[
        "-n",
        &ns,
        "create",
        "secret",
        "generic",
        tls_secret,
        &format!("--from-file=ca.crt={}", ca.cert_path.display()),
        &format!("--from-file=tls.crt={}", client.cert_path.display()),
        &format!("--from-file=tls.key={}", client.key_path.display()),
    ]);
    let crds = yaml_file(&root().join("crds/emrex.eu.yaml"));
    let dir = tempfile::tempdir().expect("tempdir");
    apply_crds(dir.path(), &crds);
    let mut all = objs.clone();
    all.extend(secrets);
    apply_and_read_back(dir.path(), &all, Some(&ns));
    delete_namespaces_and(&[&ns], &[]);
}

// ------------------------------------------------------------------------------------------------
// the container image (no container engine here: its structure is checked, not a build)

/// `rust-version` in `[workspace.package]` of the root Cargo.toml.
fn workspace_rust_version() -> String {
    let toml = std::fs::read_to_string(root().join("Cargo.toml")).expect("Cargo.toml");
    toml.lines()
        .find_map(|l| l.trim().strip_prefix("rust-version"))
        .map(|rest| {
            rest.trim_start()
                .trim_start_matches('=')
                .trim()
                .trim_matches('"')
                .to_string()
        })
        .expect("rust-version in Cargo.toml")
}

#[test]
fn containerfile_builds_the_binary_into_a_non_root_image() {
    let file = std::fs::read_to_string(root().join("Containerfile")).expect("Containerfile");
    // Instructions, with `\` continuations joined and comments dropped.
    let mut instructions: Vec<String> = Vec::new();
    let mut current = String::new();
    for line in file.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    let froms: Vec<&String> = instructions
        .iter()
        .filter(|i| i.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "a build and a runtime stage: {froms:?}");
    let rust = workspace_rust_version();
    assert_eq!(
        froms[0].as_str(),
        format!("FROM docker.io/library/rust:{rust}-bookworm AS build"),
        "the builder is the workspace's rust-version"
    );
    assert!(
        matches!(
            froms[1].as_str(),
            "FROM gcr.io/distroless/cc-debian12:nonroot"
                | "FROM docker.io/library/debian:bookworm-slim"
        ),
        "{}",
        froms[1]
    );
    let runtime = instructions
        .iter()
        .position(|i| std::ptr::eq(i, froms[1]))
        .expect("runtime stage");
    let (build, run_stage) = instructions.split_at(runtime);
    assert!(
        build.iter().any(|i| i.starts_with("RUN ")
            && i.contains("cargo build --profile image --locked -p emrex")),
        "{build:?}"
    );
    assert!(
        run_stage
            .iter()
            .any(|i| i == "COPY --from=build /out/emrex /usr/local/bin/emrex"),
        "{run_stage:?}"
    );
    assert!(
        run_stage.iter().any(|i| i == "USER 65532:65532"),
        "non-root"
    );
    assert_eq!(
        run_stage
            .iter()
            .rfind(|i| i.starts_with("ENTRYPOINT"))
            .map(String::as_str),
        Some(r#"ENTRYPOINT ["/usr/local/bin/emrex"]"#)
    );
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).expect(".dockerignore");
    for want in ["target/", "tests/output/", "**/node_modules/", ".git"] {
        assert!(
            ignore.lines().any(|l| l.trim() == want),
            ".dockerignore lacks {want}"
        );
    }
}

#[test]
fn release_and_namespace_names_that_yaml_reads_as_booleans_stay_strings() {
    // `y`, `yes`, `on`, `no` are booleans in YAML 1.1, which Helm's YAML reader follows: every
    // name and label the chart writes is quoted, or Kubernetes would refuse the objects.
    let rendered = render(&[
        "--name",
        "y",
        "--namespace",
        "yes",
        "--combination",
        "monitoring",
        "--set-json",
        r#"{"rbac":{"scope":"namespace"},"watchNamespaces":["on"],"registry":{"enabled":true,"name":"no"}}"#,
    ]);
    for o in objects(&rendered) {
        let meta = &o["metadata"];
        assert!(meta["name"].is_string(), "{meta}");
        assert!(
            meta["namespace"].is_null() || meta["namespace"].is_string(),
            "{meta}"
        );
        for (k, v) in meta["labels"].as_object().expect("labels") {
            assert!(v.is_string(), "{} label {k}: {v}", o["kind"]);
        }
    }
}

#[test]
fn helm_installs_upgrades_and_uninstalls_the_release_on_the_api_server() {
    let kubeconfig = ControlPlane::shared().kubeconfig.clone();
    let kubeconfig = kubeconfig.to_str().expect("UTF-8 path");
    // The CRDs exist (applied outside Helm) before the release that creates a Registry.
    let crds = yaml_file(&root().join("crds/emrex.eu.yaml"));
    let dir = tempfile::tempdir().expect("tempdir");
    apply_crds(dir.path(), &crds);
    let ns = unique("chart-helm");
    create_namespace(&ns);
    let helm = |action: &str, values: &str| {
        render_py(&[
            "--helm",
            action,
            "--kubeconfig",
            kubeconfig,
            "--namespace",
            &ns,
            "--name",
            "emrex",
            "--set-json",
            values,
        ])
    };
    let json_of = |out: &Finished| -> Value {
        assert!(out.status.success(), "{}", out.stderr_text());
        serde_json::from_slice(&out.stdout).expect("release JSON")
    };

    // CRDs that exist without Helm's ownership are not taken over by a release with
    // crds.enabled (docs/deploy.md: install with crds.enabled=false then, or adopt them).
    let taken = crds.iter().any(|c| {
        let name = c["metadata"]["name"].as_str().expect("name");
        let live: Value =
            serde_json::from_str(&kubectl_ok(&["get", "crd", name, "-o", "json"])).expect("json");
        !live["metadata"]["annotations"]["meta.helm.sh/release-name"].is_null()
    });
    if !taken {
        let out = helm("install", "{}");
        assert_eq!(out.status.code(), Some(1));
        assert!(
            out.stderr_text()
                .contains("exists and cannot be imported into the current release"),
            "{}",
            out.stderr_text()
        );
    }
    // Schema violations stop `helm install` before anything is applied.
    let out = helm("install", r#"{"crds":{"enabled":false},"replicas":"two"}"#);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr_text().contains("got string, want integer"));

    let base = r#"{"crds":{"enabled":false},"registry":{"enabled":true}}"#;
    let installed = json_of(&helm("install", base));
    assert_eq!(installed["status"], "deployed");
    assert_eq!(installed["revision"], 1);
    assert!(
        installed["notes"]
            .as_str()
            .expect("notes")
            .contains("kubectl get emrex")
    );
    let get = |kind: &str, name: &str| -> Result<Value, String> {
        let out = kubectl(&["get", kind, name, "-n", &ns, "-o", "json"]);
        if out.status.success() {
            Ok(serde_json::from_slice(&out.stdout).expect("json"))
        } else {
            Err(out.stderr_text())
        }
    };
    let deploy = get("deployment", "emrex").expect("the operator's Deployment");
    assert_eq!(deploy["spec"]["replicas"], 2);
    get("registry.emrex.eu", "emreg").expect("the shared Registry");

    let upgraded = json_of(&helm(
        "upgrade",
        r#"{"crds":{"enabled":false},"registry":{"enabled":true},"replicas":3}"#,
    ));
    assert_eq!(upgraded["revision"], 2);
    assert_eq!(
        get("deployment", "emrex").expect("Deployment")["spec"]["replicas"],
        3
    );

    let uninstalled = json_of(&helm("uninstall", "{}"));
    assert_eq!(uninstalled["status"], "uninstalled");
    eventually(Duration::from_secs(30), || {
        match (
            get("deployment", "emrex"),
            get("registry.emrex.eu", "emreg"),
        ) {
            (Err(a), Err(b)) if a.contains("NotFound") && b.contains("NotFound") => Ok(()),
            other => Err(format!("still there: {other:?}")),
        }
    });
    let cluster_role = format!("{ns}-emrex");
    assert!(
        kubectl(&["get", "clusterrole", &cluster_role])
            .status
            .code()
            == Some(1),
        "the ClusterRole left with the release"
    );
    // The CRDs stay (they were never the release's).
    wait_established(&CRD_NAMES);
    delete_namespaces_and(&[&ns], &[]);
}

/// Every key of values.yaml is described by values.schema.json, and every object level of the
/// schema refuses unknown keys (`additionalProperties: false`) unless it is a map of strings.
#[test]
fn the_schema_covers_every_value() {
    let values = yaml_file(&root().join("charts/emrex/values.yaml"));
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("charts/emrex/values.schema.json"))
            .expect("values.schema.json"),
    )
    .expect("schema JSON");
    fn resolve<'a>(schema: &'a Value, node: &'a Value) -> &'a Value {
        match node["$ref"].as_str() {
            Some(r) => {
                let name = r
                    .strip_prefix("#/definitions/")
                    .unwrap_or_else(|| panic!("unexpected $ref {r}"));
                &schema["definitions"][name]
            }
            None => node,
        }
    }
    fn walk(schema: &Value, node: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
        let node = resolve(schema, node);
        let Some(map) = value.as_object() else {
            return;
        };
        if node["additionalProperties"].is_object() {
            return; // a map (labels, annotations, nodeSelector): its values are typed
        }
        if node["type"] == "object" && node["properties"].is_object() {
            if node["additionalProperties"] != false {
                errors.push(format!("{path}: additionalProperties is not false"));
            }
            for (k, v) in map {
                match node["properties"].get(k) {
                    Some(sub) => walk(schema, sub, v, &format!("{path}.{k}"), errors),
                    None => errors.push(format!("{path}.{k}: not in the schema")),
                }
            }
        } else if !map.is_empty() {
            errors.push(format!("{path}: an object the schema does not describe"));
        }
    }
    let mut errors = Vec::new();
    walk(&schema, &schema, &values[0], "", &mut errors);
    assert!(errors.is_empty(), "values.schema.json: {errors:#?}");
    // The defaults themselves are valid (render.py with no values validates them).
    render(&[]);
}
