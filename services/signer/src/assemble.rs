//! The Signer's one entry point: from its configuration to the servers the runtime runs.

use std::sync::Arc;
use std::time::Duration;

use emrex_proto::signer::v1::signer_server::SignerServer;
use emrex_runtime::auth::{AuthError, Authenticator};
use emrex_runtime::grpc::{GrpcError, GrpcServer};
use emrex_runtime::service::{Servers, ServiceError, ServiceHandles, run_service};
use tonic::service::interceptor::InterceptedService;

use crate::{KeyStore, SignerError, SignerMetrics, SignerService, SignerServiceConfig};

/// How often the key files are checked for a rotated Secret, at most (when a signature is asked).
const KEY_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Room for the protobuf framing and the signature around a document of the largest size.
const MESSAGE_OVERHEAD_BYTES: usize = 64 * 1024;

/// Why the Signer could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// The key or certificate files.
    #[error("loading the signing key")]
    Keys(#[source] SignerError),
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

/// Loads the key and assembles the gRPC server (the Signer has no HTTP routes). Readiness:
/// `signing key loaded`.
pub fn assemble(
    config: &SignerServiceConfig,
    handles: &ServiceHandles,
) -> Result<Servers, SetupError> {
    let ready = handles.readiness.add_check("signing key loaded");
    let metrics = SignerMetrics::default();
    handles.metrics.write(|r| metrics.register(r));
    let keys = Arc::new(
        KeyStore::load(config.keys.clone(), KEY_CHECK_INTERVAL).map_err(SetupError::Keys)?,
    );
    let loaded = keys.current();
    tracing::info!(
        certificate = %loaded.active.sha256_hex(),
        subject = %loaded.active.subject(),
        next = loaded.next.as_ref().map(|c| c.sha256_hex()).unwrap_or_default(),
        "signing key loaded"
    );
    let max_message = config
        .signing
        .max_document_bytes
        .max(config.signing.max_jws_payload_bytes)
        .saturating_add(MESSAGE_OVERHEAD_BYTES);
    let service = SignerService::new(keys, config.signing, metrics);
    let auth = Authenticator::from_config(&config.auth).map_err(SetupError::Auth)?;
    let mut grpc = GrpcServer::new(&config.grpc, &handles.metrics).map_err(SetupError::Grpc)?;
    // tonic's default 4 MiB would refuse documents the Signer is configured to accept.
    grpc.add_service(InterceptedService::new(
        SignerServer::new(service)
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message),
        auth,
    ));
    ready.set(true);
    Ok(Servers::new().grpc(grpc))
}

/// Assembles the Signer and runs it until SIGTERM/SIGINT (`emrex signer`).
pub async fn run(config: SignerServiceConfig) -> Result<(), SetupError> {
    let handles = ServiceHandles::new();
    let servers = assemble(&config, &handles)?;
    run_service(servers, &config.admin, &config.shutdown, handles).await?;
    Ok(())
}
