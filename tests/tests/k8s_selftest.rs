//! The Kubernetes control plane of the operator tests (`emrex_tests::k8s`) works: it answers
//! `/version`, stores a ConfigMap, and serves a CustomResourceDefinition and a custom resource.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use emrex_tests::k8s::ControlPlane;
use serde_json::{Value, json};

/// A name no other run (the cluster may be shared) has used.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
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

#[test]
fn version_reports_a_git_version() {
    let cp = ControlPlane::shared();
    let version = cp.kubectl_like_get("/version");
    let git = version["gitVersion"].as_str().unwrap_or_default();
    assert!(git.starts_with('v'), "no gitVersion in {version}");
    if cp.server.is_some() {
        assert_eq!(git, "v1.20.2", "the control plane we build");
    }
}

#[test]
fn configmap_round_trip() {
    let cp = ControlPlane::shared();
    let name = unique("selftest");
    let base = "/api/v1/namespaces/default/configmaps";
    let created = cp
        .post(
            base,
            &json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": { "name": name },
                "data": { "greeting": "hej", "unicode": "Ånström ✓" },
            }),
        )
        .expect("create the ConfigMap");
    assert_eq!(created["metadata"]["name"], name.as_str());
    let read = cp.kubectl_like_get(&format!("{base}/{name}"));
    assert_eq!(
        read["data"],
        json!({ "greeting": "hej", "unicode": "Ånström ✓" })
    );
    assert!(read["metadata"]["uid"].is_string(), "{read}");
    cp.delete(&format!("{base}/{name}"))
        .expect("delete the ConfigMap");
    let gone = cp.get(&format!("{base}/{name}"));
    assert!(
        matches!(&gone, Err(e) if e.contains("NotFound")),
        "{gone:?}"
    );
}

fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "widgets.example.test" },
        "spec": {
            "group": "example.test",
            "scope": "Namespaced",
            "names": { "plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList" },
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": { "status": {} },
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "required": ["size"],
                            "properties": {
                                "size": { "type": "integer", "minimum": 1 },
                                "colour": { "type": "string" },
                            },
                        },
                        "status": {
                            "type": "object",
                            "properties": { "ready": { "type": "boolean" } },
                        },
                    },
                }},
            }],
        },
    })
}

#[test]
fn custom_resource_definition_and_custom_resource() {
    let cp = ControlPlane::shared();
    let crds = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";
    // The cluster may be shared with an earlier run that created it already.
    match cp.post(crds, &widget_crd()) {
        Ok(_) => {}
        Err(e) if e.contains("AlreadyExists") => {}
        Err(e) => panic!("create the CRD: {e}"),
    }
    let crd = eventually(Duration::from_secs(60), || {
        let crd = cp.get(&format!("{crds}/widgets.example.test"))?;
        let established = crd["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Established" && c["status"] == "True");
        if established {
            Ok(crd)
        } else {
            Err(format!("not established yet: {}", crd["status"]))
        }
    });
    assert_eq!(crd["spec"]["names"]["kind"], "Widget");

    let widgets = "/apis/example.test/v1/namespaces/default/widgets";
    let name = unique("widget");
    let widget = json!({
        "apiVersion": "example.test/v1",
        "kind": "Widget",
        "metadata": { "name": name },
        "spec": { "size": 3, "colour": "blue" },
    });
    // Right after Established the new resource path can still answer 404 for a moment.
    eventually(Duration::from_secs(30), || cp.post(widgets, &widget));
    let read = cp.kubectl_like_get(&format!("{widgets}/{name}"));
    assert_eq!(read["spec"], json!({ "size": 3, "colour": "blue" }));
    assert_eq!(read["kind"], "Widget");

    // The structural schema is enforced: a widget without `size` is rejected.
    let bad = cp.post(
        widgets,
        &json!({
            "apiVersion": "example.test/v1",
            "kind": "Widget",
            "metadata": { "name": unique("bad-widget") },
            "spec": { "colour": "red" },
        }),
    );
    assert!(matches!(&bad, Err(e) if e.contains("Invalid")), "{bad:?}");

    cp.delete(&format!("{widgets}/{name}"))
        .expect("delete the widget");
}
