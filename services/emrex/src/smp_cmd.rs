//! `emrex smp`: runs an SMP (chooser, hand-over and return pages over HTTP; the SIS API over
//! gRPC; the admin server) until SIGTERM/SIGINT.

use std::sync::Arc;

use anyhow::Context;
use emrex_runtime::auth::Authenticator;
use emrex_runtime::config::ConfigLoader;
use emrex_runtime::grpc::GrpcServer;
use emrex_runtime::service::{ServiceHandles, run_service};
use emrex_smp::config::SmpServiceConfig;
use emrex_smp::registry::RegistryView;
use emrex_smp::service::{Settings, SmpCore, SmpMetrics};
use tonic::service::interceptor::InterceptedService;

use crate::cli::SmpArgs;

/// Loads the configuration (defaults < file < `EMREX_SMP_…` < flags) and serves.
pub fn run(args: SmpArgs) -> anyhow::Result<()> {
    let mut loader = ConfigLoader::new("EMREX_SMP_")
        .file(args.config.as_ref())
        .set_opt("http.listen", args.http_listen)?
        .set_opt("http.public_url", args.public_url)?
        .set_opt("grpc.listen", args.grpc_listen)?
        .set_opt("admin.listen", args.admin_listen)?
        .set_opt("store.url", args.store)?;
    if args.dev {
        loader = loader.set("dev_mode", true)?;
    }
    let config: SmpServiceConfig = loader.load().context("configuration")?;
    emrex_runtime::telemetry::init_tracing(&config.log).context("logging")?;
    if !config.dev_mode && !config.http.public_url.starts_with("https://") {
        anyhow::bail!(
            "http.public_url must be https:// outside dev_mode (NCPs refuse other return URLs), not {}",
            config.http.public_url
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: SmpServiceConfig) -> anyhow::Result<()> {
    let handles = ServiceHandles::new();
    let metrics = SmpMetrics::default();
    handles.metrics.write(|r| metrics.register(r));
    let store = Arc::new(
        emrex_smp::store::AnyStore::connect(&config.store.url)
            .await
            .context("opening the store")?,
    );
    let registry = RegistryView::start(&config.registry, handles.shutdown.clone())
        .context("registry client")?;
    let probe = registry.clone();
    handles.readiness.add_probe("NCP list loaded", move || {
        let r = probe.clone();
        async move { r.is_ready() }
    });
    let view = registry.clone();
    let core = Arc::new(SmpCore::new(
        store,
        Arc::new(move || view.current()),
        Settings {
            public_url: config.http.public_url.trim_end_matches('/').to_string(),
            dev_mode: config.dev_mode,
            chooser: config.dev_mode || config.http.chooser,
            ttl: config.exchange.ttl,
            budget: config.exchange.budget(),
        },
        metrics,
    ));
    let auth = Authenticator::from_config(&config.auth).context("auth configuration")?;
    let mut grpc = GrpcServer::new(&config.grpc, &handles.metrics).context("gRPC server")?;
    grpc.add_service(InterceptedService::new(
        emrex_smp::grpc::smp_server(core.clone()),
        auth,
    ));
    let listener = tokio::net::TcpListener::bind(&config.http.listen)
        .await
        .with_context(|| format!("binding http.listen {}", config.http.listen))?;
    tracing::info!(addr = %listener.local_addr()?, public_url = %config.http.public_url, "SMP pages and return endpoint");
    let shutdown = handles.shutdown.clone();
    let router = emrex_smp::http::router(core);
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
