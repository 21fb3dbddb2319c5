//! The node of `scripts/k8s-control-plane.sh start DIR --with-node` runs Pods for real: the
//! scheduler binds a Pod, the kubelet starts it in containerd (runc, the locally built pause
//! image, CNI bridge networking) and reports it Ready from its readiness probe; a second Pod
//! resolves a Service name through the cluster DNS and reaches the Service's ClusterIP through
//! kube-proxy; its log comes back through the API server from the kubelet; and the host reaches
//! the ClusterIP too (what an ingress on the node does).
//!
//! Needs root and the machine's one node: ignored in the default run, run by
//! `scripts/test.sh --node` (docs/testing.md, "A real node").

use std::process::Command;
use std::time::{Duration, Instant};

use emrex_tests::k8s::ControlPlane;
use serde_json::{Value, json};

const TOOLBOX: &str = "localhost/emrex-toolbox:1";

fn kubectl(cp: &ControlPlane, args: &[&str], stdin: Option<&Value>) -> String {
    use std::io::Write;
    let mut cmd = Command::new("kubectl");
    cmd.arg("--kubeconfig").arg(&cp.kubeconfig).args(args);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("kubectl");
    if let Some(body) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(body.to_string().as_bytes())
            .expect("write");
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("kubectl");
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pod(name: &str, ns: &str, labels: Value, command: &str, probe: Option<Value>) -> Value {
    let mut container = json!({
        "name": "main",
        "image": TOOLBOX,
        "imagePullPolicy": "Never",
        "command": ["/bin/sh", "-c", command],
        "securityContext": {
            "runAsNonRoot": true, "runAsUser": 65532, "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    });
    if let Some(p) = probe {
        container["readinessProbe"] = p;
    }
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "containers": [container],
            "volumes": [{"name": "tmp", "emptyDir": {}}],
        },
    })
}

fn phase(cp: &ControlPlane, ns: &str, name: &str) -> Value {
    cp.kubectl_like_get(&format!("/api/v1/namespaces/{ns}/pods/{name}"))
}

#[test]
#[ignore = "needs root and the machine's one node: run by scripts/test.sh --node (docs/testing.md)"]
fn a_pod_runs_resolves_a_service_by_name_and_reaches_cluster_ips() {
    let cp = ControlPlane::with_node();
    let ns = format!("node-selftest-{}", std::process::id());
    cp.post(
        "/api/v1/namespaces",
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
    )
    .expect("namespace");

    // A web server Pod, Ready only once its probe answers, behind a Service.
    let greeting = format!("hello from {ns}");
    let server = pod(
        "hello",
        &ns,
        json!({"app": "hello"}),
        &format!("echo '{greeting}' > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"),
        Some(json!({"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1})),
    );
    let service = json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "hello", "namespace": ns},
        "spec": {"selector": {"app": "hello"}, "ports": [{"port": 80, "targetPort": 8080}]},
    });
    kubectl(
        cp,
        &["apply", "-f", "-"],
        Some(&json!({"apiVersion": "v1", "kind": "List", "items": [server, service]})),
    );
    kubectl(
        cp,
        &[
            "-n",
            &ns,
            "wait",
            "--for=condition=Ready",
            "pod/hello",
            "--timeout=120s",
        ],
        None,
    );
    let hello = phase(cp, &ns, "hello");
    assert_eq!(
        hello["spec"]["nodeName"], "emrex-node",
        "scheduled: {hello}"
    );
    let pod_ip = hello["status"]["podIP"].as_str().expect("pod IP");
    assert!(pod_ip.starts_with("10.244.0."), "{pod_ip}");

    // A client Pod: the Service by its short and full names, the API server's Service by name.
    let script = format!(
        "nslookup hello.{ns}.svc.cluster.local && nslookup kubernetes.default.svc.cluster.local \
         && wget -q -O - http://hello/index.html && wget -q -O - http://hello.{ns}.svc/index.html"
    );
    kubectl(
        cp,
        &["apply", "-f", "-"],
        Some(&pod("client", &ns, json!({"app": "client"}), &script, None)),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let client = loop {
        let p = phase(cp, &ns, "client");
        if matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
            break p;
        }
        assert!(Instant::now() < deadline, "client Pod did not finish: {p}");
        std::thread::sleep(Duration::from_millis(500));
    };
    // The log through the API server from the kubelet.
    let log = kubectl(cp, &["-n", &ns, "logs", "client"], None);
    assert_eq!(
        client["status"]["phase"], "Succeeded",
        "client failed; log:\n{log}\n{client}"
    );
    let service_ip = cp.kubectl_like_get(&format!("/api/v1/namespaces/{ns}/services/hello"))
        ["spec"]["clusterIP"]
        .as_str()
        .expect("cluster IP")
        .to_string();
    assert!(log.contains(&format!("Address: {service_ip}")), "{log}");
    assert!(log.contains("Address: 10.96.0.1"), "{log}");
    assert_eq!(log.matches(&greeting).count(), 2, "{log}");

    // The host reaches the ClusterIP through kube-proxy's rules.
    let out = Command::new("curl")
        .args(["-sf", "--max-time", "10"])
        .arg(format!("http://{service_ip}/index.html"))
        .output()
        .expect("curl");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        greeting,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let _ = cp.delete(&format!("/api/v1/namespaces/{ns}"));
}
