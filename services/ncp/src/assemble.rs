//! The NCP's one entry point: from its configuration to the servers the runtime runs.

use std::sync::Arc;

use emrex_runtime::grpc::GrpcServer;
use emrex_runtime::http::HttpServer;
use emrex_runtime::service::{Servers, ServiceHandles, run_service};

use crate::metrics::NcpMetrics;
use crate::source::ResultsSource as _;
use crate::{NcpServiceConfig, SetupError};

/// Builds the NCP and assembles its servers: the entry point and pages over HTTP, and a gRPC
/// server with health and reflection only. Readiness: `signer serving` and `results source
/// reachable`, probed on every `/ready`.
pub fn assemble(
    config: &NcpServiceConfig,
    handles: &ServiceHandles,
) -> Result<Servers, SetupError> {
    let metrics = NcpMetrics::default();
    handles.metrics.write(|r| metrics.register(r));
    let ncp = Arc::new(crate::build(config, metrics)?);
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
    let servers = assemble(&config, &handles)?;
    run_service(servers, &config.admin, &config.shutdown, handles).await?;
    Ok(())
}
