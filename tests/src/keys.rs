//! Throw-away keys and certificates, and digests, made by the `openssl` command line.
//!
//! The `openssl` CLI is used (not our crypto crate, not rcgen) so the material the oracles use is
//! produced by a code base independent of the code under test.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use crate::tools::{DEFAULT_TIMEOUT, require_tool, run};
use crate::xmlsec::DigestAlg;

/// Subject (and issuer: the certificates are self-signed) of a test certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// commonName
    pub cn: String,
    /// organizationName
    pub o: String,
    /// countryName (two letters)
    pub c: String,
}

impl Default for Subject {
    /// `CN=EMREX Test Issuer, O=Test University, C=NO` (the names used in the docs).
    fn default() -> Self {
        Self {
            cn: "EMREX Test Issuer".to_owned(),
            o: "Test University".to_owned(),
            c: "NO".to_owned(),
        }
    }
}

impl Subject {
    /// A subject with the given parts.
    pub fn new(cn: &str, o: &str, c: &str) -> Self {
        Self {
            cn: cn.to_owned(),
            o: o.to_owned(),
            c: c.to_owned(),
        }
    }

    /// The `-subj` argument of `openssl req` (`/CN=../O=../C=..`, with `\` and `/` escaped).
    fn openssl_subj(&self) -> String {
        fn esc(v: &str) -> String {
            v.replace('\\', "\\\\").replace('/', "\\/")
        }
        format!(
            "/CN={}/O={}/C={}",
            esc(&self.cn),
            esc(&self.o),
            esc(&self.c)
        )
    }
}

/// Key algorithm of a [`TestKey`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    /// RSA with this modulus size in bits (EMREX peers use 2048; 1024 is the legacy FI key size).
    Rsa(u32),
    /// ECDSA on NIST P-256.
    EcP256,
}

/// A private key (PKCS#8 PEM, `BEGIN PRIVATE KEY`) with a self-signed certificate, both also
/// written to files in a temp folder that lives as long as the value.
///
/// Exists because tests must not depend on long-lived private keys (none are committed; the
/// fixtures' generated key is only for reproducing the generated vectors): each test makes a fresh
/// key, signs with it, and pins its certificate.
#[derive(Debug)]
pub struct TestKey {
    /// The algorithm.
    pub alg: KeyAlg,
    /// Private key, PKCS#8 PEM.
    pub key_pem: String,
    /// Self-signed X.509 certificate, PEM.
    pub cert_pem: String,
    /// File holding [`Self::key_pem`].
    pub key_path: PathBuf,
    /// File holding [`Self::cert_pem`].
    pub cert_path: PathBuf,
    /// Keeps the folder (and the two files) alive.
    pub dir: TempDir,
}

impl TestKey {
    /// Fresh RSA key of `bits` bits (2048, 3072, 1024 for the legacy profile, ...) with the
    /// default [`Subject`].
    pub fn rsa(bits: u32) -> Self {
        Self::generate(KeyAlg::Rsa(bits), &Subject::default())
    }

    /// Fresh ECDSA P-256 key with the default [`Subject`].
    pub fn ec_p256() -> Self {
        Self::generate(KeyAlg::EcP256, &Subject::default())
    }

