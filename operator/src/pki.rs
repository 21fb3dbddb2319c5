//! Key and certificate material: issuing signing certificates (self-signed or from a CA) and the
//! internal mTLS bundles between the services the operator runs, and reading what a Secret holds.
//!
//! Issuance needs randomness, so it is kept out of the build functions: controllers call these,
//! then hand the resulting PEM to the pure builders.

use k8s_openapi::jiff::Timestamp;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, PKCS_RSA_SHA256, RsaKeySize,
};

use crate::crd::KeyAlgorithm;

/// Why material could not be issued or read.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("generating or signing failed")]
    Rcgen(#[from] rcgen::Error),
    #[error("not a PEM certificate: {0}")]
    BadCertificate(String),
    #[error("time out of range: {0}")]
    Time(String),
    #[error("RSA key size must be 2048, 3072 or 4096, not {0}")]
    KeySize(i32),
    #[error("no randomness for a serial number")]
    Randomness,
    /// The blocking task that generated the key panicked or was cancelled.
    #[error("the key generation task did not finish: {0}")]
    Task(String),
}

/// What a PEM certificate says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    pub pem: String,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
    /// SHA-256 of the DER, lower-case hex.
    pub fingerprint: String,
    pub common_name: Option<String>,
    /// `RSA-<bits>` or `ECDSA-P256` (or `other`).
    pub key: String,
    pub dns_names: Vec<String>,
}

/// Parses the first certificate of a PEM text.
pub fn cert_info(pem: &str) -> Result<CertInfo, PkiError> {
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    let cert = block
        .parse_x509()
        .map_err(|e| PkiError::BadCertificate(e.to_string()))?;
    let ts = |t: i64| Timestamp::from_second(t).map_err(|e| PkiError::Time(e.to_string()));
    let common_name = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string);
    let key = match cert.public_key().parsed() {
        Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => format!("RSA-{}", rsa.key_size()),
        Ok(x509_parser::public_key::PublicKey::EC(ec)) if ec.key_size() == 256 => {
            "ECDSA-P256".to_string()
        }
        _ => "other".to_string(),
    };
    let dns_names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(CertInfo {
        pem: pem.to_string(),
        not_before: ts(cert.validity().not_before.timestamp())?,
        not_after: ts(cert.validity().not_after.timestamp())?,
        fingerprint: sha256_hex(&block.contents),
        common_name,
        key,
        dns_names,
    })
}

/// Lower-case hex SHA-256.
/// A fresh key for an SMP's result links: 32 random bytes, base64, on a line of its own (the
/// format of `links.key_file`).
pub fn random_link_key() -> Result<String, PkiError> {
    use base64::Engine as _;
    let mut key = [0u8; 32];
    aws_lc_rs::rand::fill(&mut key).map_err(|_| PkiError::Randomness)?;
    Ok(format!(
        "{}\n",
        base64::engine::general_purpose::STANDARD.encode(key)
    ))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh key and its certificate, PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    pub key_pem: String,
    pub cert_pem: String,
}

/// A CA to issue from (PEM certificate + PKCS#8 or SEC1 key).
#[derive(Debug, Clone)]
pub struct CaMaterial {
    pub cert_pem: String,
    pub key_pem: String,
}

/// What a signing certificate is to look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningRequest {
    pub common_name: String,
    pub organization: Option<String>,
    pub algorithm: KeyAlgorithm,
    pub rsa_bits: i32,
    pub not_before: Timestamp,
    pub not_after: Timestamp,
}

/// The key `req` asks for, as rcgen generates it.
fn generate_key(algorithm: KeyAlgorithm, rsa_bits: i32) -> Result<KeyPair, PkiError> {
    Ok(match algorithm {
        KeyAlgorithm::ECDSA => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?,
        KeyAlgorithm::RSA => {
            let size = match rsa_bits {
                2048 => RsaKeySize::_2048,
                3072 => RsaKeySize::_3072,
                4096 => RsaKeySize::_4096,
                other => return Err(PkiError::KeySize(other)),
            };
            KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, size)?
        }
    })
}

fn to_offset(t: Timestamp) -> Result<time::OffsetDateTime, PkiError> {
    time::OffsetDateTime::from_unix_timestamp(t.as_second())
        .map_err(|e| PkiError::Time(e.to_string()))
}

