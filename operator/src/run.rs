//! Running the operator: the Kubernetes client, the admin server (`/live`, `/ready`,
//! `/metrics`), leader election, optional CRD installation, and the five controllers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::future::join_all;
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Patch;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;

use crate::controller::{self, Ctx, error_policy_for};
use crate::crd::{
    NationalContactPoint, Registry, RegistryEntry, SigningCertificate, StudentMobilityPlugin,
};
use crate::emreg::EmregClients;
use crate::lease::{self, LeaseConfig, Outcome};
use crate::metrics::OperatorMetrics;
use crate::names::MANAGED_BY;

/// Reconciles in flight per controller. Unbounded (kube's default) lets a burst of hundreds of
/// resources hit the API server at once; a bounded pool keeps its latency, and the operator's
/// memory, flat while the queue drains.
pub const RECONCILE_CONCURRENCY: u16 = 16;

/// How the operator runs (from `emrex operator` flags).
#[derive(Debug, Clone)]
pub struct OperatorConfig {
    /// Watch only this namespace (a Role suffices); all namespaces when `None`.
    pub namespace: Option<String>,
    pub admin_listen: SocketAddr,
    pub leader_election: bool,
    pub lease_name: String,
    pub lease_namespace: String,
    /// This replica's identity in the Lease (the Pod name).
    pub identity: String,
    /// Server-side apply the CRDs at start.
    pub apply_crds: bool,
    /// Image of the services when a resource names none.
    pub image: String,
}

/// Why the operator stopped.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("Kubernetes client: {0}")]
    Client(#[source] kube::Error),
    #[error("applying the CRDs: {0}")]
    Crds(#[source] kube::Error),
    #[error("admin server: {0}")]
    Admin(#[from] emrex_runtime::admin::AdminError),
    #[error(
        "lost the leader Lease {0} (renewal failed past its duration); exiting so another replica takes over"
    )]
    LostLease(String),
}

/// Runs until `shutdown` triggers (or leadership is lost).
pub async fn run(
    config: OperatorConfig,
    shutdown: emrex_runtime::shutdown::Shutdown,
) -> Result<(), RunError> {
    let client = Client::try_default().await.map_err(RunError::Client)?;
    run_with_client(client, config, shutdown).await
}

/// [`run`] with a given client (tests).
pub async fn run_with_client(
    client: Client,
    config: OperatorConfig,
    shutdown: emrex_runtime::shutdown::Shutdown,
) -> Result<(), RunError> {
    let metrics = emrex_runtime::metrics::Metrics::with_prefix("emrex_operator");
    let op_metrics = OperatorMetrics::register(&metrics);
    let readiness = emrex_runtime::readiness::Readiness::new();
    let started = readiness.add_check("controllers running or standing by");
    let admin = emrex_runtime::admin::AdminServer::bind(
        &emrex_runtime::config::AdminConfig {
            listen: config.admin_listen,
        },
        readiness.clone(),
        metrics.clone(),
    )
    .await?;
    tracing::info!(admin = %admin.local_addr(), namespace = ?config.namespace, "emrex operator starting");
    println!("emrex-operator-admin {}", admin.local_addr());
    let stop = shutdown.clone();
    let admin_task = tokio::spawn(admin.serve(async move { stop.triggered().await }));

    if config.apply_crds {
        apply_crds(&client).await.map_err(RunError::Crds)?;
    }

    // Leader election: wait for the Lease (standing by counts as ready), then keep renewing.
    let lease_cfg = LeaseConfig::new(
        config.lease_name.clone(),
        config.lease_namespace.clone(),
        config.identity.clone(),
    );
    if config.leader_election {
        started.set(true);
        loop {
            match lease::try_acquire(&client, &lease_cfg).await {
                Ok(Outcome::Held) => break,
                Ok(Outcome::HeldBy(h)) => tracing::debug!(holder = %h, "standing by"),
                Err(e) => tracing::warn!(error = %e, "leader election"),
            }
            tokio::select! {
                _ = shutdown.triggered() => {
                    let _ = admin_task.await;
                    return Ok(());
                }
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            }
        }
        tracing::info!(lease = %lease_cfg.name, identity = %lease_cfg.identity, "leading");
    }
    op_metrics.leader.set(1);

    let ctx = Arc::new(Ctx {
        client: client.clone(),
        image: config.image.clone(),
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: "emrex-operator".into(),
                instance: Some(config.identity.clone()),
            },
        ),
        metrics: op_metrics.clone(),
        emreg: EmregClients::default(),
        applied: crate::apply::AppliedCache::default(),
    });
    let controllers = tokio::spawn(controllers(ctx, config.namespace.clone(), shutdown.clone()));
    started.set(true);

    let result = if config.leader_election {
        renew_loop(&client, &lease_cfg, &shutdown).await
    } else {
        shutdown.triggered().await;
        Ok(())
    };
    shutdown.trigger();
    let _ = controllers.await;
    op_metrics.leader.set(0);
    if config.leader_election
        && result.is_ok()
        && let Err(e) = lease::release(&client, &lease_cfg).await
    {
        tracing::warn!(error = %e, "could not release the Lease");
    }
    let _ = admin_task.await;
    result
}

