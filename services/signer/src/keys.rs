//! Key material loaded from files, reloaded when the files change.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use emrex_xmldsig::{KeyError, PinnedCert, SigningKey};
use serde::{Deserialize, Serialize};

/// Where the key material lives, e.g. the files of a mounted Kubernetes Secret.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyFiles {
    /// Private key (PEM: PKCS#8, PKCS#1 RSA or SEC1 P-256) of the active certificate.
    pub key_file: PathBuf,
    /// The active certificate (PEM or DER); its key signs.
    pub cert_file: PathBuf,
    /// The certificate that will be active after a rotation, published in advance so verifiers
    /// know it before the first document signed with it arrives. Optional; a configured file
    /// that does not exist means "no next certificate" (the operator's Secret has `next.crt`
    /// only during a rotation).
    #[serde(default)]
    pub next_cert_file: Option<PathBuf>,
}

/// Why key material could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SignerError {
    #[error("keys.{0} is not set; the Signer needs a key and its certificate")]
    NotConfigured(&'static str),
    // The causes are printed in the messages, so they are not `source`s: said once.
    #[error("cannot read {path}: {error}")]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{what} ({path}): {error}")]
    Key {
        what: &'static str,
        path: PathBuf,
        error: KeyError,
    },
}

/// One consistent set of key material.
#[derive(Debug)]
pub struct Loaded {
    pub key: SigningKey,
    /// Certificate of `key`.
    pub active: PinnedCert,
    /// The active certificate followed by the rest of its chain as given in the certificate file
    /// (issuing CAs, for a JWS `x5c` header); just the active certificate when the file holds one.
    pub chain: Vec<PinnedCert>,
    /// The next certificate, when a rotation is under way.
    pub next: Option<PinnedCert>,
    fingerprint: Vec<u8>,
}

/// Holds the current key material and swaps in new material when the files change.
#[derive(Debug)]
pub struct KeyStore {
    files: KeyFiles,
    current: ArcSwap<Loaded>,
    last_check: Mutex<Instant>,
    check_interval: Duration,
}

impl KeyStore {
    /// Loads the files; fails when they are missing or do not belong together.
    pub fn load(files: KeyFiles, check_interval: Duration) -> Result<Self, SignerError> {
        let loaded = read(&files)?;
        Ok(Self {
            files,
            current: ArcSwap::from_pointee(loaded),
            last_check: Mutex::new(Instant::now()),
            check_interval,
        })
    }

    /// The current key material, after re-reading the files if `check_interval` has passed
    /// since the last look. A failed reload keeps the last good material (and is logged): a
    /// half-written Secret must not stop signing.
    pub fn current(&self) -> Arc<Loaded> {
        let due = match self.last_check.lock() {
            Ok(mut last) if last.elapsed() >= self.check_interval => {
                *last = Instant::now();
                true
            }
            _ => false,
        };
        if due && let Err(e) = self.reload() {
            tracing::error!(error = %e, "key reload failed; still signing with the previous key");
        }
        self.current.load_full()
    }

    /// Re-reads the files now; returns whether the material changed.
    pub fn reload(&self) -> Result<bool, SignerError> {
        let fresh = read(&self.files)?;
        if fresh.fingerprint == self.current.load().fingerprint {
            return Ok(false);
        }
        tracing::info!(
            active = %fresh.active.sha256_hex(),
            next = fresh.next.as_ref().map(|c| c.sha256_hex()).unwrap_or_default(),
            "signing key material reloaded"
        );
        self.current.store(Arc::new(fresh));
        Ok(true)
    }
}

fn read_file(path: &PathBuf) -> Result<Vec<u8>, SignerError> {
    std::fs::read(path).map_err(|source| SignerError::Read {
        path: path.clone(),
        error: source,
    })
}

fn read(files: &KeyFiles) -> Result<Loaded, SignerError> {
    if files.key_file.as_os_str().is_empty() {
        return Err(SignerError::NotConfigured("key_file"));
    }
    if files.cert_file.as_os_str().is_empty() {
        return Err(SignerError::NotConfigured("cert_file"));
    }
    let key_pem = read_file(&files.key_file)?;
    let cert = read_file(&files.cert_file)?;
    let key = SigningKey::from_pem(&key_pem, &cert).map_err(|source| SignerError::Key {
        what: "signing key and certificate",
        path: files.key_file.clone(),
        error: source,
    })?;
    let active = key.certificate().clone();
    // The rest of a PEM bundle is the chain; a DER file (or one certificate) is the leaf alone.
    let chain = match PinnedCert::all_from_pem(&cert) {
        Ok(all) if all.first() == Some(&active) => all,
        _ => vec![active.clone()],
    };
    let mut fingerprint = active.sha256_fingerprint().to_vec();
    // The key itself is part of the identity of the material (same cert, new key is impossible
    // because they must match, but hash it anyway so any change of the file is noticed).
    fingerprint.extend_from_slice(content_hash(&key_pem).as_slice());
    let next = match &files.next_cert_file {
        // A mounted Secret holds `next.crt` only during a rotation: absent means no next one.
        Some(p) if matches!(std::fs::metadata(p), Err(e) if e.kind() == std::io::ErrorKind::NotFound) => {
            None
        }
        Some(p) => {
            let bytes = read_file(p)?;
            let c = PinnedCert::from_pem_or_der(&bytes).map_err(|source| SignerError::Key {
                what: "next certificate",
                path: p.clone(),
                error: source,
            })?;
            fingerprint.extend_from_slice(&c.sha256_fingerprint());
            Some(c)
        }
        None => None,
    };
    Ok(Loaded {
        key,
        active,
        chain,
        next,
        fingerprint,
    })
}

/// A cheap content hash (not security relevant; only detects change).
fn content_hash(bytes: &[u8]) -> Vec<u8> {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish().to_le_bytes().to_vec()
}
