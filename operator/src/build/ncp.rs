//! NationalContactPoint → the NCP and its Signer.
//!
//! Two Deployments so the signing key is mounted into one Pod only: the Signer's. The NCP
//! reaches the Signer over mTLS with an internal CA minted for this pair, and a NetworkPolicy
//! admits only the NCP's Pods to the Signer's gRPC port. The NCP's RegistryEntry (owned, so it
//! goes when the NCP goes) lists the SigningCertificate, whose next certificate is published
//! there before the Signer switches to it.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::networking::v1::NetworkPolicy;
use serde_json::json;

use super::common::{
    self, BuildError, Children, Owner, PodSpecParts, config_volume, secret_volume, service_port,
};
use crate::crd::{
    CertificateSource, ElmoVersion, NationalContactPoint, NationalContactPointSpec, NcpWallet,
    RegistryEntry, RegistryEntrySpec, SourceKind,
};
use crate::names::{ADMIN_PORT, CA_CRT, CONFIG_DIR, GRPC_PORT, HTTP_PORT, TLS_CRT, TLS_KEY};

/// The public CA bundle every `emrex` image has (Debian's `ca-certificates`, as the distroless
/// base and `scripts/image.sh` both lay it out).
pub const IMAGE_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Where the NCP finds `spec.login.caSecret`'s `ca.crt`.
const OIDC_CA_DIR: &str = "/var/run/emrex/oidc-ca";

/// The internal mTLS material between two services (PEM), minted by the controller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MtlsPem {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    pub client_cert: String,
    pub client_key: String,
}

impl From<crate::pki::MtlsBundle> for MtlsPem {
    fn from(b: crate::pki::MtlsBundle) -> Self {
        Self {
            ca: b.ca_pem,
            server_cert: b.server.cert_pem,
            server_key: b.server.key_pem,
            client_cert: b.client.cert_pem,
            client_key: b.client.key_pem,
        }
    }
}

impl MtlsPem {
    /// `ca.crt` + the server pair, as a Secret's entries.
    pub fn server_entries(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (CA_CRT.into(), self.ca.clone()),
            (TLS_CRT.into(), self.server_cert.clone()),
            (TLS_KEY.into(), self.server_key.clone()),
        ])
    }
    /// `ca.crt` + the client pair.
    pub fn client_entries(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            (CA_CRT.into(), self.ca.clone()),
            (TLS_CRT.into(), self.client_cert.clone()),
            (TLS_KEY.into(), self.client_key.clone()),
        ])
    }
    /// Reads the material back from the two Secrets' entries (`None` when anything is missing).
    pub fn from_entries(
        server: &BTreeMap<String, String>,
        client: &BTreeMap<String, String>,
    ) -> Option<Self> {
        let ca = server.get(CA_CRT)?;
        (client.get(CA_CRT)? == ca).then_some(())?;
        Some(Self {
            ca: ca.clone(),
            server_cert: server.get(TLS_CRT)?.clone(),
            server_key: server.get(TLS_KEY)?.clone(),
            client_cert: client.get(TLS_CRT)?.clone(),
            client_key: client.get(TLS_KEY)?.clone(),
        })
    }
}

/// What an NCP's children are built from besides the resource itself.
#[derive(Debug, Clone)]
pub struct NcpInputs<'a> {
    /// The operator's default image.
    pub image: &'a str,
    /// `secretName` of the referenced SigningCertificate.
    pub signing_secret: &'a str,
    /// NCP ↔ Signer mTLS.
    pub mtls: &'a MtlsPem,
}

/// Object names.
pub fn ncp_name(n: &str) -> String {
    format!("{n}-ncp")
}
pub fn signer_name(n: &str) -> String {
    format!("{n}-signer")
}
pub fn signer_tls_secret(n: &str) -> String {
    format!("{n}-signer-tls")
}
pub fn ncp_tls_secret(n: &str) -> String {
    format!("{n}-ncp-tls")
}

/// DNS names of the Signer's Service (its certificate's names).
pub fn signer_dns(name: &str, namespace: &str) -> Vec<String> {
    let s = signer_name(name);
    vec![
        format!("{s}.{namespace}.svc"),
        format!("{s}.{namespace}.svc.cluster.local"),
        format!("{s}.{namespace}"),
        s,
    ]
}

