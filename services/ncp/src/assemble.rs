//! The NCP's one entry point: from its configuration to the servers the runtime runs.

use std::sync::Arc;

use emrex_runtime::grpc::GrpcServer;
use emrex_runtime::http::HttpServer;
use emrex_runtime::service::{Servers, ServiceHandles, run_service};

use crate::Ncp;
use crate::metrics::NcpMetrics;
use crate::source::ResultsSource as _;
use crate::{NcpServiceConfig, SetupError};

/// Builds the NCP and assembles its servers: the entry point and pages over HTTP, and a gRPC
/// server with health and reflection only. Readiness: `exchange store reachable`, `signer
/// serving` and `results source reachable`, probed on every `/ready`. Expired exchanges are
/// swept every [`SWEEP_EVERY`] (with the wallet's offers, tokens and nonces) (by every replica; deleting what is already gone is harmless).
pub async fn assemble(
    config: &NcpServiceConfig,
    handles: &ServiceHandles,
) -> Result<Servers, SetupError> {
    let metrics = NcpMetrics::default();
    handles.metrics.write(|r| metrics.register(r));
    let ncp = Arc::new(crate::build(config, metrics).await?);
    let store = ncp.clone();
    handles
        .readiness
        .add_probe("exchange store reachable", move || {
            let n = store.clone();
            async move { n.store.healthy().await }
        });
    tokio::spawn(sweep(ncp.clone(), handles.shutdown.clone()));
    if config.dev_mode {
        tracing::warn!("development mode: dev login and demo data; never use for real students");
    }
    let signer = ncp.clone();
    handles.readiness.add_probe("signer serving", move || {
        let n = signer.clone();
        async move { n.signer.healthy().await }
    });
    let source = ncp.clone();
    handles
        .readiness
        .add_probe("results source reachable", move || {
            let n = source.clone();
            async move { n.source.healthy().await }
        });
    tracing::info!(
        public_url = %config.http.public_url,
        entry = %config.http.entry_path,
        source = ncp.source.kind(),
        "EMREX entry point"
    );
    let grpc = GrpcServer::new(&config.grpc, &handles.metrics).map_err(SetupError::Grpc)?;
    let http = HttpServer::new(
        "NCP entry point and pages",
        &config.http.listen,
        crate::router(ncp),
    );
    Ok(Servers::new().grpc(grpc).http(http))
}

/// Assembles the NCP and runs it until SIGTERM/SIGINT (`emrex ncp`).
pub async fn run(config: NcpServiceConfig) -> Result<(), SetupError> {
    let handles = ServiceHandles::new();
    let servers = assemble(&config, &handles).await?;
    run_service(servers, &config.admin, &config.shutdown, handles).await?;
    Ok(())
}

/// How often expired exchanges are emptied and old ones deleted.
pub const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

async fn sweep(ncp: Arc<Ncp>, shutdown: emrex_runtime::shutdown::Shutdown) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.triggered() => return,
            _ = every.tick() => {
                match ncp.store.sweep().await {
                    Ok(s) if s.emptied == 0 && s.deleted == 0 => {}
                    Ok(s) => tracing::debug!(emptied = s.emptied, deleted = s.deleted, "expired exchanges swept"),
                    Err(e) => tracing::warn!(error = %emrex_runtime::grpc::error_chain(&e), "sweeping expired exchanges failed"),
                }
                if let Some(w) = &ncp.wallet {
                    match w.store.sweep().await {
                        Ok(0) => {}
                        Ok(n) => tracing::debug!(deleted = n, "expired wallet offers, tokens and nonces swept"),
                        Err(e) => tracing::warn!(error = %emrex_runtime::grpc::error_chain(&e), "sweeping the wallet rows failed"),
                    }
                }
            }
        }
    }
}
