//! Pinned certificates (what a verifier trusts) and signing keys (what a signer holds).
//!
//! EMREX trust is pinning: EMREG publishes each provider's certificate and a document is accepted
//! only if it verifies with one of the certificates published for the provider the student was
//! sent to. No chain building, no `KeyInfo` lookups. Certificates are read with x509-parser; keys
//! and signatures use aws-lc-rs.

use std::borrow::Cow;

use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use base64::Engine;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

const OID_P256: &str = "1.2.840.10045.3.1.7";

/// Problems with a certificate or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no PEM block labelled {0} found")]
    NoPem(&'static str),
    #[error("malformed PEM: {0}")]
    BadPem(String),
    #[error("not a parseable X.509 certificate: {0}")]
    BadCertificate(String),
    #[error(
        "unsupported public key type in certificate ({0}); only RSA and ECDSA P-256 are supported"
    )]
    UnsupportedKey(String),
    #[error("private key could not be read (expected PKCS#8, PKCS#1 RSA or SEC1 P-256): {0}")]
    BadPrivateKey(String),
    #[error("the private key does not belong to the certificate")]
    KeyCertificateMismatch,
}

/// The kind of public key in a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA with the modulus size in bits.
    Rsa(usize),
    /// ECDSA on NIST P-256.
    EcP256,
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyType::Rsa(bits) => write!(f, "RSA-{bits}"),
            KeyType::EcP256 => f.write_str("ECDSA P-256"),
        }
    }
}

/// The numbers of a certificate's public key, as a JSON Web Key (RFC 7518 §6) carries them:
/// unsigned big-endian, without leading zero bytes for RSA, fixed 32 bytes for P-256.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKeyParams {
    /// RSA modulus `n` and public exponent `e`.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// The affine coordinates of a P-256 point.
    EcP256 { x: Vec<u8>, y: Vec<u8> },
}

/// A certificate a verifier trusts for one provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedCert {
    der: Vec<u8>,
    /// Subject public key as aws-lc-rs wants it: PKCS#1 `RSAPublicKey` DER, or the EC point.
    public_key: Vec<u8>,
    /// The same key as numbers (for JWKs).
    params: PublicKeyParams,
    key_type: KeyType,
    subject: String,
    not_before: i64,
    not_after: i64,
    sha256: [u8; 32],
}

impl PinnedCert {
    /// Reads a certificate from PEM (the first `CERTIFICATE` block) or, without any, DER.
    pub fn from_pem_or_der(bytes: &[u8]) -> Result<Self, KeyError> {
        match CertificateDer::pem_slice_iter(&trimmed_lines(bytes)).next() {
            Some(Ok(der)) => Self::from_der(&der),
            Some(Err(e)) => Err(bad_pem(e)),
            None => Self::from_der(bytes),
        }
    }

    /// Reads every certificate in a PEM bundle.
    pub fn all_from_pem(bytes: &[u8]) -> Result<Vec<Self>, KeyError> {
        let blocks = CertificateDer::pem_slice_iter(&trimmed_lines(bytes))
            .collect::<Result<Vec<_>, _>>()
            .map_err(bad_pem)?;
        if blocks.is_empty() {
            return Err(KeyError::NoPem("CERTIFICATE"));
        }
        blocks.iter().map(|b| Self::from_der(b)).collect()
    }

