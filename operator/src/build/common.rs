//! Shared pieces of the build functions: owner references, labels, the Pod shape every `emrex`
//! service runs with (non-root, read-only root file system, no privilege escalation, seccomp
//! RuntimeDefault, probes on the admin port), Services, ConfigMaps, Secrets.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, Secret, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use serde_json::{Value, json};

use crate::crd::RegistryEntry;
use crate::names::{self, ADMIN_PORT};

/// Why desired objects could not be built. [`BuildError::Invalid`]: the spec cannot work, shown
/// as the `Reconciled` condition (reason `InvalidSpec`) and a Warning event; the controller waits
/// for a change. The other variants are bugs here (one of our JSON literals or configuration
/// documents does not serialize) or an object the API server would never return; they are
/// reported the same way rather than panicking, with the cause as their `source`.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("{field}: {problem}")]
    Invalid { field: String, problem: String },
    #[error("the object has no metadata.{0}")]
    MissingMetadata(&'static str),
    #[error("internal: building the {kind}")]
    Object {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("internal: writing the {service} configuration")]
    Config {
        service: &'static str,
        #[source]
        source: toml::ser::Error,
    },
}

impl BuildError {
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// The custom resource children belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub uid: String,
}

impl Owner {
    /// From any of our resources' metadata.
    pub fn of<K: kube::Resource<DynamicType = ()>>(obj: &K) -> Result<Self, BuildError> {
        let meta = obj.meta();
        let missing = BuildError::MissingMetadata;
        Ok(Self {
            api_version: K::api_version(&()).into_owned(),
            kind: K::kind(&()).into_owned(),
            name: meta.name.clone().ok_or(missing("name"))?,
            namespace: meta.namespace.clone().ok_or(missing("namespace"))?,
            uid: meta.uid.clone().ok_or(missing("uid"))?,
        })
    }

    /// A controller owner reference: the garbage collector deletes the child with its owner.
    pub fn reference(&self) -> OwnerReference {
        OwnerReference {
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            name: self.name.clone(),
            uid: self.uid.clone(),
            controller: Some(true),
            block_owner_deletion: Some(true),
        }
    }

    /// Metadata of a child called `name` of `component`.
    pub fn meta(&self, name: &str, component: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.namespace.clone()),
            labels: Some(names::child_labels(
                &self.kind, &self.name, &self.uid, component,
            )),
            owner_references: Some(vec![self.reference()]),
            ..ObjectMeta::default()
        }
    }
}

/// Everything one resource wants to exist. `apply` destructures it without `..`, so a new kind
/// of child does not compile until it is applied and pruned too.
#[derive(Debug, Clone, Default)]
pub struct Children {
    pub service_accounts: Vec<ServiceAccount>,
    pub config_maps: Vec<ConfigMap>,
    pub secrets: Vec<Secret>,
    pub services: Vec<Service>,
    pub deployments: Vec<Deployment>,
    pub network_policies: Vec<NetworkPolicy>,
    pub persistent_volume_claims: Vec<PersistentVolumeClaim>,
    pub pod_disruption_budgets: Vec<PodDisruptionBudget>,
    pub registry_entries: Vec<RegistryEntry>,
}

/// Turns a JSON literal into a typed object (the literal is ours; failure is a bug, reported
/// rather than panicking).
pub fn typed<T: serde::de::DeserializeOwned>(
    kind: &'static str,
    value: Value,
) -> Result<T, BuildError> {
    serde_json::from_value(value).map_err(|source| BuildError::Object { kind, source })
}

/// A ServiceAccount without an API token: none of our services calls the Kubernetes API.
pub fn service_account(owner: &Owner, name: &str, component: &str) -> ServiceAccount {
    ServiceAccount {
        metadata: owner.meta(name, component),
        automount_service_account_token: Some(false),
        ..ServiceAccount::default()
    }
}

/// A ConfigMap with one file.
pub fn config_map(
    owner: &Owner,
    name: &str,
    component: &str,
    file: &str,
    content: String,
) -> ConfigMap {
    ConfigMap {
        metadata: owner.meta(name, component),
        data: Some(BTreeMap::from([(file.to_string(), content)])),
        ..ConfigMap::default()
    }
}

