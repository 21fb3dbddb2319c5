//! Names the operator stamps on everything it makes: labels, annotations, the field manager,
//! finalizers, container ports and mount paths. One place, so the build functions, the pruning
//! and the tests agree.

/// Server-side apply field manager for every object and status the operator writes.
pub const FIELD_MANAGER: &str = "emrex-operator";

/// `app.kubernetes.io/managed-by` value on every child.
pub const MANAGED_BY: &str = "emrex-operator";

/// Label: the UID of the custom resource a child belongs to. Pruning lists children by it, so a
/// resource deleted and re-created under the same name never adopts the old one's leftovers.
pub const OWNER_UID_LABEL: &str = "emrex.eu/owner-uid";

/// Label: the kind of the owning resource (for humans and selectors).
pub const OWNER_KIND_LABEL: &str = "emrex.eu/owner-kind";

/// Finalizer on RegistryEntries: the entry lives in an EMREG outside Kubernetes.
pub const REGISTRY_FINALIZER: &str = "emrex.eu/registry-entry";

/// Annotation on a RegistryEntry: drop the finalizer without contacting the EMREG (the escape
/// when that EMREG is gone for good). Value `"true"`.
pub const SKIP_CLEANUP_ANNOTATION: &str = "emrex.eu/skip-registry-cleanup";

/// Annotation on the pod template: a hash of the configuration, so a changed ConfigMap rolls
/// the Pods (files from ConfigMaps update in place, but our services read config at start).
pub const CONFIG_HASH_ANNOTATION: &str = "emrex.eu/config-hash";

/// Annotations on a SigningCertificate's Secret recording the rotation's clock.
pub const NEXT_ISSUED_ANNOTATION: &str = "emrex.eu/next-issued-at";
pub const PREVIOUS_UNTIL_ANNOTATION: &str = "emrex.eu/previous-until";

/// Keys in a SigningCertificate's Secret.
pub const TLS_KEY: &str = "tls.key";
pub const TLS_CRT: &str = "tls.crt";
pub const NEXT_KEY: &str = "next.key";
pub const NEXT_CRT: &str = "next.crt";
pub const PREVIOUS_CRT: &str = "previous.crt";
pub const CA_CRT: &str = "ca.crt";

/// Container ports of every `emrex` service the operator runs.
pub const HTTP_PORT: i32 = 8080;
pub const GRPC_PORT: i32 = 50051;
pub const ADMIN_PORT: i32 = 9090;

/// Where the generated configuration file is mounted.
pub const CONFIG_DIR: &str = "/etc/emrex";

/// The default image of the services when neither the resource nor the operator names one.
pub fn default_image() -> String {
    format!("ghcr.io/emrex-rs/emrex:{}", env!("CARGO_PKG_VERSION"))
}

/// The labels every child carries.
pub fn child_labels(
    owner_kind: &str,
    owner_name: &str,
    owner_uid: &str,
    component: &str,
) -> std::collections::BTreeMap<String, String> {
    [
        ("app.kubernetes.io/name", "emrex"),
        ("app.kubernetes.io/instance", owner_name),
        ("app.kubernetes.io/component", component),
        ("app.kubernetes.io/managed-by", MANAGED_BY),
        (OWNER_KIND_LABEL, owner_kind),
        (OWNER_UID_LABEL, owner_uid),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The labels that select one component's Pods (stable across spec changes: a Deployment's
/// selector is immutable).
pub fn selector_labels(
    owner_name: &str,
    component: &str,
) -> std::collections::BTreeMap<String, String> {
    [
        ("app.kubernetes.io/name", "emrex"),
        ("app.kubernetes.io/instance", owner_name),
        ("app.kubernetes.io/component", component),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}
