//! The CRDs against a real kube-apiserver (the local 1.20 control plane built from Debian's
//! source, or the cluster in KUBECONFIG): server-side apply of every CRD (as `kubectl apply -f
//! crds/` would), each becomes Established, and one resource of every kind round-trips through
//! the API server with its status subresource.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use serde_json::json;

async fn client() -> Client {
    let cp = emrex_tests::k8s::ControlPlane::shared();
    let kubeconfig = Kubeconfig::read_from(&cp.kubeconfig).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crds_are_accepted_and_every_kind_round_trips() {
    let client = client().await;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let pp = PatchParams::apply("emrex-operator-test").force();
    // The committed file, exactly as `kubectl apply -f crds/` would send it.
    let yaml = std::fs::read_to_string(emrex_tests::workspace_dir().join("crds/emrex.eu.yaml"))
        .expect("crds/emrex.eu.yaml");
    let docs: Vec<CustomResourceDefinition> = yaml
        .split("\n---\n")
        .filter(|d| d.contains("kind: CustomResourceDefinition"))
        .map(|d| serde_norway::from_str(d).expect("CRD yaml"))
        .collect();
    assert_eq!(docs.len(), 5);
    for crd in &docs {
        crds.patch(&crd.name_any(), &pp, &Patch::Apply(crd))
            .await
            .unwrap_or_else(|e| panic!("apiserver refused {}: {e}", crd.name_any()));
    }
    for crd in &docs {
        let name = crd.name_any();
        let mut established = false;
        for _ in 0..100 {
            let got = crds.get(&name).await.expect("get crd");
            established = got
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(established, "{name} became Established");
    }

    // A namespace of our own.
    let ns_name = format!("emrex-crd-test-{}", std::process::id());
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": ns_name}})).expect("ns"),
        )
        .await
        .expect("namespace");

    let objects = [
        (
            "registries",
            json!({"apiVersion": "emrex.eu/v1alpha1", "kind": "Registry", "metadata": {"name": "alliance"},
            "spec": {"workload": {"replicas": 1}}}),
        ),
        (
            "registryentries",
            json!({"apiVersion": "emrex.eu/v1alpha1", "kind": "RegistryEntry", "metadata": {"name": "external-fi"},
            "spec": {"registryRef": "alliance", "acronym": "FI-CSC", "countryCode": "FI", "institutions": ["All"],
                     "url": "https://ncp.fi.example/ncp_entry", "certificates": [{"pem": "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n"}]}}),
        ),
        (
            "nationalcontactpoints",
            json!({"apiVersion": "emrex.eu/v1alpha1", "kind": "NationalContactPoint", "metadata": {"name": "ncp-no"},
            "spec": {"countryCode": "NO", "publicUrl": "https://emrex.example.no", "registryRef": "alliance",
                     "signingCertificateRef": "ncp-no-signing",
                     "login": {"issuer": "https://idp.example.no", "clientId": "emrex", "clientSecret": {"name": "oidc", "key": "secret"}},
                     "source": {"kind": "Grpc", "endpoint": "https://results.example.no:443"}}}),
        ),
        (
            "studentmobilityplugins",
            json!({"apiVersion": "emrex.eu/v1alpha1", "kind": "StudentMobilityPlugin", "metadata": {"name": "smp"},
            "spec": {"publicUrl": "https://smp.example.org", "registryRef": "alliance"}}),
        ),
        (
            "signingcertificates",
            json!({"apiVersion": "emrex.eu/v1alpha1", "kind": "SigningCertificate", "metadata": {"name": "ncp-no-signing"},
            "spec": {"secretName": "ncp-no-signing", "commonName": "emrex.example.no", "keyAlgorithm": "ECDSA", "duration": "2160h"}}),
        ),
    ];
    for (plural, obj) in objects {
        let kind = obj["kind"].as_str().expect("kind").to_string();
        let ar = kube::core::ApiResource {
            group: "emrex.eu".into(),
            version: "v1alpha1".into(),
            api_version: "emrex.eu/v1alpha1".into(),
            kind: kind.clone(),
            plural: plural.into(),
        };
        let api: Api<kube::core::DynamicObject> =
            Api::namespaced_with(client.clone(), &ns_name, &ar);
        let name = obj["metadata"]["name"].as_str().expect("name").to_string();
        api.patch(&name, &pp, &Patch::Apply(&obj))
            .await
            .unwrap_or_else(|e| panic!("apiserver refused a {kind}: {e}"));
        // Status through the status subresource.
        let status = json!({"apiVersion": "emrex.eu/v1alpha1", "kind": kind, "status": {
            "observedGeneration": 1,
            "conditions": [{"type": "Reconciled", "status": "True", "reason": "Test", "message": "children applied", "lastTransitionTime": "2026-11-29T00:00:00Z"}]}});
        api.patch_status(&name, &pp, &Patch::Apply(&status))
            .await
            .unwrap_or_else(|e| panic!("status of a {kind}: {e}"));
        let back = api.get(&name).await.expect("read back");
        assert_eq!(
            back.data["status"]["conditions"][0]["type"], "Reconciled",
            "{kind}"
        );
        // Every field sent comes back unchanged (the API server may add schema defaults).
        for (k, v) in obj["spec"].as_object().expect("spec") {
            assert_eq!(&back.data["spec"][k], v, "{kind}.spec.{k} round-trips");
        }
    }

    // A spec the schema refuses (a required field missing) is refused by the API server.
    let ar = kube::core::ApiResource::erase::<emrex_operator::crd::SigningCertificate>(&());
    let api: Api<kube::core::DynamicObject> = Api::namespaced_with(client.clone(), &ns_name, &ar);
    let bad = json!({"apiVersion": "emrex.eu/v1alpha1", "kind": "SigningCertificate", "metadata": {"name": "bad"},
        "spec": {"commonName": "x"}});
    assert!(
        api.patch("bad", &pp, &Patch::Apply(&bad)).await.is_err(),
        "secretName is required"
    );

    let _ = namespaces.delete(&ns_name, &Default::default()).await;
}
