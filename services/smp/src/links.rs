//! Result-page links: `/result/{session}?t={token}` lets the browser that completed an exchange
//! see (and reload) its result and download the transcript, on any replica, for `links.ttl`.
//!
//! A token is `{expires}.{tag}`: `expires` in Unix seconds, `tag` the first 16 bytes of
//! HMAC-SHA256(key, `emrex-smp-link-v1 \0 session \0 expires`), base64url. The keys come from
//! `links.key_file` — one base64 key (at least 32 bytes) per line, the first signs and every one
//! verifies — so all replicas mint and accept the same links, and a key is rotated with an
//! overlap: put the new key first, keep the old one below it for `links.ttl`, then remove it.
//! The file is re-read when it changes (checked at most once a second, when a link is minted or
//! checked); a broken new file keeps the last good keys and is logged. Without a key file the
//! keys are random per process: links then work only on the replica that made them, until it
//! restarts (fine for one replica and for development).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::hmac;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// Bytes of the HMAC tag kept in a token (128 bits).
const TAG_BYTES: usize = 16;

/// Shortest accepted key.
pub const MIN_KEY_BYTES: usize = 32;

/// Most keys in a key file (the current one and those still in their overlap).
pub const MAX_KEYS: usize = 8;

/// Largest key file read.
const MAX_FILE_BYTES: u64 = 16 * 1024;

/// How often the key file is looked at, at most.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// The `[links]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinksConfig {
    /// The link keys (a mounted Secret): one base64 key per line, the first signs. Unset: a
    /// random key per process (one replica only).
    pub key_file: Option<PathBuf>,
    /// How long a result link works.
    #[serde(with = "emrex_runtime::config::duration")]
    pub ttl: Duration,
}

impl Default for LinksConfig {
    fn default() -> Self {
        Self {
            key_file: None,
            ttl: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// Why the link keys cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum LinkKeyError {
    #[error("cannot read the link key file {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the link key file {path} is larger than {MAX_FILE_BYTES} bytes")]
    TooLarge { path: PathBuf },
    #[error(
        "line {line} of the link key file {path} is not a base64 key of at least {MIN_KEY_BYTES} bytes"
    )]
    BadKey { path: PathBuf, line: usize },
    #[error("the link key file {path} holds no key")]
    Empty { path: PathBuf },
    #[error("the link key file {path} holds more than {MAX_KEYS} keys")]
    TooMany { path: PathBuf },
}

/// The keys behind result links.
pub struct LinkKeys {
    ttl: Duration,
    source: Source,
}

enum Source {
    Ephemeral(Arc<Vec<hmac::Key>>),
    File {
        path: PathBuf,
        state: Mutex<FileState>,
    },
}

struct FileState {
    checked: Instant,
    modified: Option<(SystemTime, u64)>,
    keys: Arc<Vec<hmac::Key>>,
}

impl fmt::Debug for LinkKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Ephemeral(_) => "per-process key".to_string(),
            Source::File { path, .. } => path.display().to_string(),
        };
        f.debug_struct("LinkKeys")
            .field("ttl", &self.ttl)
            .field("keys", &source)
            .finish()
    }
}

impl LinkKeys {
    /// From the `[links]` section; a configured key file must be readable and valid now.
    pub fn from_config(config: &LinksConfig) -> Result<Self, LinkKeyError> {
        match &config.key_file {
            None => Ok(Self::ephemeral(config.ttl)),
            Some(path) => {
                let keys = read_keys(path)?;
                Ok(Self {
                    ttl: config.ttl,
                    source: Source::File {
                        path: path.clone(),
                        state: Mutex::new(FileState {
                            checked: Instant::now(),
                            modified: file_stamp(path),
                            keys: Arc::new(keys),
                        }),
                    },
                })
            }
        }
    }

    /// A random key for this process only.
    pub fn ephemeral(ttl: Duration) -> Self {
        let mut key = [0u8; 32];
        // The system RNG does not fail on supported platforms; a predictable key would let
        // anyone forge links, so refuse to continue if it ever did.
        #[allow(clippy::expect_used)]
        aws_lc_rs::rand::fill(&mut key).expect("system random number generator");
        Self {
            ttl,
            source: Source::Ephemeral(Arc::new(vec![hmac::Key::new(hmac::HMAC_SHA256, &key)])),
        }
    }