    /// Reads a DER-encoded certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let (rest, cert) =
            X509Certificate::from_der(der).map_err(|e| KeyError::BadCertificate(e.to_string()))?;
        if !rest.is_empty() {
            return Err(KeyError::BadCertificate(
                "trailing bytes after the certificate".into(),
            ));
        }
        let spki = cert.public_key();
        let parsed = spki
            .parsed()
            .map_err(|e| KeyError::BadCertificate(e.to_string()))?;
        let (key_type, params) = match parsed {
            PublicKey::RSA(rsa) => (
                KeyType::Rsa(rsa.key_size()),
                PublicKeyParams::Rsa {
                    n: without_leading_zeros(rsa.modulus),
                    e: without_leading_zeros(rsa.exponent),
                },
            ),
            PublicKey::EC(point) => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.as_oid().ok())
                    .map(|o| o.to_id_string());
                if curve.as_deref() != Some(OID_P256) {
                    return Err(KeyError::UnsupportedKey(format!(
                        "EC curve {}",
                        curve.unwrap_or_else(|| "unknown".into())
                    )));
                }
                // SEC1 uncompressed point: 0x04 || x || y (certificates do not use compressed points
                // for P-256 in practice; refuse rather than guess).
                let data = point.data();
                if data.len() != 65 || data[0] != 0x04 {
                    return Err(KeyError::UnsupportedKey(
                        "P-256 public key not in uncompressed form".into(),
                    ));
                }
                (
                    KeyType::EcP256,
                    PublicKeyParams::EcP256 {
                        x: data[1..33].to_vec(),
                        y: data[33..65].to_vec(),
                    },
                )
            }
            _ => {
                return Err(KeyError::UnsupportedKey(
                    spki.algorithm.algorithm.to_id_string(),
                ));
            }
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, der);
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(digest.as_ref());
        Ok(Self {
            der: der.to_vec(),
            public_key: spki.subject_public_key.data.to_vec(),
            params,
            key_type,
            subject: cert.subject().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            sha256,
        })
    }

    /// The certificate in DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The key type and size.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The subject distinguished name (RFC 4514 style).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Validity period as Unix timestamps (seconds).
    pub fn validity(&self) -> (i64, i64) {
        (self.not_before, self.not_after)
    }

    /// SHA-256 fingerprint of the DER certificate.
    pub fn sha256_fingerprint(&self) -> [u8; 32] {
        self.sha256
    }

    /// SHA-256 fingerprint as lowercase hex with colons, as operators compare them.
    pub fn sha256_hex(&self) -> String {
        self.sha256
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    /// The certificate as PEM.
    pub fn to_pem(&self) -> String {
        let b64 = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let mut out = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(chunk));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
        out
    }

    pub(crate) fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// The public key's numbers, for publishing it as a JSON Web Key.
    pub fn public_key_params(&self) -> &PublicKeyParams {
        &self.params
    }
}

fn without_leading_zeros(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes[start..].to_vec()
}

/// A private key with its certificate, used to sign.
#[derive(Debug)]
pub struct SigningKey {
    key: PrivateKey,
    cert: PinnedCert,
}

enum PrivateKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        match self {
            PrivateKey::Rsa(_) => f.write_str("PrivateKey::Rsa(..)"),
            PrivateKey::Ec(_) => f.write_str("PrivateKey::Ec(..)"),
        }
    }
}

impl SigningKey {
    /// Loads a key (PEM: `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`) and its certificate
    /// (PEM or DER), and checks that they belong together.
    pub fn from_pem(key_pem: &[u8], cert: &[u8]) -> Result<Self, KeyError> {
        let cert = PinnedCert::from_pem_or_der(cert)?;
        let der = PrivateKeyDer::from_pem_slice(&trimmed_lines(key_pem)).map_err(|e| match e {
            pem::Error::NoItemsFound => KeyError::NoPem("PRIVATE KEY"),
            e => bad_pem(e),
        })?;
        let bad = |e: aws_lc_rs::error::KeyRejected| KeyError::BadPrivateKey(e.to_string());
        let ec = |der: &[u8]| {
            EcdsaKeyPair::from_private_key_der(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                .map_err(bad)
        };
        // A PKCS#8 key of the other kind than the certificate's (an RSA key for an EC certificate)
        // is rejected by aws-lc-rs with an opaque reason ("UnexpectedError"); what the person
        // needs to hear is that the key and the certificate do not go together.
        let mismatch_or = |k: &[u8], e: aws_lc_rs::error::KeyRejected| {
            let other_kind = match cert.key_type {
                KeyType::Rsa(_) => {
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, k).is_ok()
                }
                KeyType::EcP256 => RsaKeyPair::from_pkcs8(k).is_ok(),
            };
            if other_kind {
                KeyError::KeyCertificateMismatch
            } else {
                bad(e)
            }
        };
        let key = match (cert.key_type, &der) {
            (KeyType::Rsa(_), PrivateKeyDer::Pkcs8(k)) => PrivateKey::Rsa(
                RsaKeyPair::from_pkcs8(k.secret_pkcs8_der())
                    .map_err(|e| mismatch_or(k.secret_pkcs8_der(), e))?,
            ),
            (KeyType::Rsa(_), PrivateKeyDer::Pkcs1(k)) => {
                PrivateKey::Rsa(RsaKeyPair::from_der(k.secret_pkcs1_der()).map_err(bad)?)
            }
            (KeyType::EcP256, PrivateKeyDer::Pkcs8(k)) => PrivateKey::Ec(
                EcdsaKeyPair::from_private_key_der(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    k.secret_pkcs8_der(),
                )
                .map_err(|e| mismatch_or(k.secret_pkcs8_der(), e))?,
            ),
            (KeyType::EcP256, PrivateKeyDer::Sec1(k)) => PrivateKey::Ec(ec(k.secret_sec1_der())?),
            _ => return Err(KeyError::KeyCertificateMismatch),
        };
        let public = match &key {
            PrivateKey::Rsa(k) => k.public_key().as_ref().to_vec(),
            PrivateKey::Ec(k) => k.public_key().as_ref().to_vec(),
        };
        if public != cert.public_key {
            return Err(KeyError::KeyCertificateMismatch);
        }
        Ok(Self { key, cert })
    }