/// The acronym an NCP is listed under.
pub fn acronym(ncp: &NationalContactPoint, name: &str) -> String {
    ncp.spec.acronym.clone().unwrap_or_else(|| name.to_string())
}

/// A NationalContactPoint whose spec passed [`validate`]: the only input [`build`] takes, so
/// the spec is checked once per reconcile and nothing is built from an unchecked one (the
/// fields are private: only `validate` makes one).
#[derive(Debug, Clone)]
pub struct ValidatedNcp<'a> {
    ncp: &'a NationalContactPoint,
    owner: Owner,
    ncp_replicas: i32,
    signer_replicas: i32,
}

impl<'a> ValidatedNcp<'a> {
    /// The resource the children belong to.
    pub fn owner(&self) -> &Owner {
        &self.owner
    }
    /// The checked spec.
    pub fn spec(&self) -> &'a NationalContactPointSpec {
        &self.ncp.spec
    }
}

/// Checks what the schema cannot; `owner` is the resource's identity (its name names the
/// children).
pub fn validate(ncp: &NationalContactPoint, owner: Owner) -> Result<ValidatedNcp<'_>, BuildError> {
    let s = &ncp.spec;
    let name = owner.name.as_str();
    common::check_name_length(name, "-signer-tls")?;
    common::check_country("spec.countryCode", &s.country_code)?;
    common::check_https("spec.publicUrl", &s.public_url)?;
    common::check_acronym("spec.acronym", &acronym(ncp, name))?;
    common::check_ref("spec.registryRef", &s.registry_ref)?;
    common::check_ref("spec.signingCertificateRef", &s.signing_certificate_ref)?;
    common::check_https("spec.login.issuer", &s.login.issuer)?;
    if s.login.client_id.is_empty() {
        return Err(BuildError::invalid(
            "spec.login.clientId",
            "must not be empty",
        ));
    }
    common::check_ref("spec.login.clientSecret.name", &s.login.client_secret.name)?;
    if let Some(ca) = &s.login.ca_secret {
        common::check_ref("spec.login.caSecret", ca)?;
    }
    match s.source.kind {
        SourceKind::Directory => {
            let claim = s.source.claim_name.as_deref().ok_or_else(|| {
                BuildError::invalid(
                    "spec.source.claimName",
                    "is required when kind is Directory",
                )
            })?;
            common::check_ref("spec.source.claimName", claim)?;
            if s.source.endpoint.is_some() || s.source.tls_secret.is_some() {
                return Err(BuildError::invalid(
                    "spec.source",
                    "endpoint and tlsSecret belong to kind Grpc",
                ));
            }
        }
        SourceKind::Grpc => {
            let ep = s.source.endpoint.as_deref().ok_or_else(|| {
                BuildError::invalid("spec.source.endpoint", "is required when kind is Grpc")
            })?;
            common::check_https("spec.source.endpoint", ep)?;
            if s.source.claim_name.is_some() {
                return Err(BuildError::invalid(
                    "spec.source",
                    "claimName belongs to kind Directory",
                ));
            }
        }
    }
    if let Some(w) = s.wallet.as_ref().filter(|w| w.enabled) {
        wallet_config(w)?;
    }
    if let Some(pg) = &s.postgres_url {
        common::check_ref("spec.postgresUrl.name", &pg.name)?;
    }
    let ncp_replicas = common::replicas("spec.workload.replicas", s.workload.replicas)?;
    if s.postgres_url.is_none() && ncp_replicas > 1 {
        return Err(BuildError::invalid(
            "spec.workload.replicas",
            "more than one replica needs spec.postgresUrl (exchanges in progress must be shared: any replica serves any step)",
        ));
    }
    let signer_replicas =
        common::replicas("spec.signerWorkload.replicas", s.signer_workload.replicas)?;
    Ok(ValidatedNcp {
        ncp,
        owner,
        ncp_replicas,
        signer_replicas,
    })
}

/// Bounds on `spec.wallet`'s lifetimes: an offer long enough to fetch a phone, short enough that
/// a forgotten QR code on a shared screen is dead soon; a credential of at least an hour and at
/// most five years (a transcript is re-issued, not kept valid forever).
const OFFER_LIFETIME: (Duration, Duration) = (Duration::from_secs(60), Duration::from_secs(86_400));
const CREDENTIAL_LIFETIME: (Duration, Duration) = (
    Duration::from_secs(3_600),
    Duration::from_secs(5 * 366 * 86_400),
);

