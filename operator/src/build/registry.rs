//! Registry → an EMREG (or nothing, for an `external` one), and how others reach it.
//!
//! The EMREG's gRPC port serves `Registry` (read, open to any TLS client that trusts its CA)
//! and `RegistryAdmin` (write, only for client certificates from that CA: the operator's, kept
//! in `{name}-emreg-client`).

use serde_json::json;

use super::common::{
    self, BuildError, Children, Owner, PodSpecParts, config_volume, secret_volume, service_port,
};
use super::ncp::MtlsPem;
use crate::crd::Registry;
use crate::names::{ADMIN_PORT, CONFIG_DIR, GRPC_PORT, HTTP_PORT};

pub fn emreg_name(n: &str) -> String {
    format!("{n}-emreg")
}
pub fn server_tls_secret(n: &str) -> String {
    format!("{n}-emreg-tls")
}
pub fn client_tls_secret(n: &str) -> String {
    format!("{n}-emreg-client")
}
pub fn data_claim_name(n: &str) -> String {
    format!("{n}-emreg-data")
}

/// DNS names of the EMREG Service.
pub fn emreg_dns(name: &str, namespace: &str) -> Vec<String> {
    let s = emreg_name(name);
    vec![
        format!("{s}.{namespace}.svc"),
        format!("{s}.{namespace}.svc.cluster.local"),
        format!("{s}.{namespace}"),
        s,
    ]
}

/// Where and how to reach a Registry's EMREG over gRPC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryEndpoint {
    /// `https://host:port` (or `http://` for an external one without TLS).
    pub grpc: String,
    /// Secret with `ca.crt` and (for writers) `tls.crt`/`tls.key`.
    pub tls_secret: Option<String>,
    /// Whether the operator runs this EMREG (its Pods must be available before it answers).
    pub in_cluster: bool,
}

/// How to reach `reg` (named `name` in `namespace`).
pub fn endpoint(reg: &Registry, name: &str, namespace: &str) -> RegistryEndpoint {
    match &reg.spec.external {
        Some(ext) => RegistryEndpoint {
            grpc: ext.grpc_endpoint.clone(),
            tls_secret: ext.tls_secret.clone(),
            in_cluster: false,
        },
        None => RegistryEndpoint {
            grpc: format!("https://{}:{GRPC_PORT}", emreg_dns(name, namespace)[0]),
            tls_secret: Some(client_tls_secret(name)),
            in_cluster: true,
        },
    }
}

/// A Registry whose spec passed [`validate`]: an external one (nothing runs here) or one whose
/// EMREG the operator runs, the only input [`build`] takes.
#[derive(Debug, Clone)]
pub enum ValidatedRegistry<'a> {
    External(Owner),
    InCluster(InClusterRegistry<'a>),
}

impl ValidatedRegistry<'_> {
    /// The resource the children belong to.
    pub fn owner(&self) -> &Owner {
        match self {
            Self::External(owner) => owner,
            Self::InCluster(r) => &r.owner,
        }
    }
}

/// A valid Registry whose EMREG runs in this cluster (fields private: only [`validate`] makes
/// one).
#[derive(Debug, Clone)]
pub struct InClusterRegistry<'a> {
    reg: &'a Registry,
    owner: Owner,
    replicas: i32,
}

/// Checks what the schema cannot; `owner` is the resource's identity.
pub fn validate(reg: &Registry, owner: Owner) -> Result<ValidatedRegistry<'_>, BuildError> {
    let name = owner.name.as_str();
    common::check_name_length(name, "-emreg-client")?;
    if let Some(ext) = &reg.spec.external {
        match url::Url::parse(&ext.grpc_endpoint) {
            Ok(u) if u.scheme() == "https" && u.host_str().is_some() => {}
            Ok(u) if u.scheme() == "http" && ext.tls_secret.is_none() => {}
            Ok(_) => {
                return Err(BuildError::invalid(
                    "spec.external.grpcEndpoint",
                    "must be https:// (http:// only without tlsSecret, for development)",
                ));
            }
            Err(e) => {
                return Err(BuildError::invalid(
                    "spec.external.grpcEndpoint",
                    e.to_string(),
                ));
            }
        }
        if let Some(s) = &ext.tls_secret {
            common::check_ref("spec.external.tlsSecret", s)?;
        }
        if reg.spec.store.is_some() {
            return Err(BuildError::invalid(
                "spec.store",
                "does not apply to an external Registry",
            ));
        }
    }
    if let Some(pg) = postgres_url(reg) {
        common::check_ref("spec.store.postgresUrl.name", &pg.name)?;
    }
    let replicas = common::replicas("spec.workload.replicas", reg.spec.workload.replicas)?;
    if reg.spec.external.is_some() {
        return Ok(ValidatedRegistry::External(owner));
    }
    if postgres_url(reg).is_none() && replicas > 1 {
        return Err(BuildError::invalid(
            "spec.workload.replicas",
            "more than one replica needs spec.store.postgresUrl (SQLite lives on one volume)",
        ));
    }
    Ok(ValidatedRegistry::InCluster(InClusterRegistry {
        reg,
        owner,
        replicas,
    }))
}

