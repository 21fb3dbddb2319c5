//! The pure build functions on whole objects: every child of each kind compared with a
//! committed snapshot (`tests/snapshots/*.json`; `EMREX_UPDATE_SNAPSHOTS=1` rewrites them, and
//! the diff is reviewed like code), the hardening every Pod gets, and every generated
//! configuration file loaded by the real service's own configuration loader and checks.

use emrex_operator::build::ncp::{MtlsPem, NcpInputs};
use emrex_operator::build::registry::{RegistryEndpoint, ValidatedRegistry};
use emrex_operator::build::{BuildError, Children, Owner, entry, ncp, registry, smp};
use emrex_operator::crd::{NationalContactPoint, Registry, RegistryEntry, StudentMobilityPlugin};
use emrex_runtime::config::{ClientTlsConfig, ConfigLoader, EnvSource, GrpcClientConfig};
use serde_json::{Value, json};

fn owner(kind: &str, name: &str) -> Owner {
    Owner {
        api_version: "emrex.eu/v1alpha1".into(),
        kind: kind.into(),
        name: name.into(),
        namespace: "alliance".into(),
        uid: format!("uid-of-{name}"),
    }
}

fn mtls() -> MtlsPem {
    MtlsPem {
        ca: "CA PEM".into(),
        server_cert: "SERVER CERT PEM".into(),
        server_key: "SERVER KEY PEM".into(),
        client_cert: "CLIENT CERT PEM".into(),
        client_key: "CLIENT KEY PEM".into(),
    }
}

fn ncp_object(extra: Value) -> NationalContactPoint {
    let mut v = json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "NationalContactPoint",
        "metadata": {"name": "helsinki", "namespace": "alliance", "uid": "uid-of-helsinki"},
        "spec": {
            "countryCode": "FI",
            "institutions": ["University of Helsinki"],
            "publicUrl": "https://emrex.helsinki.example/ncp",
            "registryRef": "alliance",
            "signingCertificateRef": "helsinki-signing",
            "login": {"issuer": "https://login.helsinki.example", "clientId": "emrex-ncp", "clientSecret": {"name": "helsinki-oidc", "key": "client-secret"}},
            "source": {"kind": "Grpc", "endpoint": "https://sis.helsinki.example:8443", "tlsSecret": "helsinki-sis-tls"},
        },
    });
    merge(&mut v, extra);
    serde_json::from_value(v).expect("ncp")
}

fn merge(a: &mut Value, b: Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b,
    }
}

fn children_json(c: &Children) -> Value {
    json!({
        "serviceAccounts": c.service_accounts,
        "configMaps": c.config_maps,
        "secrets": c.secrets,
        "services": c.services,
        "deployments": c.deployments,
        "networkPolicies": c.network_policies,
        "persistentVolumeClaims": c.persistent_volume_claims,
        "podDisruptionBudgets": c.pod_disruption_budgets,
        "registryEntries": c.registry_entries,
    })
}

/// Compares with (or, with `EMREX_UPDATE_SNAPSHOTS=1`, writes) `tests/snapshots/{name}.json`.
fn snapshot(name: &str, value: &Value) {
    let path = emrex_tests::workspace_dir().join(format!("operator/tests/snapshots/{name}.json"));
    let text = serde_json::to_string_pretty(value).expect("json") + "\n";
    if std::env::var_os("EMREX_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &text).expect("write snapshot");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} differs from the build output; review and rerun with EMREX_UPDATE_SNAPSHOTS=1.\n--- built:\n{text}",
        path.display()
    );
}

/// Loads `text` with the service's real loader (unknown keys are errors there).
fn load<T: serde::Serialize + serde::de::DeserializeOwned + Default>(
    prefix: &str,
    text: &str,
) -> T {
    let dir = tempfile::tempdir().expect("tmp");
    let file = dir.path().join("config.toml");
    std::fs::write(&file, text).expect("write");
    ConfigLoader::new(prefix)
        .env(EnvSource::vars(Vec::<(String, String)>::new()))
        .file(Some(&file))
        .load::<T>()
        .unwrap_or_else(|e| panic!("the service refuses the generated configuration: {e}\n{text}"))
}

fn config_file(c: &Children, cm: &str, key: &str) -> String {
    c.config_maps
        .iter()
        .find(|m| m.metadata.name.as_deref() == Some(cm))
        .and_then(|m| m.data.as_ref())
        .and_then(|d| d.get(key))
        .cloned()
        .unwrap_or_else(|| panic!("no {cm}/{key}"))
}

