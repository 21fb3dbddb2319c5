//! `emrex operator` (a process) against a real kube-apiserver + kube-controller-manager (the
//! local 1.20 control plane, or the cluster in KUBECONFIG), with a real `emrex emreg` process as
//! the external Registry. There is no kubelet: Pods never run, so tests report them Running and
//! Ready the way a kubelet would when they want `Available`.

mod k8s_support;

use std::time::{Duration, Instant};

use emrex_operator::crd::{
    NationalContactPoint, Registry, RegistryEntry, SigningCertificate, StudentMobilityPlugin,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service, ServiceAccount};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::api::{DeleteParams, PostParams};
use kube::{Api, ResourceExt};
use serde_json::json;

use k8s_support::*;

fn external_registry(name: &str, endpoint: &str, secret: &str) -> serde_json::Value {
    json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry",
        "metadata": {"name": name},
        "spec": {"external": {"grpcEndpoint": endpoint, "tlsSecret": secret}},
    })
}

fn signing_certificate(name: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut spec =
        json!({"secretName": format!("{name}-key"), "commonName": format!("{name}.example.org")});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    json!({"apiVersion": "emrex.eu/v1alpha1", "kind": "SigningCertificate", "metadata": {"name": name}, "spec": spec})
}

fn ncp(name: &str, registry: &str, cert: &str, institutions: &[&str]) -> serde_json::Value {
    json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "NationalContactPoint",
        "metadata": {"name": name},
        "spec": {
            "countryCode": "FI",
            "institutions": institutions,
            "publicUrl": format!("https://{name}.example.org/emrex"),
            "registryRef": registry,
            "signingCertificateRef": cert,
            "login": {"issuer": "https://idp.example.org", "clientId": "emrex", "clientSecret": {"name": "oidc", "key": "secret"}},
            "source": {"kind": "Grpc", "endpoint": "https://sis.example.org:443"},
        },
    })
}

