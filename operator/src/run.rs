//! Running the operator: the Kubernetes client, the admin server (`/live`, `/ready`,
//! `/metrics`), leader election, optional CRD installation, then each kind's controller
//! (`controller::<kind>::run`) until shutdown or a lost Lease.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Patch;
use kube::runtime::events::{Recorder, Reporter};
use kube::{Api, Client, ResourceExt};

use crate::controller::{self, Ctx};
use crate::emreg::EmregClients;
use crate::lease::{self, LeaseConfig, Outcome};
use crate::metrics::OperatorMetrics;

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
    #[error("no Kubernetes client")]
    Client(#[source] kube::Error),
    #[error("applying the CRDs failed")]
    Crds(#[source] kube::Error),
    #[error("asking the API server which PodDisruptionBudget version it serves")]
    Discovery(#[source] kube::Error),
    #[error("the admin server failed")]
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

    let pdb = crate::apply::disruption_budget_api(&client)
        .await
        .map_err(RunError::Discovery)?;
    let ctx = Arc::new(Ctx {
        client: client.clone(),
        namespace: config.namespace.clone(),
        shutdown: shutdown.clone(),
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
        pdb,
    });
    let controllers = tokio::spawn(controllers(ctx));
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

/// Every controller, until shutdown.
async fn controllers(ctx: Arc<Ctx>) {
    tokio::join!(
        controller::ncp::run(ctx.clone()),
        controller::entry::run(ctx.clone()),
        controller::registry::run(ctx.clone()),
        controller::smp::run(ctx.clone()),
        controller::cert::run(ctx),
    );
    tracing::info!("controllers stopped");
}
