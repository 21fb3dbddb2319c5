//! `emrex emreg`: runs EMREG (gRPC Registry + RegistryAdmin, the EMREX 1.x JSON lists over HTTP,
//! and the admin server) until SIGTERM/SIGINT.

use std::sync::Arc;

use anyhow::Context;
use emrex_emreg::{
    AnyStore, EmregServiceConfig, RegistryAdminService, RegistryService, RegistryStore,
    ValidationOptions, registry_admin_server, registry_server,
};
use emrex_runtime::auth::Authenticator;
use emrex_runtime::config::ConfigLoader;
use emrex_runtime::grpc::GrpcServer;
use emrex_runtime::service::{ServiceHandles, run_service};
use tonic::service::interceptor::InterceptedService;

use crate::cli::EmregArgs;

/// Loads the configuration (defaults < file < `EMREX_EMREG_…` < flags) and serves.
pub fn run(args: EmregArgs) -> anyhow::Result<()> {
    let mut loader = ConfigLoader::new("EMREX_EMREG_")
        .file(args.config.as_ref())
        .set_opt("grpc.listen", args.grpc_listen)?
        .set_opt("http.listen", args.http_listen)?
        .set_opt("admin.listen", args.admin_listen)?
        .set_opt("store.url", args.store)?;
    if args.dev {
        loader = loader.set("dev_mode", true)?;
    }
    let config: EmregServiceConfig = loader.load().context("configuration")?;
    emrex_runtime::telemetry::init_tracing(&config.log).context("logging")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: EmregServiceConfig) -> anyhow::Result<()> {
    let handles = ServiceHandles::new();
    let ready = handles.readiness.add_check("store connected");
    let store = Arc::new(
        AnyStore::connect(
            &config.store.url,
            ValidationOptions {
                dev_mode: config.dev_mode,
            },
        )
        .await
        .with_context(|| format!("opening the store {}", redact(&config.store.url)))?,
    );
    let probe_store = store.clone();
    handles.readiness.add_probe("store reachable", move || {
        let s = probe_store.clone();
        async move { s.list(Some("ZZ")).await.is_ok() }
    });

    let auth = Authenticator::from_config(&config.auth).context("auth configuration")?;
    let mut grpc = GrpcServer::new(&config.grpc, &handles.metrics).context("gRPC server")?;
    grpc.add_service(registry_server(RegistryService::new(store.clone())));
    grpc.add_service(InterceptedService::new(
        registry_admin_server(RegistryAdminService::new(store.clone())),
        auth,
    ));

    // The JSON lists on their own listener, stopped by the same shutdown as the rest.
    let listener = tokio::net::TcpListener::bind(&config.http.listen)
        .await
        .with_context(|| format!("binding http.listen {}", config.http.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "EMREX 1.x JSON lists at /ncp-list.json and /emp-list.json");
    let shutdown = handles.shutdown.clone();
    let http = tokio::spawn(async move {
        axum::serve(listener, emrex_emreg::http::router(store))
            .with_graceful_shutdown(async move { shutdown.triggered().await })
            .await
    });
    ready.set(true);
    let served = run_service(grpc, &config.admin, &config.shutdown, handles).await;
    http.await
        .context("HTTP server task")?
        .context("HTTP server")?;
    served?;
    Ok(())
}

/// A store URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}
