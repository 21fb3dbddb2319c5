//! StudentMobilityPlugin → an SMP reading its Registry's EMREG over gRPC (List + Watch).

use serde_json::json;

use super::common::{
    self, BuildError, Children, Owner, PodSpecParts, config_volume, secret_volume, service_port,
};
use super::registry::RegistryEndpoint;
use crate::crd::{StudentMobilityPlugin, StudentMobilityPluginSpec};
use crate::names::{ADMIN_PORT, CA_CRT, CONFIG_DIR, GRPC_PORT, HTTP_PORT};

pub fn smp_name(n: &str) -> String {
    format!("{n}-smp")
}
pub fn data_claim_name(n: &str) -> String {
    format!("{n}-smp-data")
}
/// The Secret with the result-link keys every replica shares (`keys`: base64 keys, one per line,
/// the first signs). Made once by the operator; rotate by editing it (new key first, the old one
/// kept below for the links' lifetime): the operator keeps what the Secret holds.
pub fn links_secret_name(n: &str) -> String {
    format!("{n}-smp-links")
}
/// The entry of [`links_secret_name`] holding the keys.
pub const LINK_KEYS: &str = "keys";

/// A StudentMobilityPlugin whose spec passed [`validate`]: the only input [`build`] takes
/// (fields private: only `validate` makes one).
#[derive(Debug, Clone)]
pub struct ValidatedSmp<'a> {
    smp: &'a StudentMobilityPlugin,
    owner: Owner,
    replicas: i32,
}

impl<'a> ValidatedSmp<'a> {
    /// The resource the children belong to.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }
    /// The checked spec.
    pub fn spec(&self) -> &'a StudentMobilityPluginSpec {
        &self.smp.spec
    }
}

/// Checks what the schema cannot; `owner` is the resource's identity.
pub fn validate(smp: &StudentMobilityPlugin, owner: Owner) -> Result<ValidatedSmp<'_>, BuildError> {
    let name = owner.name.as_str();
    common::check_name_length(name, "-smp-data")?;
    common::check_https("spec.publicUrl", &smp.spec.public_url)?;
    common::check_ref("spec.registryRef", &smp.spec.registry_ref)?;
    if let Some(pg) = &smp.spec.postgres_url {
        common::check_ref("spec.postgresUrl.name", &pg.name)?;
    }
    if let Some(s) = &smp.spec.sis_client_ca_secret {
        common::check_ref("spec.sisClientCaSecret", s)?;
    }
    let replicas = common::replicas("spec.workload.replicas", smp.spec.workload.replicas)?;
    if smp.spec.postgres_url.is_none() && replicas > 1 {
        return Err(BuildError::invalid(
            "spec.workload.replicas",
            "more than one replica needs spec.postgresUrl (SQLite lives on one volume)",
        ));
    }
    Ok(ValidatedSmp {
        smp,
        owner,
        replicas,
    })
}

/// The SMP's children.
pub fn build(
    valid: &ValidatedSmp<'_>,
    image: &str,
    registry: &RegistryEndpoint,
    link_keys: &str,
) -> Result<Children, BuildError> {
    let (smp, owner, replicas) = (valid.smp, &valid.owner, valid.replicas);
    let n = owner.name.as_str();
    let s = &smp.spec;
    let name = smp_name(n);
    let mut registry_client = json!({"endpoint": registry.grpc});
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    let (v, m) = config_volume(&name);
    volumes.push(v);
    mounts.push(m);
    if let Some(secret) = &registry.tls_secret {
        // Only the CA: the SMP reads the registry and must not hold the operator's client key.
        registry_client["tls"] = json!({"ca_file": "/var/run/emrex/registry/ca.crt"});
        let (v, m) = secret_volume(
            "registry-ca",
            secret,
            &[(CA_CRT, CA_CRT)],
            "/var/run/emrex/registry",
        );
        volumes.push(v);
        mounts.push(m);
    }
    let mut grpc = json!({"listen": format!("0.0.0.0:{GRPC_PORT}")});
    if let Some(sis) = &s.sis_client_ca_secret {
        grpc["tls"] = json!({
            "cert_file": "/var/run/emrex/sis/tls.crt",
            "key_file": "/var/run/emrex/sis/tls.key",
            "client_ca_file": "/var/run/emrex/sis/ca.crt",
            "require_client_cert": true,
        });
        let (v, m) = secret_volume("sis", sis, &[], "/var/run/emrex/sis");
        volumes.push(v);
        mounts.push(m);
    }
    let (v, m) = secret_volume(
        "links",
        &links_secret_name(n),
        &[(LINK_KEYS, LINK_KEYS)],
        "/var/run/emrex/links",
    );
    volumes.push(v);
    mounts.push(m);
    let mut env = Vec::new();
    let mut claims = Vec::new();
    match &s.postgres_url {
        Some(pg) => env.push(json!({
            "name": "EMREX_SMP_STORE__URL",
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
                "smp",
                "1Gi",
            )?);
        }
    }
    let toml = common::toml_text(
        "SMP",
        &json!({
            "http": {"listen": format!("0.0.0.0:{HTTP_PORT}"), "public_url": s.public_url},
            "grpc": grpc,
            "admin": {"listen": format!("0.0.0.0:{ADMIN_PORT}")},
            "log": {"format": "json"},
            "registry": {"kind": "grpc", "client": registry_client},
            "store": {"url": "sqlite:/var/lib/emrex/smp.db"},
            "links": {"key_file": format!("/var/run/emrex/links/{LINK_KEYS}")},
        }),
    )?;
    let deployment = common::deployment(
        owner,
        PodSpecParts {
            name: &name,
            component: "smp",
            image: s.workload.image.as_deref().unwrap_or(image),
            args: vec![
                "smp".into(),
                "--config".into(),
                format!("{CONFIG_DIR}/smp.toml"),
            ],
            replicas,
            config_hash: common::config_hash(&[&toml]),
            ports: vec![("http", HTTP_PORT), ("grpc", GRPC_PORT)],
            volumes,
            mounts,
            env,
            recreate: s.postgres_url.is_none(),
        },
    )?;
    Ok(Children {
        service_accounts: vec![common::service_account(owner, &name, "smp")],
        config_maps: vec![common::config_map(owner, &name, "smp", "smp.toml", toml)],
        secrets: vec![common::secret(
            owner,
            &links_secret_name(n),
            "smp",
            std::collections::BTreeMap::from([(LINK_KEYS.to_string(), link_keys.to_string())]),
        )],
        services: vec![common::service(
            owner,
            n,
            "smp",
            vec![
                service_port("http", 80, "http"),
                service_port("grpc", GRPC_PORT, "grpc"),
            ],
        )?],
        deployments: vec![deployment],
        network_policies: vec![],
        persistent_volume_claims: claims,
        pod_disruption_budgets: common::disruption_budgets(owner, &[(&name, "smp", replicas)])?,
        registry_entries: vec![],
    })
}
