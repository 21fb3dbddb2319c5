//! Locating the shared fixtures and the per-test output folders.

use std::path::{Path, PathBuf};

/// Relative location of the EMREX fixtures below a folder that holds `shared/`.
const FIXTURES_REL: &str = "shared/fixtures/emrex";

/// Environment variable that overrides the fixtures search.
pub const FIXTURES_ENV: &str = "EMREX_FIXTURES";

/// The workspace root (the folder holding the root `Cargo.toml`).
///
/// Exists so tests can name workspace files (and [`output_dir`] can place its folders) without
/// depending on the current directory, which cargo sets to each *package* root.
///
/// Found at *run* time: cargo sets `CARGO_MANIFEST_DIR` for every test process to the package
/// being tested, and the workspace root is the nearest ancestor holding `Cargo.lock`. The
/// compile-time value is only the fallback, because a build cache shared between two clones
/// (CI's clone and a developer's) reuses this crate's compiled code with the *other* clone's
/// path baked in.
pub fn workspace_dir() -> PathBuf {
    let compiled = Path::new(env!("CARGO_MANIFEST_DIR"));
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| compiled.to_path_buf());
    start
        .ancestors()
        .find(|a| a.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        // This crate lives at `<workspace>/tests`.
        .or_else(|| compiled.parent().map(Path::to_path_buf))
        .expect("the tests crate is one level below the workspace root")
}

/// The `shared/fixtures/emrex` folder (read-only test data; see its `SOURCES.md`).
///
/// Exists because the fixtures live *outside* the git checkout: on the development machine the
/// checkout is `/work/main` and the fixtures `/work/shared/...`; in CI the clone sits in some other
/// folder with a copy of `shared/` beside it. The search walks up from the workspace root ([`workspace_dir`])
/// and, for every ancestor `A`, tries `A/shared/fixtures/emrex` and `A/../shared/fixtures/emrex`.
/// `EMREX_FIXTURES` (a path to the `emrex` folder itself) overrides the search.
///
/// # Panics
/// When the override does not exist or nothing is found — a missing fixture set must fail loudly,
/// never turn into skipped tests.
pub fn fixtures_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(FIXTURES_ENV) {
        let dir = PathBuf::from(dir);
        assert!(
            dir.is_dir(),
            "{FIXTURES_ENV}={} is set but is not a directory",
            dir.display()
        );
        return dir;
    }
    let root = workspace_dir();
    let start = root.as_path();
    let mut tried = Vec::new();
    for ancestor in start.ancestors() {
        let candidates = [
            Some(ancestor.join(FIXTURES_REL)),
            ancestor.parent().map(|p| p.join(FIXTURES_REL)),
        ];
        for candidate in candidates.into_iter().flatten() {
            if candidate.join("SOURCES.md").is_file() {
                return candidate;
            }
            tried.push(candidate);
        }
    }
    panic!(
        "EMREX fixtures ({FIXTURES_REL}) not found above {}; tried:\n  {}\n\
         Put a copy of shared/ beside the checkout or set {FIXTURES_ENV}=/path/to/shared/fixtures/emrex",
        start.display(),
        tried
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
}

/// Path of one fixture, `rel` relative to [`fixtures_dir`] (e.g. `"certs/dk-emrex-test.cer"`).
///
/// Exists so tests name fixtures the way `SOURCES.md` does.
///
/// # Panics
/// When the file does not exist (a typo must not look like an empty test).
pub fn fixture(rel: &str) -> PathBuf {
    let path = fixtures_dir().join(rel);
    assert!(
        path.exists(),
        "fixture {rel} not found at {}",
        path.display()
    );
    path
}

/// Bytes of one fixture (see [`fixture`]).
///
/// Exists because nearly every test needs the bytes rather than the path.
pub fn read_fixture(rel: &str) -> Vec<u8> {
    let path = fixture(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading fixture {}: {e}", path.display()))
}

/// Every fixture below `sub` whose name ends in `.{ext}`, sorted, as paths relative to
/// [`fixtures_dir`] (e.g. every `xml/**/*.xml`).
///
/// Exists so "every fixture document parses"-style tests pick up new fixtures by themselves.
///
/// # Panics
/// When a folder cannot be listed.
pub fn fixture_files(sub: &str, ext: &str) -> Vec<String> {
    let root = fixtures_dir();
    let mut out = Vec::new();
    let mut stack = vec![root.join(sub)];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == ext)
                && let Ok(rel) = path.strip_prefix(&root)
            {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    out.sort();
    out
}

/// A fresh-or-reused folder `tests/output/<test_name>/` under the workspace (git-ignored).
///
/// Exists so a failing test can leave the documents it produced (signed XML, tool output) where a
/// human can inspect them, instead of in a temp folder that vanishes. Characters other than
/// `[A-Za-z0-9._-]` in `test_name` become `_`, so the folder always stays below `tests/output/`.
///
/// # Panics
/// When the folder cannot be created.
pub fn output_dir(test_name: &str) -> PathBuf {
    let safe: String = test_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let safe = if safe.is_empty() || safe.chars().all(|c| c == '.') {
        format!("_{safe}")
    } else {
        safe
    };
    let dir = workspace_dir().join("tests").join("output").join(safe);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("creating output folder {}: {e}", dir.display()));
    dir
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixtures_are_found() {
        let dir = fixtures_dir();
        assert!(dir.join("SOURCES.md").is_file(), "{}", dir.display());
        assert!(fixture("generated/GENERATED-TEST-ONLY-emp.crt").is_file());
    }

    #[test]
    fn fixture_files_lists_every_match_below_the_folder_sorted() {
        let certs = fixture_files("certs", "pem");
        assert!(
            certs.contains(&"certs/no-emrex-test-vitnemalsportalen-2022.pem".to_string()),
            "{certs:?}"
        );
        let xml = fixture_files("xml", "xml");
        assert!(xml.len() >= 14, "{xml:?}");
        assert!(xml.windows(2).all(|w| w[0] < w[1]));
        assert!(
            xml.iter()
                .all(|p| p.starts_with("xml/") && p.ends_with(".xml"))
        );
    }

    #[test]
    #[should_panic(expected = "fixture no/such/file.xml not found")]
    fn missing_fixture_panics() {
        let _ = fixture("no/such/file.xml");
    }

    #[test]
    fn output_dir_is_created_under_tests_output() {
        let dir = output_dir("paths/selftest ../x");
        assert!(dir.is_dir());
        assert_eq!(
            dir.parent().expect("has parent"),
            workspace_dir().join("tests/output")
        );
        assert_eq!(
            dir.file_name().and_then(|n| n.to_str()),
            Some("paths_selftest_.._x")
        );
        let dots = output_dir("..");
        assert_eq!(
            dots.parent().expect("has parent"),
            workspace_dir().join("tests/output")
        );
    }
}