/// An Opaque Secret with these entries.
pub fn secret(
    owner: &Owner,
    name: &str,
    component: &str,
    data: BTreeMap<String, String>,
) -> Secret {
    Secret {
        metadata: owner.meta(name, component),
        type_: Some("Opaque".into()),
        data: Some(
            data.into_iter()
                .map(|(k, v)| (k, ByteString(v.into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    }
}

/// A short stable hash of configuration text, put on the pod template so Pods roll when it
/// changes.
pub fn config_hash(parts: &[&str]) -> String {
    let joined = parts.join("\u{0}");
    crate::pki::sha256_hex(joined.as_bytes())[..16].to_string()
}

/// A port of a Service: `port` → the container's named port.
pub fn service_port(name: &str, port: i32, target: &str) -> Value {
    json!({"name": name, "port": port, "targetPort": target, "protocol": "TCP"})
}

/// A ClusterIP Service selecting one component's Pods.
pub fn service(
    owner: &Owner,
    name: &str,
    component: &str,
    ports: Vec<Value>,
) -> Result<Service, BuildError> {
    // No session affinity: every service keeps what replicas share in its database, so any
    // Pod serves any request (affinity behind an ingress would send everyone to one Pod).
    let spec = json!({
        "type": "ClusterIP",
        "selector": names::selector_labels(&owner.name, component),
        "ports": ports,
    });
    typed(
        "Service",
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": owner.meta(name, component),
            "spec": spec,
        }),
    )
}

/// A PodDisruptionBudget for one component with several replicas: a drain or node upgrade
/// takes at most one Pod away at a time, so the others keep serving.
pub fn pod_disruption_budget(
    owner: &Owner,
    name: &str,
    component: &str,
) -> Result<PodDisruptionBudget, BuildError> {
    typed(
        "PodDisruptionBudget",
        json!({
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": owner.meta(name, component),
            "spec": {
                "maxUnavailable": 1,
                "selector": {"matchLabels": names::selector_labels(&owner.name, component)},
            },
        }),
    )
}

/// The PodDisruptionBudgets of components with more than one replica.
pub fn disruption_budgets(
    owner: &Owner,
    components: &[(&str, &str, i32)],
) -> Result<Vec<PodDisruptionBudget>, BuildError> {
    components
        .iter()
        .filter(|(_, _, replicas)| *replicas > 1)
        .map(|(name, component, _)| pod_disruption_budget(owner, name, component))
        .collect()
}

/// A PersistentVolumeClaim for a service's SQLite file.
pub fn data_claim(
    owner: &Owner,
    name: &str,
    component: &str,
    size: &str,
) -> Result<PersistentVolumeClaim, BuildError> {
    typed(
        "PersistentVolumeClaim",
        json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": owner.meta(name, component),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": size}},
            },
        }),
    )
}

/// One `emrex` service in a Deployment.
#[derive(Debug, Clone)]
pub struct PodSpecParts<'a> {
    pub name: &'a str,
    pub component: &'a str,
    pub image: &'a str,
    /// `emrex` arguments, e.g. `["ncp", "--config", "/etc/emrex/ncp.toml"]`.
    pub args: Vec<String>,
    pub replicas: i32,
    pub config_hash: String,
    /// Named container ports besides `admin` (`("http", 8080)`).
    pub ports: Vec<(&'a str, i32)>,
    /// Pod volumes and the container's mounts (JSON as in the API).
    pub volumes: Vec<Value>,
    pub mounts: Vec<Value>,
    pub env: Vec<Value>,
    /// One Pod at a time (a ReadWriteOnce volume cannot be shared during a rolling update).
    pub recreate: bool,
}

/// A Deployment running `emrex` with the hardening every service gets.
pub fn deployment(owner: &Owner, p: PodSpecParts<'_>) -> Result<Deployment, BuildError> {
    let mut ports: Vec<Value> = p
        .ports
        .iter()
        .map(|(n, port)| json!({"name": n, "containerPort": port, "protocol": "TCP"}))
        .collect();
    ports.push(json!({"name": "admin", "containerPort": ADMIN_PORT, "protocol": "TCP"}));
    let mut volumes = p.volumes;
    let mut mounts = p.mounts;
    // A writable /tmp on a read-only root file system.
    volumes.push(json!({"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}));
    mounts.push(json!({"name": "tmp", "mountPath": "/tmp"}));
    let strategy = if p.recreate {
        json!({"type": "Recreate"})
    } else {
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    };
    let meta = owner.meta(p.name, p.component);
    let pod_labels = meta.labels.clone().unwrap_or_default();
    typed(
        "Deployment",
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": p.replicas,
                "revisionHistoryLimit": 3,
                "strategy": strategy,
                "selector": {"matchLabels": names::selector_labels(&owner.name, p.component)},
                "template": {
                    "metadata": {
                        "labels": pod_labels,
                        "annotations": {names::CONFIG_HASH_ANNOTATION: p.config_hash},
                    },
                    "spec": {
                        "serviceAccountName": p.name,
                        "automountServiceAccountToken": false,
                        "enableServiceLinks": false,
                        "securityContext": {
                            "runAsNonRoot": true,
                            "runAsUser": 65532,
                            "runAsGroup": 65532,
                            "fsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "containers": [{
                            "name": p.component,
                            "image": p.image,
                            "args": p.args,
                            "ports": ports,
                            "env": p.env,
                            "volumeMounts": mounts,
                            // Liveness waits for the startup probe, which gives a start on a
                            // loaded node two minutes (a NCP was once killed by its liveness
                            // probe right after start on a busy 2-core node); every probe
                            // allows a few seconds per answer instead of the default one, so
                            // a slow node does not restart healthy Pods.
                            "startupProbe": {
                                "httpGet": {"path": "/live", "port": "admin"},
                                "periodSeconds": 2, "failureThreshold": 60, "timeoutSeconds": 3,
                            },
                            "readinessProbe": {
                                "httpGet": {"path": "/ready", "port": "admin"},
                                "periodSeconds": 5, "failureThreshold": 3, "timeoutSeconds": 3,
                            },
                            "livenessProbe": {
                                "httpGet": {"path": "/live", "port": "admin"},
                                "periodSeconds": 10, "failureThreshold": 6, "timeoutSeconds": 5,
                            },
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                                "limits": {"memory": "512Mi"},
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": false,
                                "readOnlyRootFilesystem": true,
                                "privileged": false,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }],
                        "volumes": volumes,
                    },
                },
            },
        }),
    )
}