    /// Whether links work on every replica (keys from a file).
    pub fn shared(&self) -> bool {
        matches!(self.source, Source::File { .. })
    }

    /// A token for `session_id`, valid for the configured TTL from now.
    pub fn mint(&self, session_id: &str) -> String {
        self.mint_at(session_id, now_unix())
    }

    fn mint_at(&self, session_id: &str, now: u64) -> String {
        let expires = now.saturating_add(self.ttl.as_secs());
        let keys = self.keys();
        // There is always at least one key (checked when loading).
        let tag = keys
            .first()
            .map(|k| tag(k, session_id, expires))
            .unwrap_or_default();
        format!(
            "{expires}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// Whether `token` is a current link token for `session_id` under any of the keys
    /// (constant-time comparisons).
    pub fn check(&self, session_id: &str, token: &str) -> bool {
        self.check_at(session_id, token, now_unix())
    }

    fn check_at(&self, session_id: &str, token: &str, now: u64) -> bool {
        let Some((expires, tag_b64)) = token.split_once('.') else {
            return false;
        };
        let Ok(expires) = expires.parse::<u64>() else {
            return false;
        };
        if expires < now {
            return false;
        }
        let Ok(given) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tag_b64) else {
            return false;
        };
        // Every key is tried (no early exit), so timing says nothing about which one matched.
        self.keys().iter().fold(false, |ok, key| {
            let expected = tag(key, session_id, expires);
            ok | aws_lc_rs::constant_time::verify_slices_are_equal(&expected, &given).is_ok()
        })
    }

    fn keys(&self) -> Arc<Vec<hmac::Key>> {
        match &self.source {
            Source::Ephemeral(keys) => keys.clone(),
            Source::File { path, state } => {
                let mut state = state.lock().unwrap_or_else(PoisonError::into_inner);
                if state.checked.elapsed() >= CHECK_EVERY {
                    state.checked = Instant::now();
                    let stamp = file_stamp(path);
                    if stamp != state.modified {
                        state.modified = stamp;
                        match read_keys(path) {
                            Ok(keys) => {
                                tracing::info!(path = %path.display(), keys = keys.len(), "link keys reloaded");
                                state.keys = Arc::new(keys);
                            }
                            Err(error) => tracing::error!(
                                error = %emrex_runtime::grpc::error_chain(&error),
                                "the changed link key file is unusable; keeping the previous keys"
                            ),
                        }
                    }
                }
                state.keys.clone()
            }
        }
    }
}

fn tag(key: &hmac::Key, session_id: &str, expires: u64) -> Vec<u8> {
    let mut ctx = hmac::Context::with_key(key);
    ctx.update(b"emrex-smp-link-v1\0");
    ctx.update(session_id.as_bytes());
    ctx.update(b"\0");
    ctx.update(expires.to_string().as_bytes());
    ctx.sign().as_ref()[..TAG_BYTES].to_vec()
}

fn read_keys(path: &Path) -> Result<Vec<hmac::Key>, LinkKeyError> {
    let read = |source| LinkKeyError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(LinkKeyError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(read)?;
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(line)
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(line))
            .ok()
            .filter(|b| b.len() >= MIN_KEY_BYTES)
            .ok_or_else(|| LinkKeyError::BadKey {
                path: path.to_path_buf(),
                line: i + 1,
            })?;
        keys.push(hmac::Key::new(hmac::HMAC_SHA256, &bytes));
    }
    if keys.is_empty() {
        return Err(LinkKeyError::Empty {
            path: path.to_path_buf(),
        });
    }
    if keys.len() > MAX_KEYS {
        return Err(LinkKeyError::TooMany {
            path: path.to_path_buf(),
        });
    }
    Ok(keys)
}

