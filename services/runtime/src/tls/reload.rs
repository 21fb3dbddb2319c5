//! A value built from files that is rebuilt when the files change on disk.
//!
//! Why a check on the handshake path instead of a file watcher or a background task: it needs
//! no runtime, no extra thread and no inotify (which misses Kubernetes' symlink swaps unless the
//! parent directory is watched); a `stat` of two or three files at most once per second is
//! negligible next to a TLS handshake. The price is that a change is only noticed by the next
//! handshake, which is exactly when it matters.
//!
//! Failure policy: a reload that fails (unreadable file, bad PEM, key not matching the
//! certificate, …) keeps the last good value and logs an error once per change of the files;
//! the next change is tried again. This also covers a Secret update that lands the certificate
//! before the key: the first attempt fails, the second (one check later) succeeds.

use std::{
    fmt,
    path::PathBuf,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use arc_swap::ArcSwap;

use super::TlsError;
use crate::metrics::TlsMetrics;

type Loader<T> = Box<dyn Fn() -> Result<T, TlsError> + Send + Sync>;

/// `T` from the files at `paths`, re-read on change.
pub(crate) struct Reloading<T> {
    what: &'static str,
    paths: Vec<PathBuf>,
    load: Loader<T>,
    current: ArcSwap<T>,
    check: Mutex<CheckState>,
    interval: Duration,
    metrics: Option<TlsMetrics>,
}

struct CheckState {
    last_check: Instant,
    stamps: Vec<Option<FileStamp>>,
}

/// What we compare to notice a change: modification time, size and (on Unix) inode. Kubernetes
/// replaces Secret files by swapping a symlink to a new directory, so the inode changes even
/// when the size and the second of the mtime do not.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    #[cfg(unix)]
    inode: u64,
}

fn stamp(path: &PathBuf) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    Some(FileStamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        #[cfg(unix)]
        inode: std::os::unix::fs::MetadataExt::ino(&meta),
    })
}

impl<T: Send + Sync + 'static> Reloading<T> {
    /// Loads once now (an error here is fatal: there is no last good value yet).
    pub(crate) fn new(
        what: &'static str,
        paths: Vec<PathBuf>,
        interval: Duration,
        metrics: Option<TlsMetrics>,
        load: impl Fn() -> Result<T, TlsError> + Send + Sync + 'static,
    ) -> Result<Self, TlsError> {
        let stamps = paths.iter().map(stamp).collect();
        let first = load()?;
        if let Some(m) = &metrics {
            m.reloaded(what, true);
        }
        tracing::debug!(what, files = ?paths, "loaded TLS material");
        Ok(Self {
            what,
            paths,
            load: Box::new(load),
            current: ArcSwap::from_pointee(first),
            check: Mutex::new(CheckState {
                last_check: Instant::now(),
                stamps,
            }),
            interval,
            metrics,
        })
    }

    /// The current value, after re-reading the files if they changed (checked at most once per
    /// `interval`; concurrent callers never wait for a check in progress).
    pub(crate) fn get(&self) -> Arc<T> {
        self.maybe_reload();
        self.current.load_full()
    }

    fn maybe_reload(&self) {
        let Ok(mut state) = self.check.try_lock() else {
            return;
        };
        if state.last_check.elapsed() < self.interval {
            return;
        }
        state.last_check = Instant::now();
        // Stamp before loading: if the files change again while we read them, the next check
        // sees a new stamp and loads once more.
        let stamps: Vec<_> = self.paths.iter().map(stamp).collect();
        if stamps == state.stamps {
            return;
        }
        state.stamps = stamps;
        match (self.load)() {
            Ok(value) => {
                self.current.store(Arc::new(value));
                tracing::info!(what = self.what, files = ?self.paths, "reloaded TLS material after a change on disk");
                if let Some(m) = &self.metrics {
                    m.reloaded(self.what, true);
                }
            }
            Err(error) => {
                tracing::error!(
                    what = self.what,
                    files = ?self.paths,
                    %error,
                    "TLS files changed but could not be loaded; keeping the last good version"
                );
                if let Some(m) = &self.metrics {
                    m.reloaded(self.what, false);
                }
            }
        }
    }
}

impl<T> fmt::Debug for Reloading<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reloading")
            .field("what", &self.what)
            .field("paths", &self.paths)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn parse(path: &PathBuf) -> Result<u32, TlsError> {
        let text = std::fs::read_to_string(path).map_err(|source| TlsError::Read {
            path: path.clone(),
            error: source,
        })?;
        text.trim()
            .parse()
            .map_err(|_| TlsError::NoCertificates { path: path.clone() })
    }

    #[test]
    fn reloads_on_change_and_keeps_last_good_value() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("n");
        std::fs::write(&path, "1").expect("write");
        let loads = Arc::new(AtomicUsize::new(0));
        let (p, l) = (path.clone(), loads.clone());
        let r = Reloading::new(
            "test",
            vec![path.clone()],
            Duration::ZERO,
            None,
            move || {
                l.fetch_add(1, Ordering::SeqCst);
                parse(&p)
            },
        )
        .expect("first load");
        assert_eq!(*r.get(), 1);
        // Unchanged files are not re-read.
        assert_eq!(*r.get(), 1);
        assert_eq!(loads.load(Ordering::SeqCst), 1);

        let tmp = dir.path().join("n.tmp");
        std::fs::write(&tmp, "22").expect("write");
        std::fs::rename(&tmp, &path).expect("rename");
        assert_eq!(*r.get(), 22);

        std::fs::write(&tmp, "garbage").expect("write");
        std::fs::rename(&tmp, &path).expect("rename");
        assert_eq!(*r.get(), 22, "a bad file keeps the last good value");
        assert_eq!(*r.get(), 22);
        assert_eq!(
            loads.load(Ordering::SeqCst),
            3,
            "a bad file is tried once per change"
        );

        std::fs::remove_file(&path).expect("remove");
        assert_eq!(*r.get(), 22, "a missing file keeps the last good value");
    }

    #[test]
    fn checks_at_most_once_per_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("n");
        std::fs::write(&path, "1").expect("write");
        let p = path.clone();
        let r = Reloading::new(
            "test",
            vec![path.clone()],
            Duration::from_secs(3600),
            None,
            move || parse(&p),
        )
        .expect("first load");
        let tmp = dir.path().join("n.tmp");
        std::fs::write(&tmp, "2").expect("write");
        std::fs::rename(&tmp, &path).expect("rename");
        assert_eq!(*r.get(), 1, "not re-checked before the interval");
    }
}
