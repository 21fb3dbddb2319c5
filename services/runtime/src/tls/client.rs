//! Client side: a rustls `ClientConfig` for calling another EMREX service, trusting a reloading CA
//! bundle and presenting a reloading client certificate for mTLS.

use std::sync::Arc;

use rustls::{
    ClientConfig, DigitallySignedStruct, SignatureScheme,
    client::{
        ResolvesClientCert, WebPkiServerVerifier,
        danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier},
    },
    sign::CertifiedKey,
};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use super::{ALPN_H2, TlsError, TlsOptions, pem, provider, reload::Reloading};
use crate::config::ClientTlsConfig;

/// Builds the client TLS config described by `config`: the server must chain to `ca_file`
/// (checked by webpki, including the host name), and with `cert_file` + `key_file` the client
/// presents that certificate. All files are re-read when they change. ALPN is `h2` (gRPC).
pub fn client_config(
    config: &ClientTlsConfig,
    options: &TlsOptions,
) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let verifier = {
        let (ca_file, provider) = (config.ca_file.clone(), provider.clone());
        Reloading::new(
            "server CA bundle",
            vec![config.ca_file.clone()],
            options.check_interval,
            options.metrics.clone(),
            move || {
                let roots = pem::load_roots(&ca_file)?;
                WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                    .build()
                    .map_err(|source| TlsError::Verifier {
                        path: ca_file.clone(),
                        error: source,
                    })
            },
        )?
    };
    // `dangerous()` is only the door to a custom verifier; ours delegates every decision to
    // rustls' own WebPkiServerVerifier built from the current CA bundle.
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|source| TlsError::Rustls {
            what: "protocol versions",
            path: config.ca_file.clone(),
            error: source,
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(ReloadingServerVerifier(verifier)));
    let mut client = match (&config.cert_file, &config.key_file) {
        (Some(cert_file), Some(key_file)) => {
            let (cert, key, provider) = (cert_file.clone(), key_file.clone(), provider.clone());
            let resolver = Reloading::new(
                "client certificate",
                pem::paths(&[cert_file, key_file]),
                options.check_interval,
                options.metrics.clone(),
                move || pem::load_certified_key(&cert, &key, &provider),
            )?;
            builder.with_client_cert_resolver(Arc::new(ReloadingClientCert(resolver)))
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(TlsError::Config(
                "client cert_file and key_file must be given together".to_string(),
            ));
        }
    };
    client.alpn_protocols = vec![ALPN_H2.to_vec()];
    // Full handshakes only, so every connection presents the current client certificate and
    // verifies the server against the current CA bundle (see `server_config`).
    client.resumption = rustls::client::Resumption::disabled();
    Ok(Arc::new(client))
}

#[derive(Debug)]
struct ReloadingServerVerifier(Reloading<Arc<WebPkiServerVerifier>>);

impl ServerCertVerifier for ReloadingServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0
            .get()
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.get().verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.get().verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.get().supported_verify_schemes()
    }
}

#[derive(Debug)]
struct ReloadingClientCert(Reloading<CertifiedKey>);

impl ResolvesClientCert for ReloadingClientCert {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(self.0.get())
    }

    fn has_certs(&self) -> bool {
        true
    }
}