/// The NCP's `[wallet]` table for an enabled `spec.wallet` (checked: lifetimes parse and lie in
/// their bounds, formats are not repeated). Unset values are left to the NCP's defaults.
fn wallet_config(w: &NcpWallet) -> Result<serde_json::Value, BuildError> {
    let mut table = json!({"enabled": true});
    for (field, key, value, (min, max)) in [
        (
            "spec.wallet.offerLifetime",
            "offer_ttl",
            &w.offer_lifetime,
            OFFER_LIFETIME,
        ),
        (
            "spec.wallet.credentialLifetime",
            "credential_ttl",
            &w.credential_lifetime,
            CREDENTIAL_LIFETIME,
        ),
    ] {
        let Some(text) = value else { continue };
        let d = humantime::parse_duration(text.trim()).map_err(|_| {
            BuildError::invalid(
                field,
                format!("{text:?} is not a duration such as 10m or 24h"),
            )
        })?;
        if d < min || d > max {
            return Err(BuildError::invalid(
                field,
                format!(
                    "must lie between {} and {}",
                    humantime::format_duration(min),
                    humantime::format_duration(max)
                ),
            ));
        }
        // As written (the NCP parses the same humantime syntax): `8760h` stays readable.
        table[key] = json!(text.trim());
    }
    if !w.formats.is_empty() {
        let mut seen = Vec::new();
        for f in &w.formats {
            if seen.contains(&f.as_str()) {
                return Err(BuildError::invalid(
                    "spec.wallet.formats",
                    format!("{} is listed twice", f.as_str()),
                ));
            }
            seen.push(f.as_str());
        }
        table["formats"] = json!(seen);
    }
    Ok(table)
}