/// Every Deployment runs non-root, read-only, without privilege escalation, with seccomp,
/// probes on the admin port, and no Kubernetes API token.
fn assert_hardened(c: &Children) {
    for d in &c.deployments {
        let v = serde_json::to_value(d).expect("json");
        let pod = &v["spec"]["template"]["spec"];
        let name = d.metadata.name.clone().unwrap_or_default();
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true, "{name}");
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault",
            "{name}"
        );
        assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
        let ctr = &pod["containers"][0];
        assert_eq!(
            ctr["securityContext"]["readOnlyRootFilesystem"], true,
            "{name}"
        );
        assert_eq!(
            ctr["securityContext"]["allowPrivilegeEscalation"], false,
            "{name}"
        );
        assert_eq!(
            ctr["securityContext"]["capabilities"]["drop"],
            json!(["ALL"]),
            "{name}"
        );
        assert_eq!(ctr["readinessProbe"]["httpGet"]["path"], "/ready", "{name}");
        assert_eq!(ctr["livenessProbe"]["httpGet"]["path"], "/live", "{name}");
        assert_eq!(ctr["readinessProbe"]["httpGet"]["port"], "admin", "{name}");
        // Owned by the resource, labelled for pruning.
        let meta = &v["metadata"];
        assert_eq!(meta["ownerReferences"][0]["controller"], true, "{name}");
        assert!(
            meta["labels"]["emrex.eu/owner-uid"]
                .as_str()
                .is_some_and(|u| u.starts_with("uid-of-")),
            "{name}"
        );
    }
}

#[test]
fn ncp_children_snapshot_hardening_key_isolation_and_configuration() {
    let obj = ncp_object(json!({}));
    let m = mtls();
    let valid = ncp::validate(&obj, owner("NationalContactPoint", "helsinki")).expect("valid");
    let c = ncp::build(
        &valid,
        &NcpInputs {
            image: "ghcr.io/emrex-rs/emrex:test",
            signing_secret: "helsinki-signing-key",
            mtls: &m,
        },
    )
    .expect("build");
    snapshot("ncp", &children_json(&c));
    assert_hardened(&c);

    // The signing key Secret is mounted into the Signer only.
    let mounts = |dep: &str| -> Vec<String> {
        let d = c
            .deployments
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(dep))
            .expect("dep");
        let v = serde_json::to_value(d).expect("json");
        v["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["secret"]["secretName"].as_str().map(str::to_string))
            .collect()
    };
    assert!(mounts("helsinki-signer").contains(&"helsinki-signing-key".to_string()));
    assert!(!mounts("helsinki-ncp").contains(&"helsinki-signing-key".to_string()));
    assert!(
        !mounts("helsinki-ncp").contains(&"helsinki-signer-tls".to_string()),
        "the NCP gets the client side only"
    );

    // The configuration files load in the real services and pass their checks.
    let ncp_cfg: emrex_ncp::NcpServiceConfig =
        load("EMREX_NCP_", &config_file(&c, "helsinki-ncp", "ncp.toml"));
    ncp_cfg.check().expect("the NCP accepts its configuration");
    assert!(!ncp_cfg.dev_mode && !ncp_cfg.dev_login());
    assert_eq!(
        ncp_cfg.signer.client.endpoint,
        "https://helsinki-signer.alliance.svc:50051"
    );
    let signer_cfg: emrex_signer::SignerServiceConfig = load(
        "EMREX_SIGNER_",
        &config_file(&c, "helsinki-signer", "signer.toml"),
    );
    let tls = signer_cfg.grpc.tls.expect("the Signer requires TLS");
    assert!(tls.require_client_cert, "only mTLS clients may sign");
    assert!(!signer_cfg.auth.allow_dev_bearer_tokens);

    // The owned RegistryEntry lists the SigningCertificate.
    assert_eq!(c.registry_entries.len(), 1);
    let e = &c.registry_entries[0];
    assert_eq!(e.spec.acronym, "helsinki");
    assert_eq!(
        e.spec.certificates[0].signing_certificate_ref.as_deref(),
        Some("helsinki-signing")
    );
    entry::validate(&e.spec).expect("the entry it builds is valid");
}

