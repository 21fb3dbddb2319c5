//! Server side: a rustls `ServerConfig` whose certificate and client-CA bundle follow the files.

use std::sync::Arc;

use rustls::{
    DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
    client::danger::HandshakeSignatureValid,
    crypto::CryptoProvider,
    server::{
        ClientHello, ResolvesServerCert, WebPkiClientVerifier,
        danger::{ClientCertVerified, ClientCertVerifier},
    },
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, UnixTime};

use super::{ALPN_H2, TlsError, TlsOptions, pem, provider, reload::Reloading};
use crate::config::ServerTlsConfig;

/// Builds the server TLS config described by `config`: certificate from `cert_file` +
/// `key_file`, and client certificates verified against `client_ca_file` (mandatory when
/// `require_client_cert`). All files are re-read when they change (see [`crate::tls`]).
/// ALPN is `h2` (gRPC).
///
/// Fails when the files cannot be loaded now, or when `require_client_cert` is set without a
/// `client_ca_file`.
pub fn server_config(
    config: &ServerTlsConfig,
    options: &TlsOptions,
) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = provider();
    let resolver = ReloadingCertResolver::new(config, &provider, options)?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Rustls {
            what: "protocol versions",
            path: config.cert_file.clone(),
            error: source,
        })?;
    let builder = match (&config.client_ca_file, config.require_client_cert) {
        (Some(_), required) => builder.with_client_cert_verifier(Arc::new(
            ReloadingClientVerifier::new(config, required, &provider, options)?,
        )),
        (None, true) => {
            return Err(TlsError::Config(
                "require_client_cert = true needs client_ca_file (or set require_client_cert = false)"
                    .to_string(),
            ));
        }
        (None, false) => builder.with_no_client_auth(),
    };
    let mut server = builder.with_cert_resolver(Arc::new(resolver));
    server.alpn_protocols = vec![ALPN_H2.to_vec()];
    // No session resumption: a resumed session skips certificate verification and carries the
    // client identity of the original handshake, so a replaced CA bundle or client certificate
    // would not apply to resuming clients. gRPC connections are long-lived, so full handshakes
    // cost little.
    server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    server.send_tls13_tickets = 0;
    Ok(Arc::new(server))
}

/// Presents the current certificate from disk to every client.
#[derive(Debug)]
struct ReloadingCertResolver(Reloading<CertifiedKey>);

impl ReloadingCertResolver {
    fn new(
        config: &ServerTlsConfig,
        provider: &Arc<CryptoProvider>,
        options: &TlsOptions,
    ) -> Result<Self, TlsError> {
        let (cert, key, provider) = (
            config.cert_file.clone(),
            config.key_file.clone(),
            provider.clone(),
        );
        Ok(Self(Reloading::new(
            "server certificate",
            pem::paths(&[&config.cert_file, &config.key_file]),
            options.check_interval,
            options.metrics.clone(),
            move || pem::load_certified_key(&cert, &key, &provider),
        )?))
    }
}

impl ResolvesServerCert for ReloadingCertResolver {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get())
    }
}

/// Verifies client certificates against the current CA bundle on disk (webpki does the work;
/// this only swaps which webpki verifier is used).
#[derive(Debug)]
struct ReloadingClientVerifier {
    current: Reloading<Arc<dyn ClientCertVerifier>>,
    mandatory: bool,
}

impl ReloadingClientVerifier {
    fn new(
        config: &ServerTlsConfig,
        mandatory: bool,
        provider: &Arc<CryptoProvider>,
        options: &TlsOptions,
    ) -> Result<Self, TlsError> {
        let Some(ca_file) = config.client_ca_file.clone() else {
            return Err(TlsError::Config("client_ca_file is not set".to_string()));
        };
        let provider = provider.clone();
        let paths = vec![ca_file.clone()];
        let current = Reloading::new(
            "client CA bundle",
            paths,
            options.check_interval,
            options.metrics.clone(),
            move || {
                let roots = pem::load_roots(&ca_file)?;
                let builder = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
                let builder = if mandatory {
                    builder
                } else {
                    builder.allow_unauthenticated()
                };
                builder.build().map_err(|source| TlsError::Verifier {
                    path: ca_file.clone(),
                    error: source,
                })
            },
        )?;
        Ok(Self { current, mandatory })
    }
}

impl ClientCertVerifier for ReloadingClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    /// No hints: they would have to borrow from a verifier that may be swapped at any time, and
    /// TLS allows an empty list ("any CA"). Our clients present their one certificate anyway.
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.current
            .get()
            .verify_client_cert(end_entity, intermediates, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current
            .get()
            .verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.current
            .get()
            .verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.current.get().supported_verify_schemes()
    }
}
