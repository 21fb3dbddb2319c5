//! gRPC clients of the NCP (the Signer and a `grpc` results source): the runtime's channel
//! (TLS/mTLS from config) plus an optional bearer token for development setups.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use emrex_proto::signer::v1::{
    GetJwksRequest, GetJwksResponse, JwsType, SignJwsRequest, SignJwsResponse, SignRequest,
    signer_client::SignerClient,
};
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
#[derive(Debug, Clone, thiserror::Error)]
pub enum SignError {
    #[error("signer unavailable: {0}")]
    Unavailable(String),
    #[error("signer refused the document: {0}")]
    Refused(String),
    #[error("signer timed out")]
    Timeout,
}

/// How long the Signer's public keys are reused. They back two unauthenticated endpoints (the
/// wallet issuer metadata and `jwt-vc-issuer`), which must not turn every request from anyone
/// into a call to the Signer. Staleness is harmless: the next key is published before the
/// Signer switches to it, so a cached set already holds the key new credentials are signed with.
pub const JWKS_TTL: Duration = Duration::from_secs(5);

/// How long a failure to get the keys is reused: callers queued behind a call that waited out
/// its timeout get the failure at once instead of each waiting out a timeout of their own.
pub const JWKS_FAILURE_TTL: Duration = Duration::from_secs(1);

/// The last answer about the Signer's public keys, and when it came.
type CachedJwks = Option<(Instant, Result<Arc<GetJwksResponse>, SignError>)>;

/// The Signer, as the NCP uses it.
#[derive(Debug, Clone)]
pub struct Signer {
    client: SignerClient<AuthChannel>,
    health: tonic_health::pb::health_client::HealthClient<AuthChannel>,
    timeout: Duration,
    /// One fetch at a time: callers that arrive during a fetch wait for its answer.
    jwks: Arc<tokio::sync::Mutex<CachedJwks>>,
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
            jwks: Arc::new(tokio::sync::Mutex::new(None)),
        }
    }

    /// Signs `xml` (unsigned ELMO) and returns the signed bytes.
    pub async fn sign(&self, xml: Vec<u8>) -> Result<Vec<u8>, SignError> {
        let mut request = tonic::Request::new(SignRequest { elmo_xml: xml });
        request.set_timeout(self.timeout);
        let mut client = self.client.clone();
        outcome(tokio::time::timeout(self.timeout, client.sign(request)).await)
            .map(|r| r.signed_xml)
    }

    /// Signs a JWT payload (a JSON object) with the Signer's active key (`SignJws`); the Signer
    /// writes the header (`alg`, `kid`, `x5c`), the caller picks only `typ`.
    pub async fn sign_jws(
        &self,
        typ: JwsType,
        payload: Vec<u8>,
    ) -> Result<SignJwsResponse, SignError> {
        let mut request = tonic::Request::new(SignJwsRequest {
            typ: typ as i32,
            payload,
        });
        request.set_timeout(self.timeout);
        let mut client = self.client.clone();
        outcome(tokio::time::timeout(self.timeout, client.sign_jws(request)).await)
    }

    /// The Signer's public keys (active and, during a rotation, next) as a JWK Set, for the
    /// credential issuer's metadata; at most [`JWKS_TTL`] old, a failure at most
    /// [`JWKS_FAILURE_TTL`].
    pub async fn jwks(&self) -> Result<Arc<GetJwksResponse>, SignError> {
        let mut cached = self.jwks.lock().await;
        if let Some((at, answer)) = cached.as_ref() {
            let ttl = if answer.is_ok() {
                JWKS_TTL
            } else {
                JWKS_FAILURE_TTL
            };
            if at.elapsed() < ttl {
                return answer.clone();
            }
        }
        let mut request = tonic::Request::new(GetJwksRequest {});
        request.set_timeout(self.timeout);
        let mut client = self.client.clone();
        let answer = outcome(tokio::time::timeout(self.timeout, client.get_jwks(request)).await)
            .map(Arc::new);
        *cached = Some((Instant::now(), answer.clone()));
        answer
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

/// A Signer call's outcome as the NCP sees it: timeouts, refusals of what was sent, and the rest.
fn outcome<T>(
    result: Result<Result<tonic::Response<T>, tonic::Status>, tokio::time::error::Elapsed>,
) -> Result<T, SignError> {
    match result {
        Err(_) => Err(SignError::Timeout),
        Ok(Ok(r)) => Ok(r.into_inner()),
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

/// The issuer's signer for SD-JWT VCs: the NCP holds no key, so `emrex-sdjwt` signs through the
/// Signer's `SignJws`.
impl emrex_sdjwt::JwsSigner for Signer {
    fn sign_jws(
        &self,
        typ: emrex_sdjwt::JwtType,
        payload: &[u8],
    ) -> impl std::future::Future<Output = Result<String, emrex_sdjwt::SignError>> + Send {
        let typ = match typ {
            emrex_sdjwt::JwtType::DcSdJwt => JwsType::DcSdJwt,
            emrex_sdjwt::JwtType::VcSdJwt => JwsType::VcSdJwt,
        };
        let payload = payload.to_vec();
        async move {
            Signer::sign_jws(self, typ, payload)
                .await
                .map(|r| r.compact_jws)
                .map_err(|e| emrex_sdjwt::SignError(Box::new(e)))
        }
    }
}
