//! The figures of issue #14, written by the benches as JSON lines so `scripts/bench.sh` can print
//! them (`figure NAME VALUE`) without scraping each bench's own output.
//!
//! Each line: `{"figure": NAME, "value": NUMBER, "detail": TEXT, "bench": BENCH, "unix": SECONDS}`.
//! The file is `$EMREX_FIGURES` when set (the script sets it), otherwise
//! `$CARGO_TARGET_DIR/emrex-figures.jsonl`, otherwise `<workspace>/target/emrex-figures.jsonl`.
//! Lines are appended: the reader takes the last line of each figure.
//!
//! Conventions (the issue's): "ours ÷ theirs" is above 1 when we are faster; "× floor" and
//! "p99 ÷ p50" are costs (lower is better).

use std::io::Write as _;
use std::path::PathBuf;

/// Where [`record`] writes.
pub fn figures_file() -> PathBuf {
    if let Some(p) = std::env::var_os("EMREX_FIGURES") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::workspace_dir().join("target"));
    target.join("emrex-figures.jsonl")
}

/// Appends one figure, and prints it the way `scripts/bench.sh` does. A non-finite value is
/// refused (printed as a note, not recorded): a figure is a measurement or nothing.
pub fn record(bench: &str, name: &str, value: f64, detail: &str) {
    if !value.is_finite() {
        eprintln!("figure {name}: not recorded, the measurement gave {value} ({detail})");
        return;
    }
    println!("figure {name} {value:.3}  ({detail})");
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let line = serde_json::json!({
        "figure": name,
        "value": value,
        "detail": detail,
        "bench": bench,
        "unix": unix,
    });
    let path = figures_file();
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        eprintln!("figure {name}: cannot append to {}: {e}", path.display());
    }
}
