//! `emrex signer`: runs the Signer service (gRPC + admin server) until SIGTERM/SIGINT.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use emrex_proto::signer::v1::signer_server::SignerServer;
use emrex_runtime::auth::Authenticator;
use emrex_runtime::config::ConfigLoader;
use emrex_runtime::grpc::GrpcServer;
use emrex_runtime::service::{ServiceHandles, run_service};
use emrex_signer::{KeyStore, SignerMetrics, SignerService, SignerServiceConfig};

use crate::cli::SignerArgs;

/// Loads the configuration (defaults < file < `EMREX_SIGNER_…` < flags) and serves.
pub fn run(args: SignerArgs) -> anyhow::Result<()> {
    let path = |p: Option<std::path::PathBuf>| p.map(|p| p.display().to_string());
    let config: SignerServiceConfig = ConfigLoader::new("EMREX_SIGNER_")
        .file(args.config.as_ref())
        .set_opt("grpc.listen", args.grpc_listen)?
        .set_opt("admin.listen", args.admin_listen)?
        .set_opt("keys.key_file", path(args.key))?
        .set_opt("keys.cert_file", path(args.cert))?
        .set_opt("keys.next_cert_file", path(args.next_cert))?
        .load()
        .context("configuration")?;
    emrex_runtime::telemetry::init_tracing(&config.log).context("logging")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(config))
}

async fn serve(config: SignerServiceConfig) -> anyhow::Result<()> {
    let handles = ServiceHandles::new();
    let ready = handles.readiness.add_check("signing key loaded");
    let metrics = SignerMetrics::default();
    handles.metrics.write(|r| metrics.register(r));
    // Keys are checked for changes at most once per second, when a signature is requested.
    let keys = Arc::new(
        KeyStore::load(config.keys.clone(), Duration::from_secs(1))
            .context("loading the signing key")?,
    );
    let loaded = keys.current();
    tracing::info!(
        certificate = %loaded.active.sha256_hex(),
        subject = %loaded.active.subject(),
        next = loaded.next.as_ref().map(|c| c.sha256_hex()).unwrap_or_default(),
        "signing key loaded"
    );
    let service = SignerService::new(keys, config.signing, metrics);
    let auth = Authenticator::from_config(&config.auth).context("auth configuration")?;
    let mut grpc = GrpcServer::new(&config.grpc, &handles.metrics).context("gRPC server")?;
    grpc.add_service(SignerServer::with_interceptor(service, auth));
    ready.set(true);
    run_service(grpc, &config.admin, &config.shutdown, handles).await?;
    Ok(())
}
