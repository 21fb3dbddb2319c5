//! gRPC clients of the NCP (the Signer and a `grpc` results source): the runtime's channel
//! (TLS/mTLS from config) plus an optional bearer token for development setups.

use std::path::Path;
use std::time::Duration;

use emrex_proto::signer::v1::{SignRequest, signer_client::SignerClient};
use emrex_runtime::config::GrpcClientConfig;
use emrex_runtime::grpc::{Bearer, BearerError, GrpcError};
use emrex_runtime::tls::TlsOptions;
use tonic::service::interceptor::InterceptedService;

pub use emrex_runtime::grpc::AuthChannel;

/// Why a client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Grpc(#[from] GrpcError),
    #[error(transparent)]
    Token(#[from] BearerError),
}

/// A lazily connecting channel for `config`, with the token read from `token_file` (trimmed).
pub fn channel(
    config: &GrpcClientConfig,
    token_file: Option<&Path>,
) -> Result<AuthChannel, ClientError> {
    let channel = emrex_runtime::grpc::channel(config, &TlsOptions::default())?;
    Ok(InterceptedService::new(
        channel,
        Bearer::from_file(token_file)?,
    ))
}

/// Why signing failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("signer unavailable: {0}")]
    Unavailable(String),
    #[error("signer refused the document: {0}")]
    Refused(String),
    #[error("signer timed out")]
    Timeout,
}

/// The Signer, as the NCP uses it.
#[derive(Debug, Clone)]
pub struct Signer {
    client: SignerClient<AuthChannel>,
    health: tonic_health::pb::health_client::HealthClient<AuthChannel>,
    timeout: Duration,
}

impl Signer {
    /// A Signer client on `channel`, each call bounded by `timeout`.
    pub fn new(channel: AuthChannel, timeout: Duration) -> Self {
        Self {
            client: SignerClient::new(channel.clone())
                .max_decoding_message_size(64 * 1024 * 1024)
                .max_encoding_message_size(64 * 1024 * 1024),
            health: tonic_health::pb::health_client::HealthClient::new(channel),
            timeout,
        }
    }

    /// Signs `xml` (unsigned ELMO) and returns the signed bytes.
    pub async fn sign(&self, xml: Vec<u8>) -> Result<Vec<u8>, SignError> {
        let mut request = tonic::Request::new(SignRequest { elmo_xml: xml });
        request.set_timeout(self.timeout);
        let mut client = self.client.clone();
        match tokio::time::timeout(self.timeout, client.sign(request)).await {
            Err(_) => Err(SignError::Timeout),
            Ok(Ok(r)) => Ok(r.into_inner().signed_xml),
            Ok(Err(s)) if s.code() == tonic::Code::DeadlineExceeded => Err(SignError::Timeout),
            Ok(Err(s))
                if matches!(
                    s.code(),
                    tonic::Code::InvalidArgument | tonic::Code::FailedPrecondition
                ) =>
            {
                Err(SignError::Refused(s.message().to_string()))
            }
            Ok(Err(s)) => Err(SignError::Unavailable(format!(
                "{:?}: {}",
                s.code(),
                s.message()
            ))),
        }
    }

    /// Whether the Signer reports SERVING (for `/ready`).
    pub async fn healthy(&self) -> bool {
        let mut health = self.health.clone();
        let mut request = tonic::Request::new(tonic_health::pb::HealthCheckRequest {
            service: "emrex.signer.v1.Signer".to_string(),
        });
        request.set_timeout(Duration::from_secs(2));
        matches!(
            tokio::time::timeout(Duration::from_secs(3), health.check(request)).await,
            Ok(Ok(r)) if r.get_ref().status == 1
        )
    }
}