/// What tells a changed file apart (Kubernetes swaps a symlink: the target's mtime or size
/// changes with it).
fn file_stamp(path: &Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_line(byte: u8) -> String {
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    }

    fn from_file(path: &Path, ttl: Duration) -> LinkKeys {
        LinkKeys::from_config(&LinksConfig {
            key_file: Some(path.to_path_buf()),
            ttl,
        })
        .expect("keys")
    }

    #[test]
    fn replicas_sharing_a_key_file_accept_each_others_links() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("keys");
        std::fs::write(&path, format!("{}\n", key_line(1))).expect("write");
        let a = from_file(&path, Duration::from_secs(60));
        let b = from_file(&path, Duration::from_secs(60));
        let token = a.mint("session-1");
        assert!(b.check("session-1", &token), "minted on A, opened on B");
        assert!(!b.check("session-2", &token), "bound to its session");
        // A per-process key does not accept it.
        assert!(!LinkKeys::ephemeral(Duration::from_secs(60)).check("session-1", &token));
    }

    #[test]
    fn tokens_expire_and_forgeries_fail() {
        let keys = LinkKeys::ephemeral(Duration::from_secs(60));
        let token = keys.mint_at("s", 1_000);
        assert!(keys.check_at("s", &token, 1_000));
        assert!(keys.check_at("s", &token, 1_060));
        assert!(!keys.check_at("s", &token, 1_061), "expired");
        // Moving the expiry invalidates the tag.
        let (_, tag) = token.split_once('.').expect("dot");
        assert!(!keys.check_at("s", &format!("9999999999.{tag}"), 1_000));
        for bad in [
            "",
            ".",
            "1000",
            "x.y",
            "1000.",
            "1000.!!!",
            &format!("1060.{tag}x"),
        ] {
            assert!(!keys.check_at("s", bad, 1_000), "{bad:?}");
        }
    }

    #[test]
    fn rotation_keeps_old_links_working_during_the_overlap() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("keys");
        std::fs::write(&path, key_line(1)).expect("write");
        let keys = from_file(&path, Duration::from_secs(3600));
        let old = keys.mint("s");
        // Rotate: the new key first, the old one kept below it.
        std::fs::write(
            &path,
            format!(
                "{}\n# previous, remove after the TTL\n{}\n",
                key_line(2),
                key_line(1)
            ),
        )
        .expect("rotate");
        std::thread::sleep(CHECK_EVERY + Duration::from_millis(100));
        let new = keys.mint("s");
        assert_ne!(new, old, "signed with the new key");
        assert!(keys.check("s", &old) && keys.check("s", &new));
        // The old key removed: its links stop working.
        std::fs::write(&path, key_line(2)).expect("drop old");
        std::thread::sleep(CHECK_EVERY + Duration::from_millis(100));
        assert!(!keys.check("s", &old) && keys.check("s", &new));
        // A broken file keeps the last good keys.
        std::fs::write(&path, "not base64!\n").expect("break");
        std::thread::sleep(CHECK_EVERY + Duration::from_millis(100));
        assert!(keys.check("s", &new));
    }

    #[test]
    fn bad_key_files_are_refused_at_start() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("keys");
        let open = |contents: &str| {
            std::fs::write(&path, contents).expect("write");
            LinkKeys::from_config(&LinksConfig {
                key_file: Some(path.clone()),
                ..LinksConfig::default()
            })
        };
        assert!(matches!(open(""), Err(LinkKeyError::Empty { .. })));
        assert!(matches!(
            open("# only a comment\n"),
            Err(LinkKeyError::Empty { .. })
        ));
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 31]);
        assert!(matches!(
            open(&format!("{}\n{short}\n", key_line(1))),
            Err(LinkKeyError::BadKey { line: 2, .. })
        ));
        let nine: Vec<String> = (0..9).map(key_line).collect();
        assert!(matches!(
            open(&nine.join("\n")),
            Err(LinkKeyError::TooMany { .. })
        ));
        let missing = LinkKeys::from_config(&LinksConfig {
            key_file: Some(dir.path().join("absent")),
            ..LinksConfig::default()
        });
        assert!(matches!(missing, Err(LinkKeyError::Read { .. })));
    }
}