#[test]
fn ncp_variants_directory_source_replicas_and_refusals() {
    let m = mtls();
    let inputs = NcpInputs {
        image: "img",
        signing_secret: "k",
        mtls: &m,
    };
    let o = owner("NationalContactPoint", "helsinki");
    let dir = ncp_object(
        json!({"spec": {"source": {"kind": "Directory", "claimName": "results", "endpoint": null, "tlsSecret": null}, "workload": {"replicas": 3, "image": "custom:1"}, "postgresUrl": {"name": "ncp-db", "key": "url"}}}),
    );
    let c = ncp::build(&ncp::validate(&dir, o).expect("valid"), &inputs).expect("build");
    let cfg: emrex_ncp::NcpServiceConfig =
        load("EMREX_NCP_", &config_file(&c, "helsinki-ncp", "ncp.toml"));
    cfg.check().expect("valid");
    let v = serde_json::to_value(&c.deployments[0]).expect("json");
    assert_eq!(v["spec"]["replicas"], 3);
    assert_eq!(
        v["spec"]["template"]["spec"]["containers"][0]["image"],
        "custom:1"
    );
    assert!(
        v["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .expect("vols")
            .iter()
            .any(|v| v["persistentVolumeClaim"]["claimName"] == "results")
    );
    // Replicas share exchanges through PostgreSQL: no session affinity, a disruption budget,
    // rolling updates that never go below the wanted count, the URL from the Secret.
    let svc = serde_json::to_value(&c.services[0]).expect("json");
    assert!(
        svc["spec"].get("sessionAffinity").is_none(),
        "any replica serves any step: {svc}"
    );
    assert_eq!(
        v["spec"]["strategy"],
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}})
    );
    assert_eq!(
        v["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([{"name": "EMREX_NCP_STORE__URL", "valueFrom": {"secretKeyRef": {"name": "ncp-db", "key": "url"}}}])
    );
    let pdbs: Vec<Value> = c
        .pod_disruption_budgets
        .iter()
        .map(|p| serde_json::to_value(p).expect("json"))
        .collect();
    assert_eq!(pdbs.len(), 1, "the NCP only: its Signer has one replica");
    assert_eq!(pdbs[0]["metadata"]["name"], "helsinki-ncp");
    assert_eq!(pdbs[0]["spec"]["maxUnavailable"], 1);
    assert_eq!(
        pdbs[0]["spec"]["selector"]["matchLabels"],
        v["spec"]["selector"]["matchLabels"]
    );
    // One replica: SQLite on the Pod's own volume, no budget.
    let one = ncp_object(json!({}));
    let c1 = ncp::build(
        &ncp::validate(&one, owner("NationalContactPoint", "helsinki")).expect("valid"),
        &inputs,
    )
    .expect("build");
    assert!(c1.pod_disruption_budgets.is_empty());
    let cfg1: emrex_ncp::NcpServiceConfig =
        load("EMREX_NCP_", &config_file(&c1, "helsinki-ncp", "ncp.toml"));
    assert_eq!(cfg1.store.url, "sqlite:/var/lib/emrex/data/ncp.db");
    let v1 = serde_json::to_value(&c1.deployments[0]).expect("json");
    assert!(
        v1["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .any(|m| m["mountPath"] == "/var/lib/emrex/data"),
        "the SQLite file is on a writable volume (the root file system is read-only)"
    );
    assert_eq!(cfg.elmo.version.to_string(), "1.7", "the default");
    assert!(!config_file(&c, "helsinki-ncp", "ncp.toml").contains("[elmo]"));

    // elmoVersion 2.1 reaches the NCP's configuration.
    let v21 = ncp_object(json!({"spec": {"elmoVersion": "2.1"}}));
    let c = ncp::build(
        &ncp::validate(&v21, owner("NationalContactPoint", "helsinki")).expect("valid"),
        &inputs,
    )
    .expect("build");
    let cfg: emrex_ncp::NcpServiceConfig =
        load("EMREX_NCP_", &config_file(&c, "helsinki-ncp", "ncp.toml"));
    assert_eq!(cfg.elmo.version.to_string(), "2.1");

    for (patch, field) in [
        (json!({"spec": {"countryCode": "fi"}}), "spec.countryCode"),
        (
            json!({"spec": {"publicUrl": "http://plain.example"}}),
            "spec.publicUrl",
        ),
        (json!({"spec": {"acronym": "has space"}}), "spec.acronym"),
        (
            json!({"spec": {"source": {"kind": "Directory", "claimName": null}}}),
            "spec.source.claimName",
        ),
        (
            json!({"spec": {"source": {"kind": "Grpc", "endpoint": null}}}),
            "spec.source.endpoint",
        ),
        (
            json!({"spec": {"workload": {"replicas": 1000}}}),
            "spec.workload.replicas",
        ),
        (
            // Several replicas without a shared store would each see a part of the exchanges.
            json!({"spec": {"workload": {"replicas": 2}}}),
            "spec.workload.replicas",
        ),
        (
            json!({"metadata": {"name": "a-name-that-is-far-too-long-for-the-service-names-we-derive"}}),
            "metadata.name",
        ),
        (
            json!({"spec": {"wallet": {"enabled": true, "offerLifetime": "30s"}}}),
            "spec.wallet.offerLifetime",
        ),
        (
            json!({"spec": {"wallet": {"enabled": true, "offerLifetime": "soon"}}}),
            "spec.wallet.offerLifetime",
        ),
        (
            json!({"spec": {"wallet": {"enabled": true, "credentialLifetime": "100y"}}}),
            "spec.wallet.credentialLifetime",
        ),
        (
            json!({"spec": {"wallet": {"enabled": true, "formats": ["dc+sd-jwt", "dc+sd-jwt"]}}}),
            "spec.wallet.formats",
        ),
    ] {
        let bad = ncp_object(patch.clone());
        let name = bad.metadata.name.clone().expect("name");
        let err = ncp::validate(&bad, owner("NationalContactPoint", &name))
            .expect_err(&patch.to_string());
        assert!(
            matches!(&err, BuildError::Invalid { field: f, .. } if f == field),
            "{patch}: {err}"
        );
    }
}

/// `spec.wallet`: enabled, the NCP's `[wallet]` table carries the lifetimes and formats and its
/// RegistryEntry names the public URL as credential issuer (so EMREG lists its keys for wallet
/// verifiers); disabled or absent, neither appears and the configuration (and so its hash, and
/// the Pods) stays exactly as before.
#[test]
fn ncp_wallet_reaches_the_config_and_the_registry_entry() {
    let m = mtls();
    let inputs = NcpInputs {
        image: "img",
        signing_secret: "k",
        mtls: &m,
    };
    let build = |extra: Value| {
        let ncp = ncp_object(extra);
        ncp::build(
            &ncp::validate(&ncp, owner("NationalContactPoint", "helsinki")).expect("valid"),
            &inputs,
        )
        .expect("build")
    };
    let plain = build(json!({}));
    let off = build(json!({"spec": {"wallet": {"enabled": false, "offerLifetime": "15m"}}}));
    let on = build(json!({"spec": {"wallet": {
        "enabled": true, "offerLifetime": "15m", "credentialLifetime": "8760h",
        "formats": ["dc+sd-jwt", "vc+sd-jwt"],
    }}}));
    let toml_of = |c: &Children| config_file(c, "helsinki-ncp", "ncp.toml");
    assert!(!toml_of(&plain).contains("[wallet]"));
    assert_eq!(toml_of(&off), toml_of(&plain), "disabled: nothing changes");
    let parsed: toml::Table = toml::from_str(&toml_of(&on)).expect("toml");
    let wallet = parsed["wallet"].as_table().expect("[wallet]");
    assert_eq!(wallet["enabled"].as_bool(), Some(true));
    assert_eq!(wallet["offer_ttl"].as_str(), Some("15m"));
    assert_eq!(wallet["credential_ttl"].as_str(), Some("8760h"));
    let formats: Vec<&str> = wallet["formats"]
        .as_array()
        .expect("formats")
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    assert_eq!(formats, ["dc+sd-jwt", "vc+sd-jwt"]);
    // The NCP's own loader and checks take it as meant.
    let cfg: emrex_ncp::NcpServiceConfig = load("EMREX_NCP_", &toml_of(&on));
    cfg.check()
        .expect("the NCP accepts its wallet configuration");
    assert!(cfg.wallet.enabled);
    assert_eq!(
        cfg.wallet.offer_ttl,
        std::time::Duration::from_secs(15 * 60)
    );
    assert_eq!(
        cfg.wallet.credential_ttl,
        std::time::Duration::from_secs(8760 * 3600)
    );
    assert_eq!(
        cfg.wallet
            .formats
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>(),
        formats
    );
    let plain_cfg: emrex_ncp::NcpServiceConfig = load("EMREX_NCP_", &toml_of(&plain));
    assert!(!plain_cfg.wallet.enabled);

    let issuer_of = |c: &Children| c.registry_entries[0].spec.credential_issuer.clone();
    assert_eq!(issuer_of(&plain), None);
    assert_eq!(issuer_of(&off), None);
    assert_eq!(
        issuer_of(&on).as_deref(),
        Some("https://emrex.helsinki.example/ncp")
    );
    let entry_spec = &on.registry_entries[0].spec;
    let published = entry::desired(
        entry::validate(entry_spec).expect("valid entry"),
        "alliance/helsinki",
        "uid",
        vec![],
    );
    assert_eq!(
        published.credential_issuer,
        "https://emrex.helsinki.example/ncp"
    );
}

/// `spec.login.caSecret` (an OpenID provider certified by the institution's own CA, as the node
/// federation test's ingress is): only `ca.crt` of it is mounted, into the NCP Pod only, and the
/// NCP's configuration trusts that file; without it nothing is mounted and the image's public CAs
/// apply.
#[test]
fn ncp_login_ca_secret_is_mounted_and_trusted() {
    let m = mtls();
    let inputs = NcpInputs {
        image: "img",
        signing_secret: "k",
        mtls: &m,
    };
    let o = owner("NationalContactPoint", "helsinki");
    let volume_of = |c: &Children, dep: &str| -> Option<(Value, Value)> {
        let d = c
            .deployments
            .iter()
            .find(|d| d.metadata.name.as_deref() == Some(dep))
            .expect("dep");
        let v = serde_json::to_value(d).expect("json");
        let pod = &v["spec"]["template"]["spec"];
        let vol = pod["volumes"]
            .as_array()?
            .iter()
            .find(|v| v["name"] == "oidc-ca")?
            .clone();
        let mount = pod["containers"][0]["volumeMounts"]
            .as_array()?
            .iter()
            .find(|m| m["name"] == "oidc-ca")?
            .clone();
        Some((vol, mount))
    };

    let plain = ncp::build(
        &ncp::validate(&ncp_object(json!({})), o.clone()).expect("valid"),
        &inputs,
    )
    .expect("build");
    assert!(volume_of(&plain, "helsinki-ncp").is_none());
    let cfg: emrex_ncp::NcpServiceConfig = load(
        "EMREX_NCP_",
        &config_file(&plain, "helsinki-ncp", "ncp.toml"),
    );
    assert_eq!(cfg.login.oidc.expect("oidc").ca_file, None);

    let with_ca_obj = ncp_object(json!({"spec": {"login": {"caSecret": "helsinki-idp-ca"}}}));
    let with_ca = ncp::build(
        &ncp::validate(&with_ca_obj, o.clone()).expect("valid"),
        &inputs,
    )
    .expect("build");
    let (vol, mount) = volume_of(&with_ca, "helsinki-ncp").expect("the CA is mounted");
    assert_eq!(vol["secret"]["secretName"], "helsinki-idp-ca");
    assert_eq!(
        vol["secret"]["items"],
        json!([{"key": "ca.crt", "path": "ca.crt"}])
    );
    assert_eq!(mount["mountPath"], "/var/run/emrex/oidc-ca");
    assert_eq!(mount["readOnly"], true);
    assert!(volume_of(&with_ca, "helsinki-signer").is_none());
    let cfg: emrex_ncp::NcpServiceConfig = load(
        "EMREX_NCP_",
        &config_file(&with_ca, "helsinki-ncp", "ncp.toml"),
    );
    cfg.check().expect("valid");
    assert_eq!(
        cfg.login.oidc.expect("oidc").ca_file,
        Some(std::path::PathBuf::from("/var/run/emrex/oidc-ca/ca.crt"))
    );

    let bad = ncp_object(json!({"spec": {"login": {"caSecret": "Not_A_Name"}}}));
    let err = ncp::validate(&bad, o).expect_err("invalid name");
    assert!(
        matches!(&err, BuildError::Invalid { field, .. } if field == "spec.login.caSecret"),
        "{err}"
    );
}

/// A gRPC results source without `tlsSecret` (the alliance example's Finland and Italy): the NCP
/// must still start — it refuses an https:// endpoint without a CA file — so it trusts the public
/// CA bundle of the image (which `services/emrex/tests/image.rs` checks is there), without a
/// client certificate and without mounting anything.
#[test]
fn grpc_source_without_tls_secret_trusts_the_images_public_cas() {
    let m = mtls();
    let inputs = NcpInputs {
        image: "img",
        signing_secret: "k",
        mtls: &m,
    };
    let obj = ncp_object(json!({"spec": {"source": {"tlsSecret": null}}}));
    let c = ncp::build(
        &ncp::validate(&obj, owner("NationalContactPoint", "helsinki")).expect("valid"),
        &inputs,
    )
    .expect("build");
    let text = config_file(&c, "helsinki-ncp", "ncp.toml");
    let cfg: emrex_ncp::NcpServiceConfig = load("EMREX_NCP_", &text);
    cfg.check().expect("valid");
    let v: toml::Value = toml::from_str(&text).expect("toml");
    let tls = &v["source"]["client"]["tls"];
    assert_eq!(
        tls["ca_file"].as_str(),
        Some(emrex_operator::build::ncp::IMAGE_CA_BUNDLE)
    );
    assert!(tls.get("cert_file").is_none() && tls.get("key_file").is_none());
    let d = serde_json::to_value(&c.deployments[0]).expect("json");
    assert!(
        !d["spec"]["template"]["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .any(|v| v["name"] == "source-tls")
    );
    // What the NCP does with it: a channel to the https:// endpoint is accepted.
    let client = GrpcClientConfig {
        endpoint: "https://sis.helsinki.example:8443".into(),
        tls: Some(ClientTlsConfig {
            ca_file: "/etc/ssl/certs/ca-certificates.crt".into(),
            cert_file: None,
            key_file: None,
            server_name: None,
        }),
        ..GrpcClientConfig::default()
    };
    assert!(std::path::Path::new(emrex_operator::build::ncp::IMAGE_CA_BUNDLE).is_file());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        emrex_runtime::grpc::channel(&client, &emrex_runtime::tls::TlsOptions::default())
            .expect("the NCP's channel to the provider")
    });
}

