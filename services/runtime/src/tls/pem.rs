//! Reading PEM files (with `rustls-pki-types`' own parser; `rustls-pemfile` is unmaintained) and
//! describing certificates for logs and peer identities.

use std::{
    net::IpAddr,
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{RootCertStore, crypto::CryptoProvider, sign::CertifiedKey};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::TlsError;

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        error: source,
    })
}

/// All certificates in a PEM file, in file order (leaf first for a chain); an error when there
/// is none. The one PEM reader of the workspace (services building other clients, e.g. reqwest,
/// read their CA bundles with it too).
pub fn load_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: path.to_path_buf(),
            error: source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificates {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The first private key in a PEM file (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn load_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = read(path)?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|source| match source {
        rustls_pki_types::pem::Error::NoItemsFound => TlsError::NoPrivateKey {
            path: path.to_path_buf(),
        },
        source => TlsError::Pem {
            path: path.to_path_buf(),
            error: source,
        },
    })
}

/// A certificate chain and its key, checked to belong together.
pub(crate) fn load_certified_key(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = load_certificates(cert_file)?;
    let key = load_private_key(key_file)?;
    let certified =
        CertifiedKey::from_der(chain, key, provider).map_err(|source| TlsError::Rustls {
            what: "certificate and key do not match or are unsupported",
            path: cert_file.to_path_buf(),
            error: source,
        })?;
    if let Some(leaf) = certified.cert.first() {
        log_certificate("loaded certificate", cert_file, leaf);
    }
    Ok(certified)
}

/// A CA bundle as a root store. Certificates that cannot be trust anchors are skipped with a
/// warning; a bundle with none is an error.
pub(crate) fn load_roots(path: &Path) -> Result<Arc<RootCertStore>, TlsError> {
    let certs = load_certificates(path)?;
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(certs);
    if ignored > 0 {
        tracing::warn!(file = %path.display(), ignored, "skipped CA certificates that cannot be trust anchors");
    }
    if added == 0 {
        return Err(TlsError::NoTrustAnchors {
            path: path.to_path_buf(),
        });
    }
    tracing::debug!(file = %path.display(), added, "loaded CA bundle");
    Ok(Arc::new(roots))
}

fn log_certificate(message: &str, path: &Path, der: &CertificateDer<'_>) {
    let Some(summary) = summarize_certificate(der) else {
        tracing::warn!(file = %path.display(), "{message}, but it could not be parsed for logging");
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or_default();
    if summary.not_after_unix < now {
        tracing::warn!(file = %path.display(), subject = %summary.subject, not_after = summary.not_after_unix, "{message}: it has EXPIRED");
    } else {
        tracing::info!(
            file = %path.display(),
            subject = %summary.subject,
            sha256 = %summary.sha256_fingerprint,
            not_after = summary.not_after_unix,
            "{message}"
        );
    }
}

/// What a certificate says about its holder, for logs, metrics and [`crate::grpc::PeerIdentity`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// Subject distinguished name, e.g. `CN=emrex-ncp,O=Example`.
    pub subject: String,
    /// The subject's first common name.
    pub common_name: Option<String>,
    /// DNS names from the subjectAltName extension.
    pub dns_names: Vec<String>,
    /// IP addresses from the subjectAltName extension.
    pub ip_addresses: Vec<IpAddr>,
    /// SHA-256 of the DER certificate, lowercase hex, colon-separated (the format EMREX
    /// messages use, e.g. `SignResponse.certificate_sha256`).
    pub sha256_fingerprint: String,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before_unix: i64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after_unix: i64,
}

/// Parses a DER certificate; `None` if it is not one.
pub fn summarize_certificate(der: &[u8]) -> Option<CertificateSummary> {
    let (_, cert) = X509Certificate::from_der(der).ok()?;
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    let mut dns_names = Vec::new();
    let mut ip_addresses = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(dns) => dns_names.push((*dns).to_string()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        ip_addresses.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        ip_addresses.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
    }
    Some(CertificateSummary {
        subject: cert.subject().to_string(),
        common_name,
        dns_names,
        ip_addresses,
        sha256_fingerprint: sha256_fingerprint(der),
        not_before_unix: cert.validity().not_before.timestamp(),
        not_after_unix: cert.validity().not_after.timestamp(),
    })
}

/// SHA-256 of `der` as lowercase colon-separated hex.
pub(crate) fn sha256_fingerprint(der: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
    digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Paths for log fields.
pub(crate) fn paths(paths: &[&Path]) -> Vec<PathBuf> {
    paths.iter().map(|p| p.to_path_buf()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_is_named_and_its_cause_said_once() {
        let path = Path::new("/nonexistent/emrex-ca.pem");
        let Err(err) = load_certificates(path) else {
            panic!("a missing file loads");
        };
        let text = err.to_string();
        assert!(
            text.starts_with("cannot read /nonexistent/emrex-ca.pem: "),
            "{text}"
        );
        // The I/O error is in the message and not repeated as a source (`{:#}` prints once).
        assert!(std::error::Error::source(&err).is_none());
        assert_eq!(crate::grpc::error_chain(&err), text);
    }

    #[test]
    fn broken_pem_is_refused_and_an_empty_bundle_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let broken = dir.path().join("broken.pem");
        std::fs::write(
            &broken,
            "-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        assert!(matches!(
            load_certificates(&broken),
            Err(TlsError::Pem { .. })
        ));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificates here\n").expect("write");
        assert!(matches!(
            load_certificates(&empty),
            Err(TlsError::NoCertificates { .. })
        ));
    }
}
