//! The `emrex` container image that `scripts/image.sh` builds, run with Debian's podman.
//!
//! The image is built before the tests (`scripts/test.sh` runs `scripts/image.sh`), never by a
//! test: a release build inside `cargo test` would take the machine for many minutes and fight
//! the running cargo for its target directory. [`require_image`] fails with the command to run
//! when the image is missing, like a missing oracle ([`crate::tools::require_tool`]).
//!
//! ```no_run
//! use emrex_tests::podman::{Container, require_image};
//!
//! let image = require_image();
//! let c = Container::start(&["--read-only"], &image, &["dev", "--listen", "0.0.0.0"]);
//! let line = c.wait_for_line("emrex-dev-ready ", std::time::Duration::from_secs(60));
//! # drop(line);
//! ```

use std::process::Command;
use std::time::{Duration, Instant};

use crate::tools::{Finished, require_tool, run};

/// The image `scripts/image.sh` tags: `localhost/emrex:<workspace version>`.
pub fn image_name() -> String {
    // This crate's version is the workspace's ([workspace.package] version).
    format!("localhost/emrex:{}", env!("CARGO_PKG_VERSION"))
}

/// Runs `podman ARGS` with a time limit.
///
/// # Panics
/// When podman is missing, cannot start or overruns `timeout`.
pub fn podman(args: &[&str], timeout: Duration) -> Finished {
    run(Command::new(require_tool("podman")).args(args), timeout)
}

/// Runs `podman ARGS` and returns its standard output; panics with its standard error when it
/// fails.
pub fn podman_ok(args: &[&str]) -> String {
    let out = podman(args, Duration::from_secs(120));
    assert!(
        out.status.success(),
        "podman {} failed ({}): {}",
        args.join(" "),
        out.status,
        out.stderr_text()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The image name, after checking that podman has it.
///
/// # Panics
/// When podman or the image is missing (the message says how to build it).
pub fn require_image() -> String {
    let image = image_name();
    let out = podman(&["image", "exists", &image], Duration::from_secs(60));
    if !out.status.success() {
        panic!(
            "the image {image} is not in podman's store ({}): build it with `scripts/image.sh` \
             (scripts/test.sh does that before the tests). Tests never skip a missing image.",
            out.stderr_text().trim()
        );
    }
    image
}

/// A detached container, removed (`podman rm -f`) when dropped.
#[derive(Debug)]
pub struct Container {
    /// The container id.
    pub id: String,
}

impl Container {
    /// `podman run -d OPTIONS IMAGE ARGS`.
    ///
    /// # Panics
    /// When podman refuses to start it.
    pub fn start(options: &[&str], image: &str, args: &[&str]) -> Self {
        let mut all = vec!["run", "-d"];
        all.extend_from_slice(options);
        all.push(image);
        all.extend_from_slice(args);
        let id = podman_ok(&all).trim().to_string();
        assert!(!id.is_empty(), "podman run -d printed no container id");
        Self { id }
    }

    /// Everything the container wrote so far (standard output and error).
    pub fn logs(&self) -> String {
        let out = podman(&["logs", &self.id], Duration::from_secs(60));
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Whether the container still runs.
    pub fn running(&self) -> bool {
        podman_ok(&["inspect", "--format", "{{.State.Running}}", &self.id]).trim() == "true"
    }

    /// Waits until a log line starts with `prefix` and returns the rest of it.
    ///
    /// # Panics
    /// When the container stops or `timeout` passes first (with its logs).
    pub fn wait_for_line(&self, prefix: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let logs = self.logs();
            if let Some(rest) = logs.lines().find_map(|l| l.strip_prefix(prefix)) {
                return rest.to_string();
            }
            assert!(
                self.running(),
                "container {} stopped before printing {prefix:?}; logs:\n{logs}",
                self.id
            );
            assert!(
                Instant::now() < deadline,
                "container {} did not print {prefix:?} within {timeout:?}; logs:\n{logs}",
                self.id
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// `podman top ID DESCRIPTORS…`: one row per process, columns split on whitespace.
    pub fn top(&self, descriptors: &[&str]) -> Vec<Vec<String>> {
        let mut args = vec!["top", self.id.as_str()];
        args.extend_from_slice(descriptors);
        podman_ok(&args)
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().map(str::to_string).collect())
            .collect()
    }

    /// Stops the container with SIGTERM (`podman stop -t SECONDS`) and returns its exit code.
    pub fn stop(&self, seconds: u32) -> i64 {
        podman_ok(&["stop", "-t", &seconds.to_string(), &self.id]);
        podman_ok(&["inspect", "--format", "{{.State.ExitCode}}", &self.id])
            .trim()
            .parse()
            .unwrap_or(-1)
    }
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman(&["rm", "-f", "-t", "0", &self.id], Duration::from_secs(60));
    }
}

/// An address of this host that containers reach (through their network's gateway) and the
/// host itself too: the source address of the default route, else the first global address.
///
/// # Panics
/// When the host has no global IPv4 address.
pub fn host_address() -> String {
    let ip = require_tool("ip");
    let out = run(
        Command::new(&ip).args(["-4", "route", "get", "1.1.1.1"]),
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut words = text.split_whitespace();
    while let Some(w) = words.next() {
        if w == "src"
            && let Some(addr) = words.next()
        {
            return addr.to_string();
        }
    }
    let out = run(
        Command::new(&ip).args(["-4", "-o", "addr", "show", "scope", "global"]),
        Duration::from_secs(10),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            w.find(|x| *x == "inet")?;
            w.next()?.split('/').next().map(str::to_string)
        })
        .unwrap_or_else(|| panic!("this host has no global IPv4 address: {text}"))
}
