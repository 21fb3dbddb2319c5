//! The lock on `emrex dev`'s data directory.
//!
//! Two `emrex dev` on one directory would each rewrite the development NCP's EMREG entry with
//! their own port and share SQLite files, so each would silently break the other (issue #16 item
//! 14). The first one takes an exclusive advisory lock (`flock`) on `emrex-dev.lock` in the
//! directory and writes who it is into the file; a second one fails at once and says who holds it.
//! The operating system drops the lock when the holder exits, however it exits, so a crash never
//! leaves a stale lock behind.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "emrex-dev.lock";

/// The most of the lock file read to say who holds it (it holds one short line).
const MAX_HOLDER_BYTES: u64 = 512;

/// Why the data directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "the data directory {dir} is in use by another `emrex dev` ({holder}); stop that one or \
         give this one another --data-dir"
    )]
    Held { dir: PathBuf, holder: String },
    /// The lock file could not be opened, locked or written.
    #[error("locking the data directory through {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Held while `emrex dev` runs; dropping it (or the process ending) releases the directory.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Locks `dir` (which must exist) for this process, recording `who` (e.g. the process id and
    /// its ports) for a second process to report.
    pub fn acquire(dir: &Path, who: &str) -> Result<Self, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                // Best effort: the holder may be rewriting it this instant.
                let _ = (&mut file).take(MAX_HOLDER_BYTES).read_to_string(&mut text);
                return Err(LockError::Held {
                    dir: dir.to_path_buf(),
                    holder: describe_holder(&text),
                });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(format!("{}\n", who.trim()).as_bytes())
            .map_err(io)?;
        Ok(Self { _file: file })
    }
}

/// What a second process says about the holder: the first line of the lock file, or that it
/// did not say.
fn describe_holder(contents: &str) -> String {
    let line: String = contents
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    if line.is_empty() {
        "a process that has not said who it is yet".to_string()
    } else {
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_directory_is_refused_naming_the_holder_and_freed_on_drop() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = DataDirLock::acquire(dir.path(), "pid 1, SMP on port 8080").expect("first");
        let err = DataDirLock::acquire(dir.path(), "pid 2").expect_err("second");
        let text = err.to_string();
        assert!(matches!(err, LockError::Held { .. }), "{text}");
        assert!(text.contains("pid 1, SMP on port 8080"), "{text}");
        assert!(text.contains("--data-dir"), "{text}");
        drop(first);
        let _again = DataDirLock::acquire(dir.path(), "pid 3").expect("free again");
        let written = std::fs::read_to_string(dir.path().join(LOCK_FILE)).expect("read");
        assert_eq!(written, "pid 3\n");
    }

    #[test]
    fn the_holder_line_is_one_clean_line() {
        assert_eq!(describe_holder("pid 7\nmore"), "pid 7");
        assert_eq!(describe_holder("pid\u{1b}[31m 7"), "pid[31m 7");
        assert!(describe_holder("").contains("not said"));
    }
}
