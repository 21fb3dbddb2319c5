//! Test helpers: locating the shared EMREX fixtures.

use std::path::PathBuf;

/// The fixtures directory: `$EMREX_FIXTURES` if set, else the first `shared/fixtures/emrex`
/// found in an ancestor of the crate directory or in an ancestor's parent.
pub(crate) fn fixtures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("EMREX_FIXTURES") {
        return PathBuf::from(dir);
    }
    let start = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for anc in start.ancestors() {
        let candidates = [
            Some(anc.join("shared/fixtures/emrex")),
            anc.parent().map(|p| p.join("shared/fixtures/emrex")),
        ];
        for c in candidates.into_iter().flatten() {
            if c.is_dir() {
                return c;
            }
        }
    }
    panic!(
        "EMREX fixtures not found above {}; set EMREX_FIXTURES",
        start.display()
    );
}

/// Reads a fixture file by its path relative to the fixtures directory.
pub(crate) fn fixture(rel: &str) -> Vec<u8> {
    let p = fixtures_dir().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// Every `*.xml` below `xml/` (sorted), as paths relative to the fixtures directory.
pub(crate) fn xml_fixtures() -> Vec<String> {
    let root = fixtures_dir();
    let mut out = Vec::new();
    let mut stack = vec![root.join("xml")];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "xml") {
                let rel = path.strip_prefix(&root).expect("below root");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}