/// The NCP's children.
pub fn build(valid: &ValidatedNcp<'_>, inputs: &NcpInputs<'_>) -> Result<Children, BuildError> {
    let (ncp, owner) = (valid.ncp, &valid.owner);
    let n = owner.name.as_str();
    let s = &ncp.spec;
    let (ncp_dep, signer_dep) = (ncp_name(n), signer_name(n));
    let signer_dns = signer_dns(n, &owner.namespace);

    // --- configuration files
    let mut source = match s.source.kind {
        SourceKind::Directory => json!({
            "kind": "directory",
            "path": "/var/lib/emrex/results",
            "identifier_type": s.source.identifier_type.clone().unwrap_or_else(|| "local".into()),
        }),
        SourceKind::Grpc => json!({
            "kind": "grpc",
            "client": {"endpoint": s.source.endpoint.clone().unwrap_or_default()},
        }),
    };
    if s.source.tls_secret.is_some() {
        source["client"]["tls"] = json!({
            "ca_file": "/var/run/emrex/source-tls/ca.crt",
            "cert_file": "/var/run/emrex/source-tls/tls.crt",
            "key_file": "/var/run/emrex/source-tls/tls.key",
        });
    } else if s.source.kind == SourceKind::Grpc {
        // An https:// provider without `tlsSecret` is checked against the public CAs the image
        // carries (the NCP refuses an https:// endpoint without a CA file, so it would not start).
        source["client"]["tls"] = json!({"ca_file": IMAGE_CA_BUNDLE});
    }
    let provider_name = s
        .institutions
        .first()
        .cloned()
        .unwrap_or_else(|| format!("EMREX NCP {}", acronym(ncp, n)));
    let mut oidc = json!({
        "issuer": s.login.issuer,
        "client_id": s.login.client_id,
        "client_secret_file": "/var/run/emrex/oidc/client-secret",
    });
    if s.login.ca_secret.is_some() {
        oidc["ca_file"] = json!(format!("{OIDC_CA_DIR}/{CA_CRT}"));
    }
    let mut ncp_config = json!({
        "provider_name": provider_name,
        "http": {"listen": format!("0.0.0.0:{HTTP_PORT}"), "public_url": s.public_url},
        "grpc": {"listen": format!("0.0.0.0:{GRPC_PORT}")},
        "admin": {"listen": format!("0.0.0.0:{ADMIN_PORT}")},
        "log": {"format": "json"},
        "login": {
            "dev_login": false,
            "oidc": oidc,
        },
        "source": source,
        // Overridden by EMREX_NCP_STORE__URL (from spec.postgresUrl's Secret) when set.
        "store": {"url": "sqlite:/var/lib/emrex/data/ncp.db"},
        "signer": {"client": {
            "endpoint": format!("https://{}:{GRPC_PORT}", signer_dns[0]),
            "tls": {
                "ca_file": "/var/run/emrex/signer-client/ca.crt",
                "cert_file": "/var/run/emrex/signer-client/tls.crt",
                "key_file": "/var/run/emrex/signer-client/tls.key",
            },
        }},
    });
    // Only when it differs from the NCP's default (1.7): existing NCPs keep their config hash.
    if s.elmo_version == ElmoVersion::V2_1 {
        ncp_config["elmo"] = json!({"version": "2.1"});
    }
    // Likewise only when enabled.
    let wallet = s.wallet.as_ref().filter(|w| w.enabled);
    if let Some(w) = wallet {
        ncp_config["wallet"] = wallet_config(w)?;
    }
    let ncp_toml = common::toml_text("NCP", &ncp_config)?;
    let signer_toml = common::toml_text(
        "Signer",
        &json!({
            "grpc": {
                "listen": format!("0.0.0.0:{GRPC_PORT}"),
                "tls": {
                    "cert_file": "/var/run/emrex/tls/tls.crt",
                    "key_file": "/var/run/emrex/tls/tls.key",
                    "client_ca_file": "/var/run/emrex/tls/ca.crt",
                    "require_client_cert": true,
                },
            },
            "admin": {"listen": format!("0.0.0.0:{ADMIN_PORT}")},
            "log": {"format": "json"},
            "keys": {
                "key_file": "/var/run/emrex/signing/tls.key",
                "cert_file": "/var/run/emrex/signing/tls.crt",
                "next_cert_file": "/var/run/emrex/signing/next.crt",
            },
        }),
    )?;

    // --- NCP Pods: config, client TLS to the Signer, the OIDC client secret, the source
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (v, m) in [
        config_volume(&ncp_dep),
        secret_volume(
            "signer-client",
            &ncp_tls_secret(n),
            &[],
            "/var/run/emrex/signer-client",
        ),
        secret_volume(
            "oidc",
            &s.login.client_secret.name,
            &[(s.login.client_secret.key.as_str(), "client-secret")],
            "/var/run/emrex/oidc",
        ),
    ] {
        volumes.push(v);
        mounts.push(m);
    }
    if let Some(ca) = &s.login.ca_secret {
        let (v, m) = secret_volume("oidc-ca", ca, &[(CA_CRT, CA_CRT)], OIDC_CA_DIR);
        volumes.push(v);
        mounts.push(m);
    }
    if let Some(claim) = &s.source.claim_name {
        volumes.push(json!({"name": "results", "persistentVolumeClaim": {"claimName": claim, "readOnly": true}}));
        mounts.push(
            json!({"name": "results", "mountPath": "/var/lib/emrex/results", "readOnly": true}),
        );
    }
    if let Some(tls) = &s.source.tls_secret {
        let (v, m) = secret_volume("source-tls", tls, &[], "/var/run/emrex/source-tls");
        volumes.push(v);
        mounts.push(m);
    }
    // Exchanges in progress: PostgreSQL shared by the replicas, or SQLite on the Pod's own
    // volume (one replica; it survives container restarts, not the Pod's replacement).
    let mut ncp_env = Vec::new();
    match &s.postgres_url {
        Some(pg) => ncp_env.push(json!({
            "name": "EMREX_NCP_STORE__URL",
            "valueFrom": {"secretKeyRef": {"name": pg.name, "key": pg.key}},
        })),
        None => {
            volumes.push(json!({"name": "data", "emptyDir": {"sizeLimit": "256Mi"}}));
            mounts.push(json!({"name": "data", "mountPath": "/var/lib/emrex/data"}));
        }
    }
    let ncp_replicas = valid.ncp_replicas;
    let ncp_deployment = common::deployment(
        owner,
        PodSpecParts {
            name: &ncp_dep,
            component: "ncp",
            image: s.workload.image.as_deref().unwrap_or(inputs.image),
            args: vec![
                "ncp".into(),
                "--config".into(),
                format!("{CONFIG_DIR}/ncp.toml"),
            ],
            replicas: ncp_replicas,
            config_hash: common::config_hash(&[&ncp_toml]),
            ports: vec![("http", HTTP_PORT)],
            volumes,
            mounts,
            env: ncp_env,
            recreate: false,
        },
    )?;

    // --- Signer Pods: config, server TLS, and the signing key (mounted nowhere else)
    let mut volumes = Vec::new();
    let mut mounts = Vec::new();
    for (v, m) in [
        config_volume(&signer_dep),
        secret_volume("tls", &signer_tls_secret(n), &[], "/var/run/emrex/tls"),
        secret_volume(
            "signing",
            inputs.signing_secret,
            &[],
            "/var/run/emrex/signing",
        ),
    ] {
        volumes.push(v);
        mounts.push(m);
    }
    let signer_deployment = common::deployment(
        owner,
        PodSpecParts {
            name: &signer_dep,
            component: "signer",
            image: s.signer_workload.image.as_deref().unwrap_or(inputs.image),
            args: vec![
                "signer".into(),
                "--config".into(),
                format!("{CONFIG_DIR}/signer.toml"),
            ],
            replicas: valid.signer_replicas,
            config_hash: common::config_hash(&[&signer_toml]),
            ports: vec![("grpc", GRPC_PORT)],
            volumes,
            mounts,
            env: vec![],
            recreate: false,
        },
    )?;

    // Only the NCP's Pods may open the Signer's gRPC port; the admin port stays open for
    // probes and metrics scrapers.
    let network_policy: NetworkPolicy = common::typed(
        "NetworkPolicy",
        json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": owner.meta(&signer_dep, "signer"),
            "spec": {
                "podSelector": {"matchLabels": crate::names::selector_labels(n, "signer")},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [{"podSelector": {"matchLabels": crate::names::selector_labels(n, "ncp")}}],
                        "ports": [{"protocol": "TCP", "port": GRPC_PORT}],
                    },
                    {"ports": [{"protocol": "TCP", "port": ADMIN_PORT}]},
                ],
            },
        }),
    )?;

    let mut entry = RegistryEntry::new(
        n,
        RegistryEntrySpec {
            registry_ref: s.registry_ref.clone(),
            acronym: acronym(ncp, n),
            country_code: s.country_code.clone(),
            institutions: s.institutions.clone(),
            url: s.public_url.clone(),
            certificates: vec![CertificateSource {
                signing_certificate_ref: Some(s.signing_certificate_ref.clone()),
                pem: None,
            }],
            legacy_algorithms: false,
            // The credential issuer identifier is the NCP's public URL (its OpenID4VCI metadata
            // is at `{publicUrl}/.well-known/openid-credential-issuer`).
            credential_issuer: wallet.map(|_| s.public_url.clone()),
        },
    );
    entry.metadata = owner.meta(n, "registry-entry");

    Ok(Children {
        service_accounts: vec![
            common::service_account(owner, &ncp_dep, "ncp"),
            common::service_account(owner, &signer_dep, "signer"),
        ],
        config_maps: vec![
            common::config_map(owner, &ncp_dep, "ncp", "ncp.toml", ncp_toml),
            common::config_map(owner, &signer_dep, "signer", "signer.toml", signer_toml),
        ],
        secrets: vec![
            common::secret(
                owner,
                &signer_tls_secret(n),
                "signer",
                inputs.mtls.server_entries(),
            ),
            common::secret(
                owner,
                &ncp_tls_secret(n),
                "ncp",
                inputs.mtls.client_entries(),
            ),
        ],
        services: vec![
            common::service(owner, n, "ncp", vec![service_port("http", 80, "http")])?,
            common::service(
                owner,
                &signer_dep,
                "signer",
                vec![service_port("grpc", GRPC_PORT, "grpc")],
            )?,
        ],
        deployments: vec![ncp_deployment, signer_deployment],
        network_policies: vec![network_policy],
        persistent_volume_claims: vec![],
        pod_disruption_budgets: common::disruption_budgets(
            owner,
            &[
                (&ncp_dep, "ncp", ncp_replicas),
                (&signer_dep, "signer", valid.signer_replicas),
            ],
        )?,
        registry_entries: vec![entry],
    })
}