fn postgres_url(reg: &Registry) -> Option<&crate::crd::SecretKeyRef> {
    reg.spec
        .store
        .as_ref()
        .and_then(|s| s.postgres_url.as_ref())
}

/// The EMREG's children (an external Registry has none: nothing to build).
pub fn build(
    r: &InClusterRegistry<'_>,
    image: &str,
    mtls: &MtlsPem,
) -> Result<Children, BuildError> {
    let (reg, owner) = (r.reg, &r.owner);
    let n = owner.name.as_str();
    let name = emreg_name(n);
    let postgres = postgres_url(reg);
    let toml = common::toml_text(
        "EMREG",
        &json!({
            "grpc": {
                "listen": format!("0.0.0.0:{GRPC_PORT}"),
                "tls": {
                    "cert_file": "/var/run/emrex/tls/tls.crt",
                    "key_file": "/var/run/emrex/tls/tls.key",
                    "client_ca_file": "/var/run/emrex/tls/ca.crt",
                    // Reading is open; RegistryAdmin checks the client certificate.
                    "require_client_cert": false,
                },
            },
            "http": {"listen": format!("0.0.0.0:{HTTP_PORT}")},
            "admin": {"listen": format!("0.0.0.0:{ADMIN_PORT}")},
            "log": {"format": "json"},
            "store": {"url": "sqlite:/var/lib/emrex/emreg.db"},
        }),
    )?;
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (v, m) in [
        config_volume(&name),
        secret_volume("tls", &server_tls_secret(n), &[], "/var/run/emrex/tls"),
    ] {
        volumes.push(v);
        mounts.push(m);
    }
    let mut env = Vec::new();
    let mut claims = Vec::new();
    match postgres {
        Some(pg) => env.push(json!({
            "name": "EMREX_EMREG_STORE__URL",
            "valueFrom": {"secretKeyRef": {"name": pg.name, "key": pg.key}},
        })),
        None => {
            volumes.push(
                json!({"name": "data", "persistentVolumeClaim": {"claimName": data_claim_name(n)}}),
            );
            mounts.push(json!({"name": "data", "mountPath": "/var/lib/emrex"}));
            claims.push(common::data_claim(
                owner,
                &data_claim_name(n),
                "emreg",
                "1Gi",
            )?);
        }
    }
    let replicas = r.replicas;
    let deployment = common::deployment(
        owner,
        PodSpecParts {
            name: &name,
            component: "emreg",
            image: reg.spec.workload.image.as_deref().unwrap_or(image),
            args: vec![
                "emreg".into(),
                "--config".into(),
                format!("{CONFIG_DIR}/emreg.toml"),
            ],
            replicas,
            config_hash: common::config_hash(&[&toml]),
            ports: vec![("grpc", GRPC_PORT), ("http", HTTP_PORT)],
            volumes,
            mounts,
            env,
            recreate: postgres.is_none(),
        },
    )?;
    Ok(Children {
        service_accounts: vec![common::service_account(owner, &name, "emreg")],
        config_maps: vec![common::config_map(
            owner,
            &name,
            "emreg",
            "emreg.toml",
            toml,
        )],
        secrets: vec![
            common::secret(owner, &server_tls_secret(n), "emreg", mtls.server_entries()),
            common::secret(owner, &client_tls_secret(n), "emreg", mtls.client_entries()),
        ],
        services: vec![common::service(
            owner,
            &name,
            "emreg",
            vec![
                service_port("grpc", GRPC_PORT, "grpc"),
                service_port("http", 80, "http"),
            ],
        )?],
        deployments: vec![deployment],
        network_policies: vec![],
        persistent_volume_claims: claims,
        pod_disruption_budgets: common::disruption_budgets(owner, &[(&name, "emreg", replicas)])?,
        registry_entries: vec![],
    })
}