    /// The certificate that goes with the key.
    pub fn certificate(&self) -> &PinnedCert {
        &self.cert
    }

    /// Signs `message` with RSA PKCS#1 v1.5 SHA-256 or ECDSA P-256 SHA-256 (r||s, as XML-DSig
    /// wants it). The same bytes are a JWS `RS256` / `ES256` signature (RFC 7518 §3.3, §3.4), which
    /// is why the Signer's JWS operation uses this too.
    pub fn sign_sha256(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match &self.key {
            PrivateKey::Rsa(k) => {
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(|_| KeyError::BadPrivateKey("RSA signing failed".into()))?;
                Ok(sig)
            }
            PrivateKey::Ec(k) => k
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| KeyError::BadPrivateKey("ECDSA signing failed".into())),
        }
    }
}

/// PEM text with each line's surrounding whitespace (and `\r`) removed: certificates pasted into
/// JSON, YAML or a registration form are often indented, and the PEM reader wants `-----BEGIN`
/// at the start of a line. Anything that is not text (DER) is passed on as it is.
fn trimmed_lines(bytes: &[u8]) -> Cow<'_, [u8]> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => Cow::Owned(
            text.lines()
                .map(str::trim)
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
        ),
        _ => Cow::Borrowed(bytes),
    }
}

/// A PEM error as ours (`rustls-pki-types` reads PEM here as everywhere in the workspace).
/// Encrypted or header-carrying PEM fails here too: its headers are not base64.
fn bad_pem(e: pem::Error) -> KeyError {
    KeyError::BadPem(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_certificates_and_matches_keys() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["emp.test.invalid".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let sk = SigningKey::from_pem(key.serialize_pem().as_bytes(), cert.pem().as_bytes())
            .expect("load");
        assert_eq!(sk.certificate().key_type(), KeyType::EcP256);
        let other = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        assert_eq!(
            SigningKey::from_pem(other.serialize_pem().as_bytes(), cert.pem().as_bytes())
                .map(|_| ()),
            Err(KeyError::KeyCertificateMismatch)
        );
        let pinned = PinnedCert::from_pem_or_der(cert.pem().as_bytes()).expect("pem");
        assert_eq!(
            PinnedCert::from_pem_or_der(cert.der()).expect("der"),
            pinned
        );
        assert_eq!(
            PinnedCert::from_pem_or_der(pinned.to_pem().as_bytes()).expect("pem"),
            pinned
        );
    }

    #[test]
    fn a_key_of_the_other_kind_than_the_certificate_is_a_mismatch() {
        let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let rsa = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).expect("key");
        let cert_of = |k: &rcgen::KeyPair| {
            rcgen::CertificateParams::new(vec!["emp.test.invalid".into()])
                .expect("params")
                .self_signed(k)
                .expect("cert")
                .pem()
        };
        for (key, cert) in [(&rsa, cert_of(&ec)), (&ec, cert_of(&rsa))] {
            let err = SigningKey::from_pem(key.serialize_pem().as_bytes(), cert.as_bytes())
                .map(|_| ())
                .expect_err("mismatch");
            assert_eq!(err, KeyError::KeyCertificateMismatch, "{err}");
        }
    }

    #[test]
    fn indented_and_crlf_pem_reads_as_the_same_certificate() {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
        let cert = rcgen::CertificateParams::new(vec!["emp.test.invalid".into()])
            .expect("params")
            .self_signed(&key)
            .expect("cert");
        let pem = cert.pem();
        let messy = pem
            .lines()
            .map(|l| format!("    {l}  \r\n"))
            .collect::<String>();
        assert_eq!(
            PinnedCert::all_from_pem(messy.as_bytes()).expect("messy"),
            PinnedCert::all_from_pem(pem.as_bytes()).expect("clean")
        );
        let key_pem = key
            .serialize_pem()
            .lines()
            .map(|l| format!("\t{l}\r\n"))
            .collect::<String>();
        assert!(SigningKey::from_pem(key_pem.as_bytes(), messy.as_bytes()).is_ok());
    }

    #[test]
    fn refuses_garbage() {
        assert!(PinnedCert::from_pem_or_der(b"not a certificate").is_err());
        assert!(matches!(
            PinnedCert::from_pem_or_der(
                b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n"
            ),
            Err(KeyError::BadPem(_))
        ));
    }
}