async fn renew_loop(
    client: &Client,
    cfg: &LeaseConfig,
    shutdown: &emrex_runtime::shutdown::Shutdown,
) -> Result<(), RunError> {
    let mut last_ok = std::time::Instant::now();
    loop {
        tokio::select! {
            _ = shutdown.triggered() => return Ok(()),
            _ = tokio::time::sleep(cfg.renew_every) => {}
        }
        match lease::try_acquire(client, cfg).await {
            Ok(Outcome::Held) => last_ok = std::time::Instant::now(),
            Ok(Outcome::HeldBy(h)) => {
                tracing::error!(holder = %h, "another replica took the Lease");
                return Err(RunError::LostLease(cfg.name.clone()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "renewing the Lease");
                // Stop before the Lease can expire and another replica starts writing.
                if last_ok.elapsed() + cfg.renew_every >= cfg.lease_duration {
                    return Err(RunError::LostLease(cfg.name.clone()));
                }
            }
        }
    }
}

/// Server-side applies the CRDs (taking over fields from e.g. Helm).
pub async fn apply_crds(client: &Client) -> Result<(), kube::Error> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let version = client.apiserver_version().await?;
    let minor: u32 = version.minor.trim_end_matches('+').parse().unwrap_or(0);
    let with_cel = version.major == "1" && minor >= 25;
    tracing::info!(server = %version.git_version, with_cel, "applying the CRDs");
    for crd in if with_cel {
        crate::crds_with_cel()
    } else {
        crate::crds()
    } {
        api.patch(
            &crd.name_any(),
            &crate::apply::apply_params(),
            &Patch::Apply(&crd),
        )
        .await?;
    }
    tracing::info!("CRDs applied");
    Ok(())
}

fn api<K>(client: &Client, ns: &Option<String>) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
{
    match ns {
        Some(n) => Api::namespaced(client.clone(), n),
        None => Api::all(client.clone()),
    }
}

/// References of the objects in `store` (same namespace as `other`) for which `pick` holds.
fn refs<K, O>(
    store: &kube::runtime::reflector::Store<K>,
    other: &O,
    pick: impl Fn(&K) -> bool,
) -> Vec<ObjectRef<K>>
where
    K: Resource<DynamicType = ()>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
    O: Resource,
{
    let ns = other.meta().namespace.clone();
    store
        .state()
        .iter()
        .filter(|o| o.meta().namespace == ns && pick(o))
        .map(|o| ObjectRef::from_obj(&**o))
        .collect()
}