    /// Fresh key of `alg` with a self-signed certificate for `subject` (valid 10 years from now,
    /// SHA-256 self-signature).
    ///
    /// # Panics
    /// When `openssl` is missing or fails.
    pub fn generate(alg: KeyAlg, subject: &Subject) -> Self {
        let openssl = require_tool("openssl");
        let dir = tempfile::Builder::new()
            .prefix("emrex-testkey-")
            .tempdir()
            .expect("creating a temp folder for a test key");
        let key_path = dir.path().join("key.pem");
        let cert_path = dir.path().join("cert.pem");
        let mut cmd = Command::new(openssl);
        cmd.args([
            "req", "-x509", "-nodes", "-sha256", "-days", "3650", "-newkey",
        ]);
        match alg {
            KeyAlg::Rsa(bits) => {
                cmd.arg(format!("rsa:{bits}"));
            }
            KeyAlg::EcP256 => {
                cmd.args(["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
            }
        }
        cmd.arg("-keyout")
            .arg(&key_path)
            .arg("-out")
            .arg(&cert_path)
            .arg("-subj")
            .arg(subject.openssl_subj());
        let out = run(&mut cmd, DEFAULT_TIMEOUT);
        assert!(
            out.status.success(),
            "openssl req failed for {alg:?}: {}",
            out.stderr_text()
        );
        let key_pem = std::fs::read_to_string(&key_path).expect("reading generated key");
        let cert_pem = std::fs::read_to_string(&cert_path).expect("reading generated cert");
        assert!(
            key_pem.starts_with("-----BEGIN PRIVATE KEY-----"),
            "openssl did not write a PKCS#8 key: {}",
            key_pem.lines().next().unwrap_or("")
        );
        assert!(cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        Self {
            alg,
            key_pem,
            cert_pem,
            key_path,
            cert_path,
            dir,
        }
    }

    /// Fresh key of `alg` with a certificate for `subject` issued (signed) by `ca` instead of
    /// self-signed (valid 10 years, SHA-256).
    ///
    /// Exists for chain tests: a `KeyInfo` certificate that chains to some trusted CA must still
    /// not replace the pinned certificate (see [`crate::xmlsec`]). `ca` should come from
    /// [`TestKey::generate`] (`openssl req -x509` marks it `CA:TRUE`).
    ///
    /// # Panics
    /// When `openssl` is missing or fails.
    pub fn issued_by(alg: KeyAlg, subject: &Subject, ca: &TestKey) -> Self {
        let openssl = require_tool("openssl");
        let dir = tempfile::Builder::new()
            .prefix("emrex-testkey-")
            .tempdir()
            .expect("creating a temp folder for a test key");
        let key_path = dir.path().join("key.pem");
        let csr_path = dir.path().join("req.csr");
        let cert_path = dir.path().join("cert.pem");
        let mut req = Command::new(&openssl);
        req.args(["req", "-new", "-nodes", "-sha256", "-newkey"]);
        match alg {
            KeyAlg::Rsa(bits) => {
                req.arg(format!("rsa:{bits}"));
            }
            KeyAlg::EcP256 => {
                req.args(["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]);
            }
        }
        req.arg("-keyout")
            .arg(&key_path)
            .arg("-out")
            .arg(&csr_path)
            .arg("-subj")
            .arg(subject.openssl_subj());
        let out = run(&mut req, DEFAULT_TIMEOUT);
        assert!(
            out.status.success(),
            "openssl req -new failed for {alg:?}: {}",
            out.stderr_text()
        );
        let out = run(
            Command::new(&openssl)
                .args(["x509", "-req", "-sha256", "-days", "3650", "-in"])
                .arg(&csr_path)
                .arg("-CA")
                .arg(&ca.cert_path)
                .arg("-CAkey")
                .arg(&ca.key_path)
                .arg("-CAcreateserial")
                .arg("-CAserial")
                .arg(dir.path().join("ca.srl"))
                .arg("-out")
                .arg(&cert_path),
            DEFAULT_TIMEOUT,
        );
        assert!(
            out.status.success(),
            "openssl x509 -req failed: {}",
            out.stderr_text()
        );
        let key_pem = std::fs::read_to_string(&key_path).expect("reading generated key");
        let cert_pem = std::fs::read_to_string(&cert_path).expect("reading generated cert");
        Self {
            alg,
            key_pem,
            cert_pem,
            key_path,
            cert_path,
            dir,
        }
    }

    /// A key pair from existing PEM files (copied into the value's own temp folder), e.g. the
    /// fixtures' `generated/GENERATED-TEST-ONLY-emp.key` / `.crt`.
    ///
    /// Exists to reproduce the generated signed fixtures: RSA PKCS#1 v1.5 is deterministic, so
    /// signing the same `SignedInfo` with the fixture key must give the fixture's `SignatureValue`.
    ///
    /// # Panics
    /// When a file cannot be read or copied.
    pub fn from_pem_files(alg: KeyAlg, key: &Path, cert: &Path) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("emrex-testkey-")
            .tempdir()
            .expect("creating a temp folder for a test key");
        let key_path = dir.path().join("key.pem");
        let cert_path = dir.path().join("cert.pem");
        let key_pem = std::fs::read_to_string(key)
            .unwrap_or_else(|e| panic!("reading {}: {e}", key.display()));
        let cert_pem = std::fs::read_to_string(cert)
            .unwrap_or_else(|e| panic!("reading {}: {e}", cert.display()));
        std::fs::write(&key_path, &key_pem).expect("copying key");
        std::fs::write(&cert_path, &cert_pem).expect("copying cert");
        Self {
            alg,
            key_pem,
            cert_pem,
            key_path,
            cert_path,
            dir,
        }
    }

    /// The certificate's DER in base64 without line breaks: what `X509Certificate` carries
    /// (modulo whitespace).
    pub fn cert_base64(&self) -> String {
        self.cert_pem
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect::<String>()
    }
}

/// Base64 (RFC 4648 standard alphabet, padded) of the `alg` digest of `data`, computed by
/// `openssl dgst`: the form of an XMLDSig `DigestValue`.
///
/// Exists to check canonical bytes (e.g. an `xmlsec1` "PreDigest" dump) against a document's
/// `DigestValue` without using the crypto library of the code under test.
///
/// # Panics
/// When `openssl` is missing or fails.
pub fn openssl_digest_base64(alg: DigestAlg, data: &[u8]) -> String {
    let openssl = require_tool("openssl");
    let dir = tempfile::tempdir().expect("temp folder for digest input");
    let input = dir.path().join("data.bin");
    std::fs::write(&input, data).expect("writing digest input");
    let flag = match alg {
        DigestAlg::Sha256 => "-sha256",
        DigestAlg::Sha1 => "-sha1",
    };
    let out = run(
        Command::new(openssl)
            .args(["dgst", flag, "-binary"])
            .arg(&input),
        DEFAULT_TIMEOUT,
    );
    assert!(
        out.status.success(),
        "openssl dgst failed: {}",
        out.stderr_text()
    );
    let expected_len = match alg {
        DigestAlg::Sha256 => 32,
        DigestAlg::Sha1 => 20,
    };
    assert_eq!(out.stdout.len(), expected_len, "openssl dgst output length");
    base64_encode(&out.stdout)
}

/// Standard padded base64 of `data` (RFC 4648 §4).
///
/// Exists (instead of a dependency) so the oracle stays tiny and independent of the encoder the
/// code under test uses.
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let sextet = |shift: u32| char::from(ALPHABET[((n >> shift) & 0x3f) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (input, expected) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_encode(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(base64_encode(&[0xfb, 0xff, 0xbf]), "+/+/");
    }

    #[test]
    fn openssl_digests_known_values() {
        assert_eq!(
            openssl_digest_base64(DigestAlg::Sha256, b"abc"),
            "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="
        );
        assert_eq!(
            openssl_digest_base64(DigestAlg::Sha1, b"abc"),
            "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="
        );
    }

    fn cert_text(key: &TestKey) -> String {
        let out = run(
            Command::new(require_tool("openssl"))
                .args(["x509", "-noout", "-text", "-nameopt", "RFC2253", "-in"])
                .arg(&key.cert_path),
            DEFAULT_TIMEOUT,
        );
        assert!(out.status.success(), "{}", out.stderr_text());
        String::from_utf8(out.stdout).expect("utf-8 x509 text")
    }

    #[test]
    fn rsa_key_and_cert() {
        let key = TestKey::generate(
            KeyAlg::Rsa(2048),
            &Subject::new("emp/1.test", "Uni \\ of Test", "FI"),
        );
        assert!(key.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(
            std::fs::read_to_string(&key.key_path).ok(),
            Some(key.key_pem.clone())
        );
        let text = cert_text(&key);
        assert!(text.contains("Public-Key: (2048 bit)"), "{text}");
        assert!(
            text.contains("Subject: C=FI,O=Uni \\\\ of Test,CN=emp/1.test"),
            "{text}"
        );
        assert!(!key.cert_base64().contains('\n'));
    }

    #[test]
    fn ec_key_and_cert() {
        let key = TestKey::ec_p256();
        assert!(key.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let text = cert_text(&key);
        assert!(text.contains("NIST CURVE: P-256"), "{text}");
        assert!(text.contains("CN=EMREX Test Issuer"), "{text}");
    }

    #[test]
    fn files_vanish_with_the_key() {
        let key = TestKey::rsa(1024);
        let path = key.key_path.clone();
        assert!(path.is_file());
        drop(key);
        assert!(!path.exists());
    }
}
