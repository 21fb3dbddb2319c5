//! EMREG's one entry point: from its configuration to the servers the runtime runs.

use std::sync::Arc;

use emrex_runtime::auth::{AuthError, Authenticator};
use emrex_runtime::grpc::{GrpcError, GrpcServer};
use emrex_runtime::http::HttpServer;
use emrex_runtime::service::{Servers, ServiceError, ServiceHandles, run_service};
use tonic::service::interceptor::InterceptedService;

use crate::{
    AnyStore, EmregServiceConfig, RegistryAdminService, RegistryService, RegistryStore, StoreError,
    ValidationOptions, registry_admin_server, registry_server,
};

/// Why EMREG could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Opening the store (connecting, migrating).
    #[error("opening the store {url}")]
    Store {
        /// The store URL without its password.
        url: String,
        /// What failed.
        #[source]
        source: StoreError,
    },
    /// The `[auth]` section.
    #[error("auth configuration")]
    Auth(#[source] AuthError),
    /// The `[grpc]` section (TLS files).
    #[error("gRPC server")]
    Grpc(#[source] GrpcError),
    /// The `[ewp]` section.
    #[error("ewp configuration")]
    Ewp(#[source] crate::ewp::EwpConfigError),
    /// Serving failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// EMREG assembled: what the runtime runs, and the store behind it (for a caller that seeds
/// entries, as `emrex dev` does; writes through it reach `Watch` subscribers like any other).
#[derive(Debug)]
pub struct Emreg {
    /// gRPC (`Registry`, `RegistryAdmin` behind `auth`) and HTTP (the JSON lists).
    pub servers: Servers,
    /// The registry store.
    pub store: Arc<AnyStore>,
}

/// Opens the store and assembles the servers. Readiness: `store reachable` (a query on every
/// probe, so a lost database takes the replica out of rotation).
pub async fn assemble(
    config: &EmregServiceConfig,
    handles: &ServiceHandles,
) -> Result<Emreg, SetupError> {
    let store = Arc::new(
        AnyStore::open(
            &config.store,
            ValidationOptions {
                dev_mode: config.dev_mode,
            },
        )
        .await
        .map_err(|source| SetupError::Store {
            url: emrex_store::redact_url(&config.store.url),
            source,
        })?,
    );
    let probe_store = store.clone();
    handles.readiness.add_probe("store reachable", move || {
        let s = probe_store.clone();
        async move { s.list(Some("ZZ")).await.is_ok() }
    });

    let auth = Authenticator::from_config(&config.auth).map_err(SetupError::Auth)?;
    let mut grpc = GrpcServer::new(&config.grpc, &handles.metrics).map_err(SetupError::Grpc)?;
    grpc.add_service(registry_server(
        RegistryService::new(store.clone()).with_shutdown(handles.shutdown.clone()),
    ));
    grpc.add_service(InterceptedService::new(
        registry_admin_server(RegistryAdminService::new(store.clone())),
        auth,
    ));
    // One document cache for the lists and the manifest: one change-feed subscription, one
    // render at a time.
    let documents = Arc::new(crate::cache::DocumentCache::new(store.clone()));
    let mut router = crate::http::cached_router(documents.clone());
    let mut what = "EMREX 1.x JSON lists (/ncp-list.json, /emp-list.json)";
    if let Some(ewp) = &config.ewp {
        ewp.check().map_err(SetupError::Ewp)?;
        router = router.merge(crate::http::cached_manifest_router(
            documents.clone(),
            ewp.clone(),
        ));
        what = "EMREX 1.x JSON lists and the EWP manifest (/ewp/manifest.xml)";
    }
    let http = HttpServer::new(what, &config.http.listen, router);
    Ok(Emreg {
        servers: Servers::new().grpc(grpc).http(http),
        store,
    })
}

/// Assembles EMREG and runs it until SIGTERM/SIGINT (`emrex emreg`).
pub async fn run(config: EmregServiceConfig) -> Result<(), SetupError> {
    let handles = ServiceHandles::new();
    let emreg = assemble(&config, &handles).await?;
    run_service(emreg.servers, &config.admin, &config.shutdown, handles).await?;
    Ok(())
}