/// A filter for watch mappers that passes an object only when `key` of it changed since it was
/// last seen (kube's predicate filters need an unstable feature; this is the stable
/// equivalent). Used so the status churn of one object does not wake many others.
fn changed_only<K: Resource>(
    key: impl Fn(&K) -> u64 + Send + Sync,
) -> impl Fn(&K) -> bool + Send + Sync {
    let seen =
        std::sync::Mutex::new(std::collections::HashMap::<(Option<String>, String), u64>::new());
    move |o: &K| {
        let k = (
            o.meta().namespace.clone(),
            o.meta().name.clone().unwrap_or_default(),
        );
        let h = key(o);
        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.insert(k, h) != Some(h)
    }
}

/// What matters about a Registry to those who use it: its spec (generation) and whether its
/// EMREG is available. Not its `entries` count, which changes with every publication and would
/// otherwise wake every entry and SMP of the Registry each time (N² reconciles).
fn registry_key(r: &Registry) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    r.metadata.generation.hash(&mut h);
    r.metadata.deletion_timestamp.is_some().hash(&mut h);
    r.status
        .as_ref()
        .is_some_and(|s| crate::conditions::is_true(&s.common, crate::conditions::AVAILABLE))
        .hash(&mut h);
    h.finish()
}

/// What matters about a SigningCertificate to an NCP: its spec (the Secret's name).
fn generation_key<K: Resource>(o: &K) -> u64 {
    o.meta().generation.map_or(0, |g| g as u64) ^ u64::from(o.meta().deletion_timestamp.is_some())
}