/// [`issue_signing`] on Tokio's blocking pool: an RSA-3072 key (the default) takes tens to
/// hundreds of milliseconds of CPU to generate, which on an async worker would stall every other
/// reconcile of the operator meanwhile (issue #14, docs/benchmarks.md "Operator").
pub async fn issue_signing_blocking(
    req: SigningRequest,
    ca: Option<CaMaterial>,
) -> Result<Issued, PkiError> {
    tokio::task::spawn_blocking(move || issue_signing(&req, ca.as_ref()))
        .await
        .map_err(|e| PkiError::Task(e.to_string()))?
}

/// Issues a signing certificate (digital signature + non-repudiation, no CA), self-signed or
/// from `ca`.
pub fn issue_signing(req: &SigningRequest, ca: Option<&CaMaterial>) -> Result<Issued, PkiError> {
    let key = generate_key(req.algorithm, req.rsa_bits)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, req.common_name.clone());
    if let Some(o) = &req.organization {
        dn.push(DnType::OrganizationName, o.clone());
    }
    params.distinguished_name = dn;
    params.not_before = to_offset(req.not_before)?;
    params.not_after = to_offset(req.not_after)?;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    params.serial_number = Some(random_serial()?);
    let cert = match ca {
        None => params.self_signed(&key)?,
        Some(ca) => {
            let ca_key = KeyPair::from_pem(&ca.key_pem)?;
            let issuer = Issuer::from_ca_cert_pem(&ca.cert_pem, ca_key)?;
            params.signed_by(&key, &issuer)?
        }
    };
    Ok(Issued {
        key_pem: key.serialize_pem(),
        cert_pem: cert.pem(),
    })
}

fn random_serial() -> Result<rcgen::SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).map_err(|_| PkiError::Randomness)?;
    bytes[0] &= 0x7f;
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}

/// An internal mTLS bundle: a CA made for one pair of services, a server certificate for
/// `server_dns` and a client certificate. The CA key is discarded (re-minting replaces all three),
/// so nothing else can ever be issued from it.
#[derive(Debug, Clone)]
pub struct MtlsBundle {
    pub ca_pem: String,
    pub server: Issued,
    pub client: Issued,
}

/// Validity of internal certificates; they are re-minted when less than a third remains.
pub const INTERNAL_VALIDITY_DAYS: i64 = 365;

/// Mints a fresh internal bundle.
pub fn mint_mtls(
    purpose: &str,
    server_dns: &[String],
    now: Timestamp,
) -> Result<MtlsBundle, PkiError> {
    let not_before = now
        .checked_sub(k8s_openapi::jiff::SignedDuration::from_secs(300))
        .map_err(|e| PkiError::Time(e.to_string()))?;
    let not_after = now
        .checked_add(k8s_openapi::jiff::SignedDuration::from_hours(
            24 * INTERNAL_VALIDITY_DAYS,
        ))
        .map_err(|e| PkiError::Time(e.to_string()))?;

    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name.push(
        DnType::CommonName,
        format!("emrex-operator internal CA ({purpose})"),
    );
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = to_offset(not_before)?;
    ca_params.not_after = to_offset(not_after)?;
    ca_params.serial_number = Some(random_serial()?);
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let leaf =
        |cn: String, sans: Vec<String>, eku: ExtendedKeyUsagePurpose| -> Result<Issued, PkiError> {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)?;
            let mut p = CertificateParams::new(sans)?;
            p.distinguished_name.push(DnType::CommonName, cn);
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![eku];
            p.not_before = to_offset(not_before)?;
            p.not_after = to_offset(not_after)?;
            p.serial_number = Some(random_serial()?);
            let cert = p.signed_by(&key, &issuer)?;
            Ok(Issued {
                key_pem: key.serialize_pem(),
                cert_pem: cert.pem(),
            })
        };
    let server_cn = server_dns
        .first()
        .cloned()
        .unwrap_or_else(|| purpose.to_string());
    Ok(MtlsBundle {
        ca_pem: ca_cert.pem(),
        server: leaf(
            server_cn,
            server_dns.to_vec(),
            ExtendedKeyUsagePurpose::ServerAuth,
        )?,
        client: leaf(
            format!("emrex-operator {purpose} client"),
            Vec::new(),
            ExtendedKeyUsagePurpose::ClientAuth,
        )?,
    })
}

