//! How long N NationalContactPoints (default 500; `EMREX_BENCH_NCPS`) take to become Ready on
//! the local control plane, and the operator's peak memory, beside a same-run baseline: the API
//! server's raw throughput for creating the same objects directly (the children the operator
//! would make, server-side applied by this process with the same concurrency).
//!
//! Everything is real: `emrex operator` and `emrex emreg` (external Registry, mTLS) run as
//! processes; the controller-manager makes ReplicaSets and Pods; this bench plays kubelet and
//! reports Pods Running and Ready, so `Available` and then `Ready` can follow.
//!
//! Run: `cargo bench -p emrex --bench operator_scale` (uses KUBECONFIG, or starts the local
//! control plane). Prints one JSON line with the numbers. `EMREX_BENCH_KEY_ALGORITHM=ECDSA`
//! makes the SigningCertificates P-256 instead of the default RSA-3072, whose key generation is
//! most of the operator's CPU (docs/benchmarks.md, "Operator"): the two runs side by side say
//! what the operator costs apart from generating keys.

#[path = "../tests/k8s_support/mod.rs"]
mod k8s_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use emrex_operator::build::ncp::{MtlsPem, NcpInputs};
use emrex_operator::build::{Owner, ncp};
use emrex_operator::crd::{NationalContactPoint, Registry, SigningCertificate};
use futures_util::stream::{self, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use k8s_support::*;

const CONCURRENCY: usize = 16;

fn ncp_json(i: usize) -> serde_json::Value {
    json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "NationalContactPoint",
        "metadata": {"name": format!("ncp-{i}")},
        "spec": {
            "countryCode": "FI",
            "institutions": [format!("University {i}")],
            "publicUrl": format!("https://ncp-{i}.example.org/"),
            "registryRef": "fed",
            "signingCertificateRef": format!("cert-{i}"),
            "login": {"issuer": "https://idp.example.org", "clientId": "emrex", "clientSecret": {"name": "oidc", "key": "secret"}},
            "source": {"kind": "Grpc", "endpoint": "https://sis.example.org:443"},
        },
    })
}

/// Baseline: the same children, server-side applied directly.
async fn baseline(client: &Client, ns: &str, n: usize) -> (Duration, usize) {
    let m = MtlsPem {
        ca: "ca".into(),
        server_cert: "c".into(),
        server_key: "k".into(),
        client_cert: "c".into(),
        client_key: "k".into(),
    };
    let start = Instant::now();
    let objects: usize = stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let m = m.clone();
            let ns = ns.to_string();
            async move {
                let obj: NationalContactPoint = serde_json::from_value(ncp_json(i)).expect("ncp");
                let owner = Owner {
                    api_version: "emrex.eu/v1alpha1".into(),
                    kind: "NationalContactPoint".into(),
                    name: format!("ncp-{i}"),
                    namespace: ns.clone(),
                    uid: format!("00000000-0000-0000-0000-{i:012}"),
                };
                let valid = ncp::validate(&obj, owner).expect("valid");
                let mut children = ncp::build(
                    &valid,
                    &NcpInputs {
                        image: "img",
                        signing_secret: "k",
                        mtls: &m,
                    },
                )
                .expect("build");
                // No owner references: the fake owner does not exist (the GC would delete them).
                let mut count = 0;
                let pp = PatchParams::apply("emrex-bench").force();
                macro_rules! put {
                    ($field:ident, $ty:ty) => {
                        for mut o in std::mem::take(&mut children.$field) {
                            o.metadata.owner_references = None;
                            let name = o.metadata.name.clone().expect("name");
                            Api::<$ty>::namespaced(client.clone(), &ns)
                                .patch(&name, &pp, &Patch::Apply(&o))
                                .await
                                .expect("apply");
                            count += 1;
                        }
                    };
                }
                put!(service_accounts, k8s_openapi::api::core::v1::ServiceAccount);
                put!(config_maps, k8s_openapi::api::core::v1::ConfigMap);
                put!(secrets, k8s_openapi::api::core::v1::Secret);
                put!(services, k8s_openapi::api::core::v1::Service);
                put!(
                    network_policies,
                    k8s_openapi::api::networking::v1::NetworkPolicy
                );
                put!(deployments, k8s_openapi::api::apps::v1::Deployment);
                put!(registry_entries, emrex_operator::crd::RegistryEntry);
                count
            }
        })
        .buffer_unordered(CONCURRENCY)
        .fold(0, |a, b| async move { a + b })
        .await;
    (start.elapsed(), objects)
}