/// The images the operator runs are pulled as Kubernetes decides for their tag (no
/// `imagePullPolicy`: `IfNotPresent` for a versioned tag), never forced to `Always` — so an image
/// loaded into the node's runtime without a registry (the node federation test, air-gapped
/// clusters) runs as it is.
#[test]
fn deployments_never_force_image_pulls() {
    let m = mtls();
    let inputs = NcpInputs {
        image: "localhost/emrex:0.1.0",
        signing_secret: "k",
        mtls: &m,
    };
    let obj = ncp_object(json!({}));
    let c = ncp::build(
        &ncp::validate(&obj, owner("NationalContactPoint", "helsinki")).expect("valid"),
        &inputs,
    )
    .expect("build");
    assert_eq!(c.deployments.len(), 2);
    for d in &c.deployments {
        let v = serde_json::to_value(d).expect("json");
        let ctr = &v["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(ctr["image"], "localhost/emrex:0.1.0");
        assert!(ctr.get("imagePullPolicy").is_none(), "{ctr}");
    }
}

#[test]
fn registry_children_snapshot_and_configuration() {
    let reg: Registry = serde_json::from_value(json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry",
        "metadata": {"name": "alliance", "namespace": "alliance"},
        "spec": {},
    }))
    .expect("registry");
    let m = mtls();
    let in_cluster = |reg| match registry::validate(reg, owner("Registry", "alliance")) {
        Ok(ValidatedRegistry::InCluster(r)) => r,
        other => panic!("an in-cluster Registry: {other:?}"),
    };
    let c = registry::build(&in_cluster(&reg), "ghcr.io/emrex-rs/emrex:test", &m).expect("build");
    snapshot("registry", &children_json(&c));
    assert_hardened(&c);
    let cfg: emrex_emreg::EmregServiceConfig = load(
        "EMREX_EMREG_",
        &config_file(&c, "alliance-emreg", "emreg.toml"),
    );
    assert!(!cfg.dev_mode);
    assert_eq!(cfg.store.url, "sqlite:/var/lib/emrex/emreg.db");
    assert!(
        cfg.grpc
            .tls
            .is_some_and(|t| !t.require_client_cert && t.client_ca_file.is_some())
    );
    assert_eq!(c.persistent_volume_claims.len(), 1);
    let ep = registry::endpoint(&reg, "alliance", "alliance");
    assert_eq!(
        ep.grpc.as_deref(),
        Some("https://alliance-emreg.alliance.svc:50051")
    );
    assert_eq!(ep.ewp_catalogue_url, None);
    assert_eq!(ep.tls_secret.as_deref(), Some("alliance-emreg-client"));

    // External: nothing runs here.
    let ext: Registry = serde_json::from_value(json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry",
        "metadata": {"name": "national", "namespace": "alliance"},
        "spec": {"external": {"grpcEndpoint": "https://emreg.example.eu:443", "tlsSecret": "emreg-client"}},
    }))
    .expect("registry");
    assert!(matches!(
        registry::validate(&ext, owner("Registry", "national")),
        Ok(ValidatedRegistry::External(_))
    ));
    // The EWP catalogue alone (nothing to publish to), or nothing at all.
    let ewp: Registry = serde_json::from_value(json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry",
        "metadata": {"name": "ewp", "namespace": "alliance"},
        "spec": {"external": {"ewpCatalogueUrl": "https://registry.erasmuswithoutpaper.eu/catalogue-v1.xml"}},
    }))
    .expect("registry");
    assert!(matches!(
        registry::validate(&ewp, owner("Registry", "ewp")),
        Ok(ValidatedRegistry::External(_))
    ));
    let ep = registry::endpoint(&ewp, "ewp", "alliance");
    assert_eq!(
        (ep.grpc, ep.ewp_catalogue_url.as_deref()),
        (
            None,
            Some("https://registry.erasmuswithoutpaper.eu/catalogue-v1.xml")
        )
    );
    for (spec, field) in [
        (json!({"external": {}}), "spec.external"),
        (
            json!({"external": {"ewpCatalogueUrl": "http://registry.example/catalogue-v1.xml"}}),
            "spec.external.ewpCatalogueUrl",
        ),
    ] {
        let bad: Registry = serde_json::from_value(json!({
            "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry",
            "metadata": {"name": "bad", "namespace": "alliance"}, "spec": spec,
        }))
        .expect("registry");
        assert!(
            matches!(registry::validate(&bad, owner("Registry", "bad")), Err(BuildError::Invalid { field: f, .. }) if f == field),
            "{field}"
        );
    }

    // PostgreSQL: the URL comes from the Secret, several replicas allowed; SQLite refuses them.
    let pg: Registry = serde_json::from_value(json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry",
        "metadata": {"name": "alliance", "namespace": "alliance"},
        "spec": {"store": {"postgresUrl": {"name": "db", "key": "url"}}, "workload": {"replicas": 2}},
    }))
    .expect("registry");
    let c = registry::build(&in_cluster(&pg), "img", &m).expect("build");
    let v = serde_json::to_value(&c.deployments[0]).expect("json");
    assert_eq!(
        v["spec"]["template"]["spec"]["containers"][0]["env"][0]["valueFrom"]["secretKeyRef"]["name"],
        "db"
    );
    assert!(c.persistent_volume_claims.is_empty());
    let sqlite_many: Registry = serde_json::from_value(json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "Registry",
        "metadata": {"name": "alliance", "namespace": "alliance"},
        "spec": {"workload": {"replicas": 2}},
    }))
    .expect("registry");
    assert!(matches!(
        registry::validate(&sqlite_many, owner("Registry", "alliance")),
        Err(BuildError::Invalid { field, .. }) if field == "spec.workload.replicas"
    ));
}