/// A Secret volume (optionally only some keys) and its read-only mount.
pub fn secret_volume(
    volume: &str,
    secret: &str,
    items: &[(&str, &str)],
    path: &str,
) -> (Value, Value) {
    let mut src = json!({"secretName": secret, "defaultMode": 0o440});
    if !items.is_empty() {
        src["items"] = items
            .iter()
            .map(|(k, p)| json!({"key": k, "path": p}))
            .collect();
    }
    (
        json!({"name": volume, "secret": src}),
        json!({"name": volume, "mountPath": path, "readOnly": true}),
    )
}

/// A ConfigMap volume and its mount at [`names::CONFIG_DIR`].
pub fn config_volume(config_map: &str) -> (Value, Value) {
    (
        json!({"name": "config", "configMap": {"name": config_map}}),
        json!({"name": "config", "mountPath": names::CONFIG_DIR, "readOnly": true}),
    )
}

/// A TOML document from JSON built here (tables serialize after plain values).
pub fn toml_text(service: &'static str, value: &Value) -> Result<String, BuildError> {
    toml::to_string(value).map_err(|source| BuildError::Config { service, source })
}

/// Whether `name` plus the longest suffix we add stays a valid DNS label (Services need that).
pub fn check_name_length(name: &str, longest_suffix: &str) -> Result<(), BuildError> {
    if name.len() + longest_suffix.len() > 63 {
        return Err(BuildError::invalid(
            "metadata.name",
            format!(
                "{name:?} is too long: with {longest_suffix:?} appended it must stay within 63 characters"
            ),
        ));
    }
    Ok(())
}

/// A Kubernetes Secret or object name as the API requires (DNS-1123 subdomain).
pub fn check_ref(field: &str, name: &str) -> Result<(), BuildError> {
    if crate::rotation::valid_object_name(name) {
        Ok(())
    } else {
        Err(BuildError::invalid(
            field,
            format!("{name:?} is not a valid object name"),
        ))
    }
}

/// An absolute `https://` URL with a host.
pub fn check_https(field: &str, value: &str) -> Result<(), BuildError> {
    match url::Url::parse(value) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => Ok(()),
        Ok(_) => Err(BuildError::invalid(
            field,
            format!("{value:?} must be an https:// URL"),
        )),
        Err(e) => Err(BuildError::invalid(field, format!("{value:?}: {e}"))),
    }
}

/// An ISO 3166-1 alpha-2 code, upper case.
pub fn check_country(field: &str, value: &str) -> Result<(), BuildError> {
    if value.len() == 2 && value.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(BuildError::invalid(
            field,
            format!("{value:?} must be two upper-case letters (ISO 3166-1 alpha-2)"),
        ))
    }
}

/// A registry acronym.
pub fn check_acronym(field: &str, value: &str) -> Result<(), BuildError> {
    if !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        Ok(())
    } else {
        Err(BuildError::invalid(
            field,
            format!("{value:?} must be 1–64 of A–Z a–z 0–9 . _ -"),
        ))
    }
}

/// Replicas from a workload (default 1, 0–100).
pub fn replicas(field: &str, value: Option<i32>) -> Result<i32, BuildError> {
    match value.unwrap_or(1) {
        r @ 0..=100 => Ok(r),
        r => Err(BuildError::invalid(field, format!("{r} is outside 0–100"))),
    }
}