/// Whether internal material should be re-minted: unreadable, names changed, or less than a
/// third of its validity left.
pub fn internal_needs_renewal(
    cert_pem: Option<&str>,
    server_dns: &[String],
    now: Timestamp,
) -> bool {
    let Some(info) = cert_pem.and_then(|p| cert_info(p).ok()) else {
        return true;
    };
    if !server_dns.is_empty() && info.dns_names != server_dns {
        return true;
    }
    let third = (info.not_after.as_second() - info.not_before.as_second()) / 3;
    now.as_second() >= info.not_after.as_second() - third
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).expect("t")
    }

    #[test]
    fn self_signed_ecdsa_and_rsa_certificates_say_what_was_asked() {
        for (alg, bits, want) in [
            (KeyAlgorithm::ECDSA, 0, "ECDSA-P256"),
            (KeyAlgorithm::RSA, 2048, "RSA-2048"),
        ] {
            let req = SigningRequest {
                common_name: "ncp.example.org".into(),
                organization: Some("Example University".into()),
                algorithm: alg,
                rsa_bits: bits,
                not_before: t(1_800_000_000),
                not_after: t(1_800_086_400),
            };
            let issued = issue_signing(&req, None).expect("issue");
            let info = cert_info(&issued.cert_pem).expect("parse");
            assert_eq!(info.key, want);
            assert_eq!(info.common_name.as_deref(), Some("ncp.example.org"));
            assert_eq!(info.not_before, t(1_800_000_000));
            assert_eq!(info.not_after, t(1_800_086_400));
            assert_eq!(info.fingerprint.len(), 64);
            assert!(issued.key_pem.contains("PRIVATE KEY"));
        }
    }

    #[test]
    fn rsa_sizes_other_than_the_three_are_refused() {
        let req = SigningRequest {
            common_name: "x".into(),
            organization: None,
            algorithm: KeyAlgorithm::RSA,
            rsa_bits: 1024,
            not_before: t(1_800_000_000),
            not_after: t(1_800_086_400),
        };
        assert!(matches!(
            issue_signing(&req, None),
            Err(PkiError::KeySize(1024))
        ));
    }

    #[test]
    fn issued_from_a_ca_chains_to_it() {
        let bundle = mint_mtls("test", &["ca-user".into()], t(1_800_000_000)).expect("mint");
        // Use a fresh CA we keep the key of.
        let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("key");
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, "Alliance CA");
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = p.self_signed(&ca_key).expect("ca");
        let ca = CaMaterial {
            cert_pem: ca_cert.pem(),
            key_pem: ca_key.serialize_pem(),
        };
        let req = SigningRequest {
            common_name: "ncp".into(),
            organization: None,
            algorithm: KeyAlgorithm::ECDSA,
            rsa_bits: 0,
            not_before: t(1_800_000_000),
            not_after: t(1_800_086_400),
        };
        let issued = issue_signing(&req, Some(&ca)).expect("issue");
        let (_, block) = x509_parser::pem::parse_x509_pem(issued.cert_pem.as_bytes()).expect("pem");
        let cert = block.parse_x509().expect("x509");
        assert!(cert.issuer().to_string().contains("Alliance CA"));
        let (_, ca_block) = x509_parser::pem::parse_x509_pem(ca.cert_pem.as_bytes()).expect("pem");
        let ca_parsed = ca_block.parse_x509().expect("x509");
        cert.verify_signature(Some(ca_parsed.public_key()))
            .expect("signed by the CA");
        assert!(bundle.ca_pem.contains("BEGIN CERTIFICATE"));
    }

    #[test]
    fn internal_bundles_renew_when_names_change_or_a_third_is_left() {
        let dns = vec!["x-signer.ns.svc".to_string()];
        let b = mint_mtls("x", &dns, t(1_800_000_000)).expect("mint");
        let info = cert_info(&b.server.cert_pem).expect("info");
        assert_eq!(info.dns_names, dns);
        assert!(!internal_needs_renewal(
            Some(&b.server.cert_pem),
            &dns,
            t(1_800_000_100)
        ));
        assert!(internal_needs_renewal(
            Some(&b.server.cert_pem),
            &["y".into()],
            t(1_800_000_100)
        ));
        let late = 1_800_000_000 + 24 * 3600 * 250;
        assert!(internal_needs_renewal(
            Some(&b.server.cert_pem),
            &dns,
            t(late)
        ));
        assert!(internal_needs_renewal(None, &dns, t(1_800_000_000)));
        assert!(internal_needs_renewal(
            Some("garbage"),
            &dns,
            t(1_800_000_000)
        ));
    }
}