#[test]
fn smp_children_snapshot_and_configuration() {
    let obj: StudentMobilityPlugin = serde_json::from_value(json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "StudentMobilityPlugin",
        "metadata": {"name": "mobility", "namespace": "alliance"},
        "spec": {"publicUrl": "https://mobility.alliance.example", "registryRef": "alliance", "sisClientCaSecret": "sis-ca"},
    }))
    .expect("smp");
    let ep = RegistryEndpoint {
        grpc: Some("https://alliance-emreg.alliance.svc:50051".into()),
        ewp_catalogue_url: None,
        tls_secret: Some("alliance-emreg-client".into()),
        in_cluster: true,
    };
    let valid = smp::validate(&obj, owner("StudentMobilityPlugin", "mobility")).expect("valid");
    // A test-only key (the controller reads the Secret or makes one).
    let keys = "VEVTVC1PTkxZIGxpbmsga2V5LCAzMiBieXRlcyBsb25nISE=\n";
    let c = smp::build(&valid, "ghcr.io/emrex-rs/emrex:test", &ep, keys).expect("build");
    snapshot("smp", &children_json(&c));
    assert_hardened(&c);
    // Only ca.crt of the operator's client Secret reaches the SMP.
    let v = serde_json::to_value(&c.deployments[0]).expect("json");
    let reg_vol = v["spec"]["template"]["spec"]["volumes"]
        .as_array()
        .expect("vols")
        .iter()
        .find(|v| v["name"] == "registry-ca")
        .expect("registry-ca volume")
        .clone();
    assert_eq!(
        reg_vol["secret"]["items"],
        json!([{"key": "ca.crt", "path": "ca.crt"}])
    );
    let cfg: emrex_smp::config::SmpServiceConfig =
        load("EMREX_SMP_", &config_file(&c, "mobility-smp", "smp.toml"));
    assert!(!cfg.dev_mode && !cfg.http.chooser);
    assert!(
        cfg.grpc.tls.is_some_and(|t| t.require_client_cert),
        "the SIS API needs client certificates"
    );
    // Result links: the key file every replica shares, from the operator's Secret, and the
    // real SMP accepts the key.
    assert_eq!(
        cfg.links.key_file.as_deref(),
        Some(std::path::Path::new("/var/run/emrex/links/keys"))
    );
    let secret = c
        .secrets
        .iter()
        .find(|s| s.metadata.name.as_deref() == Some("mobility-smp-links"))
        .expect("links Secret");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("keys");
    std::fs::write(&path, &secret.data.as_ref().expect("data")["keys"].0).expect("write");
    emrex_smp::links::LinkKeys::from_config(&emrex_smp::links::LinksConfig {
        key_file: Some(path),
        ..Default::default()
    })
    .expect("the SMP loads the operator's link keys");
    assert!(c.pod_disruption_budgets.is_empty(), "one replica");

    // A Registry that names an EWP catalogue: the SMP reads it (public HTTPS, no CA mounted).
    let catalogue = "https://registry.erasmuswithoutpaper.eu/catalogue-v1.xml";
    let ewp = RegistryEndpoint {
        grpc: None,
        ewp_catalogue_url: Some(catalogue.into()),
        tls_secret: None,
        in_cluster: false,
    };
    let c = smp::build(&valid, "img", &ewp, keys).expect("build");
    let cfg: emrex_smp::config::SmpServiceConfig =
        load("EMREX_SMP_", &config_file(&c, "mobility-smp", "smp.toml"));
    assert_eq!(
        cfg.registry,
        emrex_smp::registry::RegistryConfig::ewp_catalogue(catalogue)
    );
    let v = serde_json::to_value(&c.deployments[0]).expect("json");
    assert!(
        !v.to_string().contains("registry-ca"),
        "no registry CA for the catalogue"
    );
    let nowhere = RegistryEndpoint {
        grpc: None,
        ewp_catalogue_url: None,
        tls_secret: None,
        in_cluster: false,
    };
    assert!(matches!(
        smp::build(&valid, "img", &nowhere, keys),
        Err(BuildError::Invalid { field, .. }) if field == "spec.registryRef"
    ));
}