/// Plays kubelet: every Pod not yet reported Ready is reported Running and Ready.
async fn kubelet(client: Client, ns: String, stop: Arc<AtomicBool>) -> usize {
    let api: Api<Pod> = Api::namespaced(client, &ns);
    let mut done = std::collections::HashSet::new();
    while !stop.load(Ordering::Relaxed) {
        if let Ok(pods) = api.list(&ListParams::default().match_any()).await {
            let todo: Vec<String> = pods
                .items
                .into_iter()
                .filter_map(|p| p.metadata.name)
                .filter(|n| !done.contains(n))
                .collect();
            let now = k8s_openapi::jiff::Timestamp::now().to_string();
            let results: Vec<(String, bool)> = stream::iter(todo)
                .map(|name| {
                    let api = api.clone();
                    let now = now.clone();
                    async move {
                        let patch = json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now}]}});
                        let ok = api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch)).await.is_ok();
                        (name, ok)
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            done.extend(results.into_iter().filter(|r| r.1).map(|r| r.0));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    done.len()
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_string)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("EMREX_BENCH_NCPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let key_algorithm =
        std::env::var("EMREX_BENCH_KEY_ALGORITHM").unwrap_or_else(|_| "RSA".to_string());
    assert!(
        key_algorithm == "RSA" || key_algorithm == "ECDSA",
        "EMREX_BENCH_KEY_ALGORITHM is RSA (default, 3072 bits) or ECDSA"
    );
    let (client, kubeconfig) = client().await;

    // Baseline first, in its own namespace.
    let base_ns = namespace(&client, "bench-base").await;
    let (base_time, base_objects) = baseline(&client, &base_ns, n).await;
    eprintln!(
        "baseline: {base_objects} objects in {:.1} s",
        base_time.as_secs_f64()
    );
    // Gone before the operator's run starts, so its deletion does not load the API server then.
    delete_namespace_within(&client, &base_ns, 1200).await;

    let ns = namespace(&client, "bench-op").await;
    let emreg = Emreg::start();
    emreg
        .create_client_secret(&client, &ns, "emreg-client")
        .await;
    // One replica: no Lease. (A leader gives up when it cannot renew for 10 s, which the API
    // server deleting thousands of objects at the end can cause; that is right for a Deployment
    // that restarts it, not for a bench that needs it to release the finalizers.)
    let op = Operator::start_with(&kubeconfig, &ns, "bench", &["--leader-election", "false"]);
    let pid = op.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let kubelet_task = tokio::spawn(kubelet(client.clone(), ns.clone(), stop.clone()));

    let start = Instant::now();
    apply::<Registry>(
        &client,
        &ns,
        json!({
            "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry", "metadata": {"name": "fed"},
            "spec": {"external": {"grpcEndpoint": emreg.endpoint(), "tlsSecret": "emreg-client"}},
        }),
    )
    .await;
    stream::iter(0..n)
        .map(|i| {
            let client = client.clone();
            let ns = ns.clone();
            let key_algorithm = key_algorithm.clone();
            async move {
                apply::<SigningCertificate>(&client, &ns, json!({
                    "apiVersion": "emrex.eu/v1alpha1", "kind": "SigningCertificate",
                    "metadata": {"name": format!("cert-{i}")},
                    "spec": {"secretName": format!("cert-{i}-key"), "commonName": format!("ncp-{i}.example.org"), "keyAlgorithm": key_algorithm},
                }))
                .await;
                apply::<NationalContactPoint>(&client, &ns, ncp_json(i)).await;
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<()>>()
        .await;
    let created = start.elapsed();
    eprintln!(
        "created {n} NCPs and certificates in {:.1} s",
        created.as_secs_f64()
    );

    let api: Api<NationalContactPoint> = Api::namespaced(client.clone(), &ns);
    let deadline = Instant::now() + Duration::from_secs(1800);
    // Two marks: every NCP Reconciled and Published (the operator's own work: children applied,
    // entry in EMREG), and every NCP Ready (also waits for the controller-manager to make
    // ReplicaSets and Pods, for our stand-in kubelet, and for the Deployment status to follow).
    let mut published_time = None;
    let ready_time = loop {
        let list = api
            .list(&ListParams::default().match_any())
            .await
            .expect("list");
        let ready = list.items.iter().filter(|o| is(o, "Ready", "True")).count();
        let published = list
            .items
            .iter()
            .filter(|o| is(o, "Reconciled", "True") && is(o, "Published", "True"))
            .count();
        if published == n && published_time.is_none() {
            published_time = Some(start.elapsed());
        }
        if ready == n {
            break start.elapsed();
        }
        assert!(
            Instant::now() < deadline,
            "only {ready}/{n} Ready after 30 min"
        );
        if start.elapsed().as_secs().is_multiple_of(10) {
            eprintln!(
                "{ready}/{n} Ready after {:.0} s",
                start.elapsed().as_secs_f64()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let peak = peak_rss_kib(pid);
    stop.store(true, Ordering::Relaxed);
    let pods = kubelet_task.await.unwrap_or(0);
    let listed = emreg.list_len().await;
    let operator_objects = base_objects; // the same children per NCP
    println!(
        "{}",
        json!({
            "ncps": n,
            "key_algorithm": key_algorithm,
            "baseline_objects": base_objects,
            "baseline_seconds": (base_time.as_secs_f64() * 10.0).round() / 10.0,
            "baseline_objects_per_second": (base_objects as f64 / base_time.as_secs_f64()).round(),
            "operator_ready_seconds": (ready_time.as_secs_f64() * 10.0).round() / 10.0,
            "operator_reconciled_and_published_seconds": published_time.map(|t| (t.as_secs_f64() * 10.0).round() / 10.0),
            "ratio_published_time_to_baseline": published_time.map(|t| (t.as_secs_f64() / base_time.as_secs_f64() * 100.0).round() / 100.0),
            "operator_children": operator_objects,
            "ratio_ready_time_to_baseline": (ready_time.as_secs_f64() / base_time.as_secs_f64() * 100.0).round() / 100.0,
            "operator_peak_rss_mib": (peak as f64 / 1024.0 * 10.0).round() / 10.0,
            "pods_reported_ready": pods,
            "emreg_entries": listed,
        })
    );
    if let Some(t) = published_time {
        emrex_tests::figures::record(
            "operator_scale",
            "operator_reconciled_vs_raw",
            t.as_secs_f64() / base_time.as_secs_f64(),
            &format!(
                "{n} NCPs Reconciled + Published in {:.1} s ÷ raw apply of the same {base_objects} children in {:.1} s",
                t.as_secs_f64(),
                base_time.as_secs_f64()
            ),
        );
    }
    delete_namespace_within(&client, &ns, 1200).await;
    drop(op);
}