fn volumes_of(d: &Deployment) -> Vec<String> {
    let v = serde_json::to_value(d).expect("json");
    v["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["secret"]["secretName"].as_str().map(str::to_string))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ncp_gets_its_children_publishes_to_an_external_emreg_follows_changes_and_is_collected()
{
    let (client, kubeconfig) = client().await;
    let ns = namespace(&client, "op-ncp").await;
    let emreg = Emreg::start();
    emreg
        .create_client_secret(&client, &ns, "emreg-client")
        .await;
    let _op = Operator::start(&kubeconfig, &ns, "op-ncp-1");

    apply::<Registry>(
        &client,
        &ns,
        external_registry("fed", &emreg.endpoint(), "emreg-client"),
    )
    .await;
    apply::<SigningCertificate>(
        &client,
        &ns,
        signing_certificate("uni-cert", json!({"keyAlgorithm": "RSA", "keySize": 2048})),
    )
    .await;
    apply::<NationalContactPoint>(
        &client,
        &ns,
        ncp("uni", "fed", "uni-cert", &["Example University"]),
    )
    .await;
    apply::<StudentMobilityPlugin>(
        &client,
        &ns,
        json!({
            "apiVersion": "emrex.eu/v1alpha1", "kind": "StudentMobilityPlugin",
            "metadata": {"name": "smp"},
            "spec": {"publicUrl": "https://smp.example.org", "registryRef": "fed"},
        }),
    )
    .await;

    // Reconciled and Published; not Available (no kubelet) with a reason that says so.
    let n: NationalContactPoint = wait_for(
        &client,
        &ns,
        "uni",
        60,
        "Reconciled and Published",
        |o: &NationalContactPoint| is(o, "Reconciled", "True") && is(o, "Published", "True"),
    )
    .await;
    let (st, reason, msg) = condition(&n, "Available").expect("Available");
    assert_eq!(
        (st.as_str(), reason.as_str()),
        ("False", "ReplicasUnavailable"),
        "{msg}"
    );
    assert!(
        msg.contains("uni-ncp 0/1") && msg.contains("uni-signer 0/1"),
        "{msg}"
    );
    assert!(is(&n, "Ready", "False"));
    assert_eq!(
        n.status.as_ref().and_then(|s| s.common.observed_generation),
        n.metadata.generation
    );

    // Children: owned, labelled; the signing key only in the Signer's Pods.
    let deps: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let ncp_dep = deps.get("uni-ncp").await.expect("uni-ncp");
    let signer_dep = deps.get("uni-signer").await.expect("uni-signer");
    assert!(volumes_of(&signer_dep).contains(&"uni-cert-key".to_string()));
    assert!(
        !volumes_of(&ncp_dep).contains(&"uni-cert-key".to_string()),
        "the NCP must not mount the signing key"
    );
    let owner = &ncp_dep
        .metadata
        .owner_references
        .as_ref()
        .expect("owner refs")[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str(), owner.controller),
        ("NationalContactPoint", "uni", Some(true))
    );
    let np: Api<NetworkPolicy> = Api::namespaced(client.clone(), &ns);
    let policy = serde_json::to_value(np.get("uni-signer").await.expect("netpol")).expect("json");
    assert_eq!(
        policy["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/component"],
        "ncp"
    );
    for name in ["uni-ncp", "uni-signer"] {
        Api::<ConfigMap>::namespaced(client.clone(), &ns)
            .get(name)
            .await
            .expect("configmap");
        Api::<ServiceAccount>::namespaced(client.clone(), &ns)
            .get(name)
            .await
            .expect("service account");
    }
    Api::<Service>::namespaced(client.clone(), &ns)
        .get("uni")
        .await
        .expect("service");
    let entry: RegistryEntry =
        wait_for(&client, &ns, "uni", 30, "Published", |e: &RegistryEntry| {
            is(e, "Published", "True")
        })
        .await;
    assert_eq!(entry.finalizers(), ["emrex.eu/registry-entry"]);

    // The EMREG lists it with exactly the certificate the Signer's Secret holds.
    let listed = emreg.get("uni").await.expect("entry in EMREG");
    let current = secret_entry(&client, &ns, "uni-cert-key", "tls.crt")
        .await
        .expect("tls.crt");
    assert_eq!(
        fingerprints(&listed.certificates_pem),
        fingerprints(&[current])
    );
    assert_eq!(listed.institutions, ["Example University"]);
    assert_eq!(listed.url, "https://uni.example.org/emrex");

    // The SMP reads that registry.
    let smp: StudentMobilityPlugin = wait_for(
        &client,
        &ns,
        "smp",
        30,
        "Reconciled",
        |o: &StudentMobilityPlugin| is(o, "Reconciled", "True"),
    )
    .await;
    assert!(is(&smp, "Available", "False"));
    let smp_toml = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("smp-smp")
        .await
        .expect("cm")
        .data
        .expect("data")["smp.toml"]
        .clone();
    assert!(smp_toml.contains(&emreg.endpoint()), "{smp_toml}");

    // Pods reported running (as a kubelet would) → Available, then Ready.
    let pods = run_pods(&client, &ns, "app.kubernetes.io/instance=uni").await;
    assert_eq!(pods, 2);
    let n: NationalContactPoint = wait_for(
        &client,
        &ns,
        "uni",
        60,
        "Ready",
        |o: &NationalContactPoint| is(o, "Ready", "True"),
    )
    .await;
    assert!(is(&n, "Available", "True"));

    // A spec change: children and the EMREG entry follow; generation is observed.
    let mut changed = ncp(
        "uni",
        "fed",
        "uni-cert",
        &["Example University", "Example Polytechnic"],
    );
    changed["spec"]["workload"] = json!({"replicas": 2});
    // Two replicas share their exchanges in PostgreSQL (a Secret the
    // Deployment reads at start; the test's kubelet-less Pods never do).
    changed["spec"]["postgresUrl"] = json!({"name": "ncp-db", "key": "url"});
    apply::<NationalContactPoint>(&client, &ns, changed).await;
    let n: NationalContactPoint = wait_for(
        &client,
        &ns,
        "uni",
        60,
        "generation 2 observed",
        |o: &NationalContactPoint| {
            o.status.as_ref().and_then(|s| s.common.observed_generation) == Some(2)
                && is(o, "Reconciled", "True")
        },
    )
    .await;
    assert_eq!(n.metadata.generation, Some(2));
    let d = deps.get("uni-ncp").await.expect("dep");
    assert_eq!(d.spec.as_ref().and_then(|s| s.replicas), Some(2));
    let svc = Api::<Service>::namespaced(client.clone(), &ns)
        .get("uni")
        .await
        .expect("svc");
    // Replicas share their exchanges: any Pod serves any step, so no affinity (which behind
    // an ingress would send every student to one Pod).
    assert_eq!(
        svc.spec.and_then(|s| s.session_affinity).as_deref(),
        Some("None")
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let e = emreg.get("uni").await.expect("entry");
        if e.institutions.len() == 2 {
            break;
        }
        assert!(Instant::now() < deadline, "EMREG entry not updated: {e:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Switching the source to a directory changes the configuration and rolls the Pods.
    let before = d
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    let mut dir = ncp(
        "uni",
        "fed",
        "uni-cert",
        &["Example University", "Example Polytechnic"],
    );
    dir["spec"]["workload"] = json!({"replicas": 2});
    dir["spec"]["postgresUrl"] = json!({"name": "ncp-db", "key": "url"});
    dir["spec"]["source"] = json!({"kind": "Directory", "claimName": "results"});
    apply::<NationalContactPoint>(&client, &ns, dir).await;
    wait_for(
        &client,
        &ns,
        "uni",
        60,
        "generation 3 observed",
        |o: &NationalContactPoint| {
            o.status.as_ref().and_then(|s| s.common.observed_generation) == Some(3)
        },
    )
    .await;
    let d = deps.get("uni-ncp").await.expect("dep");
    let after = d
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.clone())
        .unwrap_or_default();
    assert_ne!(
        before.get("emrex.eu/config-hash"),
        after.get("emrex.eu/config-hash")
    );
    let toml = Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .get("uni-ncp")
        .await
        .expect("cm")
        .data
        .expect("data")["ncp.toml"]
        .clone();
    assert!(toml.contains("kind = \"directory\""), "{toml}");

    // Delete: the garbage collector removes the children, the finalizer removes the entry
    // from the EMREG first.
    Api::<NationalContactPoint>::namespaced(client.clone(), &ns)
        .delete("uni", &DeleteParams::foreground())
        .await
        .expect("delete");
    wait_gone::<NationalContactPoint>(&client, &ns, "uni", 60).await;
    for name in ["uni-ncp", "uni-signer"] {
        wait_gone::<Deployment>(&client, &ns, name, 60).await;
    }
    wait_gone::<RegistryEntry>(&client, &ns, "uni", 60).await;
    assert!(emreg.get("uni").await.is_none(), "the entry left the EMREG");
    // The signing key is not owned: deleting the NCP never deletes a key.
    assert!(
        Api::<Secret>::namespaced(client.clone(), &ns)
            .get_opt("uni-cert-key")
            .await
            .expect("get")
            .is_some()
    );
    delete_namespace(&client, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_lived_signing_certificate_rotates_with_overlap_visible_in_emreg() {
    let (client, kubeconfig) = client().await;
    let ns = namespace(&client, "op-rot").await;
    let emreg = Emreg::start();
    emreg
        .create_client_secret(&client, &ns, "emreg-client")
        .await;
    let op = Operator::start(&kubeconfig, &ns, "op-rot-1");
    apply::<Registry>(
        &client,
        &ns,
        external_registry("fed", &emreg.endpoint(), "emreg-client"),
    )
    .await;
    // Renewal 30 s after issuance; the switch 5 s after the next certificate is published (a window
    // that 150 ms samples cannot miss even on a loaded machine); the
    // old certificate listed for 5 s more.
    apply::<SigningCertificate>(&client, &ns, signing_certificate("rot", json!({
        "duration": "90s", "renewBefore": "60s", "propagationDelay": "5s", "gracePeriod": "5s",
    })))
    .await;
    apply::<RegistryEntry>(&client, &ns, json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "RegistryEntry",
        "metadata": {"name": "rot"},
        "spec": {
            "registryRef": "fed", "acronym": "ROT", "countryCode": "NO",
            "url": "https://rot.example.org/", "certificates": [{"signingCertificateRef": "rot"}],
        },
    }))
    .await;
    let sc: SigningCertificate = wait_for(
        &client,
        &ns,
        "rot",
        30,
        "Ready",
        |o: &SigningCertificate| is(o, "Ready", "True"),
    )
    .await;
    let st = sc.status.clone().expect("status");
    let first = st.fingerprint.clone().expect("fingerprint");
    for t in [&st.not_before, &st.not_after, &st.renewal_time] {
        let t = t.as_deref().expect("time");
        assert!(
            t.ends_with('Z') && !t.contains('.'),
            "whole seconds in RFC 3339: {t}"
        );
    }

    // Sample the Signer's key material and the EMREG entry until the old certificate is gone.
    let mut samples: Vec<(String, Vec<String>)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let current = secret_entry(&client, &ns, "rot-key", "tls.crt")
            .await
            .map(|p| fingerprints(&[p])[0].clone());
        let listed = emreg
            .get("ROT")
            .await
            .map(|e| fingerprints(&e.certificates_pem))
            .unwrap_or_default();
        if let Some(c) = current {
            if samples.last() != Some(&(c.clone(), listed.clone())) {
                samples.push((c.clone(), listed.clone()));
            }
            if c != first && listed == [c.clone()] {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "rotation did not finish; samples: {samples:#?}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let second = samples.last().expect("sample").0.clone();
    // Every moment after the first publication: the certificate the Signer signs with is listed.
    let published_from = samples
        .iter()
        .position(|(_, l)| !l.is_empty())
        .expect("the entry was published");
    for (current, listed) in &samples[published_from..] {
        assert!(
            listed.contains(current),
            "signing with an unlisted certificate: {samples:#?}"
        );
    }
    type Sample = (String, Vec<String>);
    let pos = |want: &dyn Fn(&Sample) -> bool| samples.iter().position(want);
    // Both listed, in either order: a relying party accepts any listed certificate, so the order
    // of the list is not what the overlap is about.
    let both = |l: &[String]| l.len() == 2 && l.contains(&first) && l.contains(&second);
    let overlap_before = pos(&|(c, l)| *c == first && both(l))
        .unwrap_or_else(|| panic!("next published before the switch: {samples:#?}"));
    let switched = pos(&|(c, _)| *c == second).expect("switch");
    let overlap_after = pos(&|(c, l)| *c == second && both(l))
        .unwrap_or_else(|| panic!("previous kept after the switch: {samples:#?}"));
    assert!(
        overlap_before < switched && switched <= overlap_after,
        "{samples:#?}"
    );

    let sc: SigningCertificate = wait_for(
        &client,
        &ns,
        "rot",
        30,
        "previous dropped",
        |o: &SigningCertificate| {
            o.status.as_ref().is_some_and(|s| {
                s.previous_fingerprint.is_none()
                    && s.fingerprint.as_deref() == Some(second.as_str())
            })
        },
    )
    .await;
    assert!(sc.status.and_then(|s| s.next_fingerprint).is_none());
    let evs: Vec<String> = events(&client, &ns, "rot")
        .await
        .into_iter()
        .map(|e| e.1)
        .collect();
    for want in ["Issued", "NextIssued", "Switched", "PreviousRemoved"] {
        assert!(evs.iter().any(|e| e == want), "event {want} in {evs:?}");
    }
    let (_, metrics) = op.admin_get("/metrics");
    assert!(
        metrics.contains("emrex_operator_certificate_expiration_timestamp_seconds{"),
        "{metrics}"
    );
    assert!(
        metrics.contains("emrex_operator_reconciles_total{controller=\"signingcertificate\"}"),
        "{metrics}"
    );
    delete_namespace(&client, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_specs_get_a_condition_and_an_event_and_a_fix_recovers() {
    let (client, kubeconfig) = client().await;
    let ns = namespace(&client, "op-bad").await;
    let op = Operator::start(&kubeconfig, &ns, "op-bad-1");
    apply::<SigningCertificate>(
        &client,
        &ns,
        signing_certificate("weak", json!({"keyAlgorithm": "RSA", "keySize": 1024})),
    )
    .await;
    let mut bad = ncp("bad", "fed", "weak", &[]);
    bad["spec"]["countryCode"] = json!("Finland");
    apply::<NationalContactPoint>(&client, &ns, bad).await;

    let sc: SigningCertificate = wait_for(
        &client,
        &ns,
        "weak",
        30,
        "InvalidSpec",
        |o: &SigningCertificate| condition(o, "Reconciled").is_some_and(|c| c.1 == "InvalidSpec"),
    )
    .await;
    assert!(
        condition(&sc, "Reconciled")
            .expect("c")
            .2
            .contains("keySize 1024"),
        "{sc:?}"
    );
    let n: NationalContactPoint = wait_for(
        &client,
        &ns,
        "bad",
        30,
        "InvalidSpec",
        |o: &NationalContactPoint| condition(o, "Reconciled").is_some_and(|c| c.1 == "InvalidSpec"),
    )
    .await;
    assert!(
        condition(&n, "Reconciled")
            .expect("c")
            .2
            .contains("spec.countryCode"),
        "{n:?}"
    );
    assert!(is(&n, "Ready", "False"));
    assert!(
        Api::<Deployment>::namespaced(client.clone(), &ns)
            .get_opt("bad-ncp")
            .await
            .expect("get")
            .is_none()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let evs = events(&client, &ns, "bad").await;
        if evs.iter().any(|(t, r, note)| {
            t == "Warning" && r == "InvalidSpec" && note.contains("countryCode")
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "no InvalidSpec event: {evs:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Still alive and ready: an invalid object is not a crash loop.
    assert_eq!(op.admin_get("/live").0, 200);
    assert_eq!(op.admin_get("/ready").0, 200);

    // Fixing the spec recovers.
    apply::<SigningCertificate>(
        &client,
        &ns,
        signing_certificate("weak", json!({"keyAlgorithm": "RSA", "keySize": 3072})),
    )
    .await;
    apply::<NationalContactPoint>(&client, &ns, ncp("bad", "fed", "weak", &[])).await;
    wait_for(
        &client,
        &ns,
        "weak",
        60,
        "issued",
        |o: &SigningCertificate| is(o, "Ready", "True"),
    )
    .await;
    wait_for(
        &client,
        &ns,
        "bad",
        60,
        "Reconciled",
        |o: &NationalContactPoint| is(o, "Reconciled", "True"),
    )
    .await;
    let pem = secret_entry(&client, &ns, "weak-key", "tls.crt")
        .await
        .expect("cert");
    let info = emrex_operator::pki::cert_info(&pem).expect("info");
    assert_eq!(info.key, "RSA-3072");

    // Deleting the Secret forces a re-issue at once (the controller watches its Secret).
    Api::<Secret>::namespaced(client.clone(), &ns)
        .delete("weak-key", &DeleteParams::default())
        .await
        .expect("delete secret");
    let sc: SigningCertificate = wait_for(
        &client,
        &ns,
        "weak",
        30,
        "re-issued",
        |o: &SigningCertificate| {
            o.status
                .as_ref()
                .and_then(|s| s.fingerprint.as_deref())
                .is_some_and(|f| f != info.fingerprint)
        },
    )
    .await;
    let pem = secret_entry(&client, &ns, "weak-key", "tls.crt")
        .await
        .expect("re-issued cert");
    assert_eq!(
        sc.status.and_then(|s| s.fingerprint),
        Some(fingerprints(&[pem])[0].clone())
    );

    // A Secret of that name the operator did not write is left alone, and said so…
    let secrets = Api::<Secret>::namespaced(client.clone(), &ns);
    let someone_elses: Secret = serde_json::from_value(json!({
        "metadata": {"name": "mine-key"},
        "type": "Opaque",
        "stringData": {"note": "not a signing key"},
    }))
    .expect("secret");
    secrets
        .create(&PostParams::default(), &someone_elses)
        .await
        .expect("create");
    apply::<SigningCertificate>(
        &client,
        &ns,
        signing_certificate("mine", json!({"keyAlgorithm": "ECDSA"})),
    )
    .await;
    let sc: SigningCertificate = wait_for(
        &client,
        &ns,
        "mine",
        30,
        "InvalidSpec",
        |o: &SigningCertificate| condition(o, "Reconciled").is_some_and(|c| c.1 == "InvalidSpec"),
    )
    .await;
    let why = condition(&sc, "Reconciled").expect("c").2;
    assert!(
        why.contains("\"mine-key\" already exists") && why.contains("type Opaque"),
        "{why}"
    );
    let kept = secrets.get("mine-key").await.expect("get");
    assert_eq!(kept.type_.as_deref(), Some("Opaque"));
    assert_eq!(
        kept.data.unwrap_or_default().keys().collect::<Vec<_>>(),
        ["note"]
    );
    // …and a kubernetes.io/tls Secret with a key of one's own, labelled for it, is taken over
    // and kept (it matches the spec: common name and key type).
    secrets
        .delete("mine-key", &DeleteParams::default())
        .await
        .expect("delete");
    let now = k8s_openapi::jiff::Timestamp::now();
    let brought = emrex_operator::pki::issue_signing(
        &emrex_operator::pki::SigningRequest {
            common_name: "mine.example.org".into(),
            organization: None,
            algorithm: emrex_operator::crd::KeyAlgorithm::ECDSA,
            rsa_bits: 0,
            not_before: now,
            not_after: now
                .checked_add(k8s_openapi::jiff::SignedDuration::from_hours(80 * 24))
                .expect("time"),
        },
        None,
    )
    .expect("a key of one's own");
    let handed_over: Secret = serde_json::from_value(json!({
        "metadata": {"name": "mine-key", "labels": {"emrex.eu/signing-certificate": "mine"}},
        "type": "kubernetes.io/tls",
        "stringData": {"tls.key": brought.key_pem, "tls.crt": brought.cert_pem},
    }))
    .expect("secret");
    secrets
        .create(&PostParams::default(), &handed_over)
        .await
        .expect("create");
    let expected = fingerprints(std::slice::from_ref(&brought.cert_pem))[0].clone();
    wait_for(
        &client,
        &ns,
        "mine",
        30,
        "the brought key in use",
        |o: &SigningCertificate| {
            is(o, "Ready", "True")
                && o.status.as_ref().and_then(|s| s.fingerprint.as_deref())
                    == Some(expected.as_str())
        },
    )
    .await;
    assert_eq!(
        secret_entry(&client, &ns, "mine-key", "tls.crt").await,
        Some(brought.cert_pem)
    );
    delete_namespace(&client, &ns).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_election_hands_over_and_a_restarted_operator_converges() {
    let (client, kubeconfig) = client().await;
    let ns = namespace(&client, "op-ha").await;
    let a = Operator::start(&kubeconfig, &ns, "replica-a");
    // A leads (it started first); B stands by, ready but not leading.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !a
        .admin_get("/metrics")
        .1
        .contains("emrex_operator_leader 1")
    {
        assert!(Instant::now() < deadline, "A never led");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let b = Operator::start(&kubeconfig, &ns, "replica-b");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        b.admin_get("/metrics")
            .1
            .contains("emrex_operator_leader 0")
    );
    assert_eq!(b.admin_get("/ready").0, 200);
    let lease: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), &ns);
    let holder = lease
        .get("emrex-operator")
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.holder_identity);
    assert_eq!(holder.as_deref(), Some("replica-a"));

    apply::<SigningCertificate>(&client, &ns, signing_certificate("c1", json!({}))).await;
    apply::<NationalContactPoint>(&client, &ns, ncp("one", "fed", "c1", &["One"])).await;
    wait_for(
        &client,
        &ns,
        "one",
        30,
        "Reconciled",
        |o: &NationalContactPoint| is(o, "Reconciled", "True"),
    )
    .await;

    // A crashes (no Lease release). While nobody leads, the spec changes; B takes over once
    // the Lease expires and converges.
    a.kill();
    let mut changed = ncp("one", "fed", "c1", &["One"]);
    changed["spec"]["signerWorkload"] = json!({"replicas": 3});
    apply::<NationalContactPoint>(&client, &ns, changed).await;
    let d: Deployment = wait_for(
        &client,
        &ns,
        "one-signer",
        60,
        "3 replicas",
        |d: &Deployment| d.spec.as_ref().and_then(|s| s.replicas) == Some(3),
    )
    .await;
    assert_eq!(d.name_any(), "one-signer");
    let holder = lease
        .get("emrex-operator")
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.holder_identity);
    assert_eq!(holder.as_deref(), Some("replica-b"));

    // A clean stop releases the Lease; a fresh operator takes over at once and converges on
    // drift made while it was away (a child deleted by hand comes back).
    assert!(b.stop(), "SIGTERM exits 0");
    Api::<ConfigMap>::namespaced(client.clone(), &ns)
        .delete("one-ncp", &DeleteParams::default())
        .await
        .expect("delete cm");
    let c = Operator::start(&kubeconfig, &ns, "replica-c");
    wait_for(
        &client,
        &ns,
        "one-ncp",
        30,
        "re-created",
        |_: &ConfigMap| true,
    )
    .await;
    delete_namespace(&client, &ns).await;
    drop(c);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_run_in_the_cluster_gets_an_emreg_and_entries_wait_for_it() {
    let (client, kubeconfig) = client().await;
    let ns = namespace(&client, "op-reg").await;
    let _op = Operator::start(&kubeconfig, &ns, "op-reg-1");
    apply::<Registry>(&client, &ns, json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry", "metadata": {"name": "fed"}, "spec": {},
    }))
    .await;
    apply::<SigningCertificate>(&client, &ns, signing_certificate("c", json!({}))).await;
    apply::<NationalContactPoint>(&client, &ns, ncp("n", "fed", "c", &["N"])).await;
    let r: Registry = wait_for(&client, &ns, "fed", 30, "Reconciled", |o: &Registry| {
        is(o, "Reconciled", "True")
    })
    .await;
    assert!(is(&r, "Available", "False"));
    let d = Api::<Deployment>::namespaced(client.clone(), &ns)
        .get("fed-emreg")
        .await
        .expect("emreg deployment");
    let args = d
        .spec
        .and_then(|s| s.template.spec)
        .map(|s| s.containers[0].args.clone().unwrap_or_default())
        .unwrap_or_default();
    assert_eq!(args[0], "emreg");
    let e: RegistryEntry = wait_for(&client, &ns, "n", 30, "waiting", |e: &RegistryEntry| {
        condition(e, "Published").is_some_and(|c| c.1 == "RegistryUnavailable")
    })
    .await;
    assert!(is(&e, "Ready", "False"));
    // The EMREG's Pods report ready → the Registry is Available.
    assert_eq!(
        run_pods(&client, &ns, "app.kubernetes.io/component=emreg").await,
        1
    );
    wait_for(&client, &ns, "fed", 60, "Available", |o: &Registry| {
        is(o, "Available", "True")
    })
    .await;
    // Deleting the Registry releases the entries it can no longer reach: deleting the NCP
    // then completes instead of wedging on the finalizer.
    Api::<Registry>::namespaced(client.clone(), &ns)
        .delete("fed", &DeleteParams::default())
        .await
        .expect("delete");
    wait_gone::<Registry>(&client, &ns, "fed", 30).await;
    Api::<NationalContactPoint>::namespaced(client.clone(), &ns)
        .delete("n", &DeleteParams::foreground())
        .await
        .expect("delete");
    wait_gone::<RegistryEntry>(&client, &ns, "n", 60).await;
    let released = events(&client, &ns, "n").await;
    assert!(
        released
            .iter()
            .any(|(t, r, _)| t == "Warning" && r == "RegistryNotFound"),
        "{released:?}"
    );
    delete_namespace(&client, &ns).await;
}

/// Replicas that share a PostgreSQL: an SMP with two replicas gets a PodDisruptionBudget (in the
/// version this API server serves), no session affinity, and its result-link key Secret; a key
/// rotated by hand in that Secret is kept; back to one replica, the budget is pruned. An NCP
/// asking for two replicas without a shared store is refused with a condition.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_get_a_disruption_budget_and_the_smp_keeps_its_link_keys() {
    use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
    let (client, kubeconfig) = client().await;
    let ns = namespace(&client, "op-replicas").await;
    let _op = Operator::start(&kubeconfig, &ns, "op-replicas-1");
    apply::<Registry>(&client, &ns, json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry", "metadata": {"name": "fed"}, "spec": {},
    }))
    .await;
    let smp = |replicas: i32| {
        json!({
            "apiVersion": "emrex.eu/v1alpha1", "kind": "StudentMobilityPlugin",
            "metadata": {"name": "mob"},
            "spec": {"publicUrl": "https://mob.example", "registryRef": "fed",
                     "postgresUrl": {"name": "smp-db", "key": "url"},
                     "workload": {"replicas": replicas}},
        })
    };
    apply::<StudentMobilityPlugin>(&client, &ns, smp(2)).await;
    wait_for(
        &client,
        &ns,
        "mob",
        30,
        "Reconciled",
        |o: &StudentMobilityPlugin| is(o, "Reconciled", "True"),
    )
    .await;

    // The budget, in whichever policy version this server serves.
    let discovered = emrex_operator::apply::disruption_budget_api(&client)
        .await
        .expect("discovery");
    let version = client.apiserver_version().await.expect("version");
    let minor: u32 = version.minor.trim_end_matches('+').parse().expect("minor");
    assert_eq!(
        discovered.version,
        if minor >= 21 { "v1" } else { "v1beta1" },
        "{version:?}"
    );
    let pdbs: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &ApiResource::from_gvk(&GroupVersionKind::gvk(
            "policy",
            &discovered.version,
            "PodDisruptionBudget",
        )),
    );
    let pdb = pdbs.get("mob-smp").await.expect("the SMP's budget");
    assert_eq!(pdb.data["spec"]["maxUnavailable"], 1);
    let svc = Api::<Service>::namespaced(client.clone(), &ns)
        .get("mob")
        .await
        .expect("service");
    assert_ne!(
        svc.spec.and_then(|s| s.session_affinity).as_deref(),
        Some("ClientIP"),
        "no session affinity"
    );

    // The link key Secret: made once, and a hand rotation is kept.
    let keys = secret_entry(&client, &ns, "mob-smp-links", "keys")
        .await
        .expect("link keys");
    assert!(keys.trim().len() >= 43, "{keys:?}");
    let rotated = format!(
        "{}\n{}",
        "Uk9UQVRFRC1URVNULU9OTFkga2V5IG9mIDMyIGJ5dGVzISE=",
        keys.trim()
    );
    Api::<Secret>::namespaced(client.clone(), &ns)
        .patch(
            "mob-smp-links",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"keys": rotated}})),
        )
        .await
        .expect("rotate by hand");
    // A spec change makes the operator apply again; the rotated keys survive it.
    apply::<StudentMobilityPlugin>(&client, &ns, smp(1)).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while pdbs.get_opt("mob-smp").await.expect("get").is_some() {
        assert!(Instant::now() < deadline, "the budget was not pruned");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        secret_entry(&client, &ns, "mob-smp-links", "keys")
            .await
            .as_deref(),
        Some(rotated.as_str()),
        "the operator keeps what the Secret holds"
    );

    // Two NCP replicas without a shared store: refused, with the reason.
    apply::<SigningCertificate>(&client, &ns, signing_certificate("c", json!({}))).await;
    let mut two = ncp("n", "fed", "c", &["N"]);
    two["spec"]["workload"] = json!({"replicas": 2});
    apply::<NationalContactPoint>(&client, &ns, two).await;
    let n: NationalContactPoint = wait_for(
        &client,
        &ns,
        "n",
        30,
        "InvalidSpec",
        |o: &NationalContactPoint| condition(o, "Reconciled").is_some_and(|c| c.1 == "InvalidSpec"),
    )
    .await;
    let (_, _, message) = condition(&n, "Reconciled").expect("condition");
    assert!(message.contains("postgresUrl"), "{message}");
    delete_namespace(&client, &ns).await;
}
