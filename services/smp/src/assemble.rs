//! The SMP's one entry point: from its configuration to the servers the runtime runs.

use std::sync::Arc;

use emrex_runtime::auth::{AuthError, Authenticator};
use emrex_runtime::grpc::{GrpcError, GrpcServer};
use emrex_runtime::http::HttpServer;
use emrex_runtime::service::{Servers, ServiceError, ServiceHandles, run_service};
use tonic::service::interceptor::InterceptedService;

use crate::config::SmpServiceConfig;
use crate::links::LinkKeys;
use crate::registry::{RegistryError, RegistryView};
use crate::service::{Settings, SmpCore, SmpMetrics};
use crate::store::{AnyStore, StoreError};

/// Why the SMP could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `http.public_url` is not `https://` outside development mode.
    #[error(
        "http.public_url must be https:// outside dev_mode (NCPs refuse other return URLs), not {0}"
    )]
    PublicUrl(String),
    /// Opening the store (connecting, migrating).
    #[error("opening the store")]
    Store(#[source] StoreError),
    /// The `[links]` section.
    #[error("result link keys")]
    Links(#[source] crate::links::LinkKeyError),
    /// The `[registry]` section.
    #[error("registry client")]
    Registry(#[source] RegistryError),
    /// The `[auth]` section.
    #[error("auth configuration")]
    Auth(#[source] AuthError),
    /// The `[grpc]` section (TLS files).
    #[error("gRPC server")]
    Grpc(#[source] GrpcError),
    /// Serving failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// Opens the store, starts following the registry and assembles the servers: the pages and the
/// return endpoint over HTTP, the SIS API (`emrex.smp.v1.Smp`, behind `auth`) over gRPC.
/// Readiness: `NCP list loaded`.
pub async fn assemble(
    config: &SmpServiceConfig,
    handles: &ServiceHandles,
) -> Result<Servers, SetupError> {
    if !config.dev_mode && !config.http.public_url.starts_with("https://") {
        return Err(SetupError::PublicUrl(config.http.public_url.clone()));
    }
    let metrics = SmpMetrics::default();
    handles.metrics.write(|r| metrics.register(r));
    let store = Arc::new(
        AnyStore::open(&config.store)
            .await
            .map_err(SetupError::Store)?,
    );
    let registry = RegistryView::start(&config.registry, handles.shutdown.clone())
        .map_err(SetupError::Registry)?;
    let probe = registry.clone();
    handles.readiness.add_probe("NCP list loaded", move || {
        let r = probe.clone();
        async move { r.is_ready() }
    });
    let links = LinkKeys::from_config(&config.links).map_err(SetupError::Links)?;
    if !links.shared() {
        tracing::info!(
            "result links use a per-process key (set links.key_file when running several replicas)"
        );
    }
    let view = registry.clone();
    let core = Arc::new(
        SmpCore::new(
            store,
            Arc::new(move || view.current()),
            Settings {
                public_url: config.http.public_url.trim_end_matches('/').to_string(),
                dev_mode: config.dev_mode,
                chooser: config.dev_mode || config.http.chooser,
                ttl: config.exchange.ttl,
                budget: config.exchange.budget(),
                clock_skew: config.exchange.clock_skew,
            },
            metrics,
        )
        .with_links(links),
    );
    let auth = Authenticator::from_config(&config.auth).map_err(SetupError::Auth)?;
    let mut grpc = GrpcServer::new(&config.grpc, &handles.metrics).map_err(SetupError::Grpc)?;
    grpc.add_service(InterceptedService::new(
        crate::grpc::smp_server(core.clone()),
        auth,
    ));
    tracing::info!(public_url = %config.http.public_url, "SMP pages and return endpoint");
    let http = HttpServer::new(
        "SMP pages and return endpoint",
        &config.http.listen,
        crate::http::router(core),
    );
    Ok(Servers::new().grpc(grpc).http(http))
}

/// Assembles the SMP and runs it until SIGTERM/SIGINT (`emrex smp`).
pub async fn run(config: SmpServiceConfig) -> Result<(), SetupError> {
    let handles = ServiceHandles::new();
    let servers = assemble(&config, &handles).await?;
    run_service(servers, &config.admin, &config.shutdown, handles).await?;
    Ok(())
}
