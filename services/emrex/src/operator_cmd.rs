//! `emrex operator`: the Kubernetes operator until SIGTERM/SIGINT (or a lost leader Lease).

use anyhow::Context;
use emrex_operator::run::OperatorConfig;
use emrex_runtime::config::LogConfig;
use emrex_runtime::shutdown::Shutdown;

use crate::cli::OperatorArgs;

pub fn run(args: OperatorArgs) -> anyhow::Result<()> {
    let log = LogConfig {
        format: args.log_format.into(),
        ..LogConfig::default()
    };
    emrex_runtime::telemetry::init_tracing(&log).context("logging")?;
    emrex_runtime::tls::install_default_provider();
    let pod_namespace = std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|s| !s.is_empty());
    let identity = std::env::var("POD_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("emrex-operator-{}", std::process::id()));
    let config = OperatorConfig {
        lease_namespace: args
            .lease_namespace
            .or(pod_namespace)
            .or_else(|| args.namespace.clone())
            .unwrap_or_else(|| "default".into()),
        namespace: args.namespace,
        admin_listen: args.admin_listen,
        leader_election: args.leader_election,
        lease_name: args.lease_name,
        identity,
        apply_crds: args.apply_crds,
        image: args
            .image
            .unwrap_or_else(emrex_operator::names::default_image),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let shutdown = Shutdown::new();
        let _signals = shutdown.trigger_on_signals();
        emrex_operator::run::run(config, shutdown)
            .await
            .context("operator")
    })
}