async fn controllers(
    ctx: Arc<Ctx>,
    ns: Option<String>,
    shutdown: emrex_runtime::shutdown::Shutdown,
) {
    let client = ctx.client.clone();
    let all = watcher::Config::default().any_semantic();
    let children = watcher::Config::default()
        .labels(&format!("app.kubernetes.io/managed-by={MANAGED_BY}"))
        .any_semantic();
    let stop = || {
        let s = shutdown.clone();
        async move { s.triggered().await }
    };

    // NationalContactPoint: owns its Deployments (status → Available) and RegistryEntry
    // (status → Published); follows the SigningCertificate it names.
    let ncp_c = Controller::new(api::<NationalContactPoint>(&client, &ns), all.clone())
        .with_config(ControllerConfig::default().concurrency(RECONCILE_CONCURRENCY))
        .owns(api::<Deployment>(&client, &ns), children.clone())
        .owns(api::<RegistryEntry>(&client, &ns), children.clone());
    let ncp_store = ncp_c.store();
    let ncp = ncp_c
        // Only the spec (secretName) matters to an NCP, not the certificate's status churn.
        .watches(api::<SigningCertificate>(&client, &ns), all.clone(), {
            let changed = changed_only(generation_key::<SigningCertificate>);
            move |sc| {
                if !changed(&sc) {
                    return Vec::new();
                }
                let name = sc.name_any();
                refs(&ncp_store, &sc, |n: &NationalContactPoint| {
                    n.spec.signing_certificate_ref == name
                })
            }
        })
        .graceful_shutdown_on(stop())
        .run(
            controller::ncp::reconcile,
            error_policy_for("nationalcontactpoint"),
            ctx.clone(),
        )
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "nationalcontactpoint controller");
            }
        });

    // RegistryEntry: follows its Registry and the SigningCertificates it lists.
    let entry_c = Controller::new(api::<RegistryEntry>(&client, &ns), all.clone())
        .with_config(ControllerConfig::default().concurrency(RECONCILE_CONCURRENCY));
    let entry_store = entry_c.store();
    let entry_store2 = entry_c.store();
    let entry = entry_c
        .watches(
            api::<SigningCertificate>(&client, &ns),
            all.clone(),
            move |sc| {
                let name = sc.name_any();
                refs(&entry_store, &sc, |e: &RegistryEntry| {
                    e.spec
                        .certificates
                        .iter()
                        .any(|c| c.signing_certificate_ref.as_deref() == Some(name.as_str()))
                })
            },
        )
        .watches(api::<Registry>(&client, &ns), all.clone(), {
            let changed = changed_only(registry_key);
            move |reg| {
                if !changed(&reg) {
                    return Vec::new();
                }
                let name = reg.name_any();
                refs(&entry_store2, &reg, |e: &RegistryEntry| {
                    e.spec.registry_ref == name
                })
            }
        })
        .graceful_shutdown_on(stop())
        .run(
            controller::entry::reconcile,
            error_policy_for("registryentry"),
            ctx.clone(),
        )
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "registryentry controller");
            }
        });

    // Registry: owns its EMREG Deployment; counts the entries published to it.
    // Its status aggregates every entry: coalesce the burst of entry changes (debounce).
    let registry = Controller::new(api::<Registry>(&client, &ns), all.clone())
        .with_config(
            ControllerConfig::default()
                .concurrency(RECONCILE_CONCURRENCY)
                .debounce(Duration::from_secs(2)),
        )
        .owns(api::<Deployment>(&client, &ns), children.clone())
        .watches(api::<RegistryEntry>(&client, &ns), all.clone(), |e| {
            let ns = e.namespace();
            std::iter::once(match ns {
                Some(ns) => ObjectRef::new(&e.spec.registry_ref).within(&ns),
                None => ObjectRef::new(&e.spec.registry_ref),
            })
        })
        .graceful_shutdown_on(stop())
        .run(
            controller::registry::reconcile,
            error_policy_for("registry"),
            ctx.clone(),
        )
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "registry controller");
            }
        });

    // StudentMobilityPlugin: owns its Deployment; follows its Registry.
    let smp_c = Controller::new(api::<StudentMobilityPlugin>(&client, &ns), all.clone())
        .with_config(ControllerConfig::default().concurrency(RECONCILE_CONCURRENCY))
        .owns(api::<Deployment>(&client, &ns), children.clone());
    let smp_store = smp_c.store();
    let smp = smp_c
        .watches(api::<Registry>(&client, &ns), all.clone(), {
            let changed = changed_only(registry_key);
            move |reg| {
                if !changed(&reg) {
                    return Vec::new();
                }
                let name = reg.name_any();
                refs(&smp_store, &reg, |s: &StudentMobilityPlugin| {
                    s.spec.registry_ref == name
                })
            }
        })
        .graceful_shutdown_on(stop())
        .run(
            controller::smp::reconcile,
            error_policy_for("studentmobilityplugin"),
            ctx.clone(),
        )
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "studentmobilityplugin controller");
            }
        });

    // SigningCertificate: follows the RegistryEntries listing it (publication gates rotation)
    // and its Secret (deleted or edited by hand → re-issued or repaired at once).
    let cert_secrets = watcher::Config::default()
        .labels(crate::controller::cert::SECRET_LABEL)
        .any_semantic();
    let cert = Controller::new(api::<SigningCertificate>(&client, &ns), all.clone())
        .with_config(ControllerConfig::default().concurrency(RECONCILE_CONCURRENCY))
        .watches(api::<Secret>(&client, &ns), cert_secrets, |s| {
            let ns = s.namespace();
            s.labels()
                .get(crate::controller::cert::SECRET_LABEL)
                .map(|n| match &ns {
                    Some(ns) => ObjectRef::new(n).within(ns),
                    None => ObjectRef::new(n),
                })
        })
        .watches(api::<RegistryEntry>(&client, &ns), all.clone(), |e| {
            let ns = e.namespace();
            e.spec
                .certificates
                .iter()
                .filter_map(|c| c.signing_certificate_ref.clone())
                .map(|n| match &ns {
                    Some(ns) => ObjectRef::new(&n).within(ns),
                    None => ObjectRef::new(&n),
                })
                .collect::<Vec<_>>()
        })
        .graceful_shutdown_on(stop())
        .run(
            controller::cert::reconcile,
            error_policy_for("signingcertificate"),
            ctx.clone(),
        )
        .for_each(|r| async move {
            if let Err(e) = r {
                tracing::debug!(error = %e, "signingcertificate controller");
            }
        });

    join_all(vec![
        Box::pin(ncp) as std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
        Box::pin(entry),
        Box::pin(registry),
        Box::pin(smp),
        Box::pin(cert),
    ])
    .await;
    tracing::info!("controllers stopped");
}
