//! The operator's `RegistryAdmin` client: one lazily connecting channel per EMREG endpoint and
//! TLS material, reused across reconciles (500 entries must not mean 500 TLS handshakes), and
//! replaced when the material changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use emrex_proto::registry::v1::registry_admin_client::RegistryAdminClient;
use emrex_proto::registry::v1::registry_client::RegistryClient;
use emrex_proto::registry::v1::{DeleteRequest, Entry, GetRequest, UpsertRequest};
use emrex_runtime::config::GrpcClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tonic::transport::Channel;

/// Why talking to an EMREG failed.
#[derive(Debug, thiserror::Error)]
pub enum EmregError {
    #[error("TLS material for {endpoint}: {message}")]
    Tls { endpoint: String, message: String },
    #[error("endpoint {0}")]
    Endpoint(String),
    #[error("{op} at {endpoint}: {} ({:?})", status.message(), status.code())]
    Call {
        op: &'static str,
        endpoint: String,
        status: Box<tonic::Status>,
    },
}

impl EmregError {
    /// A short reason for conditions and metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Tls { .. } => "RegistryTlsInvalid",
            Self::Endpoint(_) => "RegistryEndpointInvalid",
            Self::Call { status, .. } => match status.code() {
                tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => "RegistryUnreachable",
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
                    "RegistryRefusedCredentials"
                }
                tonic::Code::InvalidArgument => "RegistryRefusedEntry",
                _ => "RegistryCallFailed",
            },
        }
    }
}

/// PEM material for a client connection (from a Secret).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientTls {
    pub ca_pem: String,
    pub cert_pem: Option<String>,
    pub key_pem: Option<String>,
}

/// Time one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Channels by (endpoint, TLS material).
type ChannelMap = HashMap<(String, Option<ClientTls>), Channel>;

/// Channels by endpoint + material.
#[derive(Clone, Default)]
pub struct EmregClients {
    channels: Arc<Mutex<ChannelMap>>,
}

impl EmregClients {
    fn channel(&self, endpoint: &str, tls: Option<&ClientTls>) -> Result<Channel, EmregError> {
        let key = (endpoint.to_string(), tls.cloned());
        let mut map = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = map.get(&key) {
            return Ok(c.clone());
        }
        // Drop channels of older material for this endpoint.
        map.retain(|(e, _), _| e != endpoint);
        let rustls = tls.map(|t| client_config(endpoint, t)).transpose()?;
        let config = GrpcClientConfig {
            endpoint: endpoint.to_string(),
            tls: None,
            connect_timeout: Duration::from_secs(5),
            timeout: CALL_TIMEOUT,
        };
        let channel = emrex_runtime::grpc::channel_with_tls(&config, rustls)
            .map_err(|e| EmregError::Endpoint(e.to_string()))?;
        map.insert(key, channel.clone());
        Ok(channel)
    }

    /// The entry stored under `acronym`, if any.
    pub async fn get(
        &self,
        endpoint: &str,
        tls: Option<&ClientTls>,
        acronym: &str,
    ) -> Result<Option<Entry>, EmregError> {
        let mut client = RegistryClient::new(self.channel(endpoint, tls)?);
        let mut req = tonic::Request::new(GetRequest {
            acronym: acronym.to_string(),
        });
        req.set_timeout(CALL_TIMEOUT);
        match client.get(req).await {
            Ok(r) => Ok(Some(r.into_inner())),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
            Err(s) => Err(call("Get", endpoint, s)),
        }
    }

    /// Creates or replaces an entry; returns it as stored (with its revision).
    pub async fn upsert(
        &self,
        endpoint: &str,
        tls: Option<&ClientTls>,
        entry: Entry,
    ) -> Result<Entry, EmregError> {
        let mut client = RegistryAdminClient::new(self.channel(endpoint, tls)?);
        let mut req = tonic::Request::new(UpsertRequest { entry: Some(entry) });
        req.set_timeout(CALL_TIMEOUT);
        let stored = client
            .upsert(req)
            .await
            .map_err(|s| call("Upsert", endpoint, s))?
            .into_inner()
            .entry
            .unwrap_or_default();
        Ok(stored)
    }

    /// Removes an entry (gone already is fine).
    pub async fn delete(
        &self,
        endpoint: &str,
        tls: Option<&ClientTls>,
        acronym: &str,
    ) -> Result<(), EmregError> {
        let mut client = RegistryAdminClient::new(self.channel(endpoint, tls)?);
        let mut req = tonic::Request::new(DeleteRequest {
            acronym: acronym.to_string(),
        });
        req.set_timeout(CALL_TIMEOUT);
        match client.delete(req).await {
            Ok(_) => Ok(()),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(()),
            Err(s) => Err(call("Delete", endpoint, s)),
        }
    }
}

fn call(op: &'static str, endpoint: &str, status: tonic::Status) -> EmregError {
    EmregError::Call {
        op,
        endpoint: endpoint.to_string(),
        status: Box::new(status),
    }
}

/// A rustls client config from PEM in memory (aws-lc-rs, like every other TLS in the project).
fn client_config(endpoint: &str, tls: &ClientTls) -> Result<Arc<rustls::ClientConfig>, EmregError> {
    let bad = |m: String| EmregError::Tls {
        endpoint: endpoint.to_string(),
        message: m,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(tls.ca_pem.as_bytes()) {
        let cert = cert.map_err(|e| bad(format!("ca.crt: {e}")))?;
        roots.add(cert).map_err(|e| bad(format!("ca.crt: {e}")))?;
    }
    if roots.is_empty() {
        return Err(bad("ca.crt holds no certificate".into()));
    }
    let builder = rustls::ClientConfig::builder_with_provider(emrex_runtime::tls::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots);
    let config = match (&tls.cert_pem, &tls.key_pem) {
        (Some(cert), Some(key)) => {
            let chain = CertificateDer::pem_slice_iter(cert.as_bytes())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(format!("tls.crt: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes())
                .map_err(|e| bad(format!("tls.key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad(format!("client certificate: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

impl std::fmt::Debug for EmregClients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.channels.lock().map(|m| m.len()).unwrap_or(0);
        f.debug_struct("EmregClients")
            .field("channels", &n)
            .finish()
    }
}
