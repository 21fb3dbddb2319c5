//! Files only their owner may read: private keys and bearer tokens (issue #16 item 15).

use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

/// Writes `contents` to `path` with mode 0600. A file made with the process's umask (0644) by an
/// older version is narrowed too, before anything secret is written into it.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.set_len(0)?;
    file.write_all(contents)?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_and_existing_files_end_up_owner_only() {
        let dir = tempfile::tempdir().expect("tmp");
        let fresh = dir.path().join("fresh.key");
        write_private(&fresh, b"secret").expect("write");
        let old = dir.path().join("old.key");
        std::fs::write(&old, b"a longer old secret").expect("write");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        write_private(&old, b"new").expect("rewrite");
        for (path, body) in [(&fresh, "secret"), (&old, "new")] {
            let mode = std::fs::metadata(path).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
            assert_eq!(std::fs::read_to_string(path).expect("read"), body);
        }
    }
}
