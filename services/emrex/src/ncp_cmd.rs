//! `emrex ncp`: runs an NCP (the EMREX entry point and pages over HTTP, health over gRPC, and
//! the admin server) until SIGTERM/SIGINT.

use std::sync::Arc;

use anyhow::Context;
use emrex_ncp::NcpServiceConfig;
use emrex_ncp::metrics::NcpMetrics;
use emrex_ncp::source::ResultsSource;
use emrex_runtime::config::ConfigLoader;
use emrex_runtime::grpc::GrpcServer;
use emrex_runtime::service::{ServiceHandles, run_service};

use crate::cli::NcpArgs;

/// Loads the configuration (defaults < file < `EMREX_NCP_…` < flags) and serves.
pub fn run(args: NcpArgs) -> anyhow::Result<()> {
    let mut loader = ConfigLoader::new("EMREX_NCP_")
        .file(args.config.as_ref())
        .set_opt("http.listen", args.http_listen)?
        .set_opt("http.public_url", args.public_url)?
        .set_opt("grpc.listen", args.grpc_listen)?
        .set_opt("admin.listen", args.admin_listen)?
        .set_opt("signer.client.endpoint", args.signer)?;
    if args.dev {
        loader = loader.set("dev_mode", true)?;
    }
    let config: NcpServiceConfig = loader.load().context("configuration")?;
    emrex_runtime::telemetry::init_tracing(&config.log).context("logging")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: NcpServiceConfig) -> anyhow::Result<()> {
    let handles = ServiceHandles::new();
    let metrics = NcpMetrics::default();
    handles.metrics.write(|r| metrics.register(r));
    let ncp = Arc::new(emrex_ncp::build(&config, metrics).context("NCP configuration")?);
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

    let grpc = GrpcServer::new(&config.grpc, &handles.metrics).context("gRPC server")?;
    let listener = tokio::net::TcpListener::bind(&config.http.listen)
        .await
        .with_context(|| format!("binding http.listen {}", config.http.listen))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        public_url = %config.http.public_url,
        entry = %config.http.entry_path,
        source = ncp.source.kind(),
        "EMREX entry point"
    );
    let shutdown = handles.shutdown.clone();
    let router = emrex_ncp::router(ncp);
    let http = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.triggered().await })
            .await
    });
    let served = run_service(grpc, &config.admin, &config.shutdown, handles).await;
    http.await
        .context("HTTP server task")?
        .context("HTTP server")?;
    served?;
    Ok(())
}