#[test]
fn entries_are_validated_and_compared_without_server_fields() {
    let e: RegistryEntry = serde_json::from_value(json!({
        "apiVersion": "emrex.eu/v1alpha1", "kind": "RegistryEntry",
        "metadata": {"name": "x", "namespace": "alliance"},
        "spec": {"registryRef": "alliance", "acronym": "X", "countryCode": "FI", "url": "https://x.example", "certificates": [{"pem": "not a certificate"}]},
    }))
    .expect("entry");
    assert!(
        matches!(entry::validate(&e.spec), Err(BuildError::Invalid { field, .. }) if field == "spec.certificates[0].pem")
    );
    let mut both = e.spec.clone();
    both.certificates = vec![emrex_operator::crd::CertificateSource {
        signing_certificate_ref: Some("a".into()),
        pem: Some("b".into()),
    }];
    assert!(entry::validate(&both).is_err());
    let mut none = e.spec.clone();
    none.certificates.clear();
    assert!(entry::validate(&none).is_err());

    let mut valid = e.spec.clone();
    valid.certificates = vec![emrex_operator::crd::CertificateSource {
        signing_certificate_ref: Some("x-signing".into()),
        pem: None,
    }];
    let valid = entry::validate(&valid).expect("valid");
    let d = entry::desired(valid, "alliance/x", "uid-1", vec!["PEM\n".into()]);
    let mut stored = d.clone();
    stored.revision = 42;
    stored.updated_unix = 1_800_000_000;
    stored.certificates_pem = vec!["PEM".into()];
    assert!(
        entry::up_to_date(&stored, &d),
        "server fields and trailing newlines do not count"
    );
    stored.url = "https://other.example".into();
    assert!(!entry::up_to_date(&stored, &d));
    assert!(entry::is_ours(&d, "alliance/x"));
    assert!(!entry::is_ours(&d, "other/x"));
}
