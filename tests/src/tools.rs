//! Finding external tools and running them with a time limit.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Default time limit for one tool run. The tools answer in well under a second on the fixtures;
/// the limit only keeps a wedged process from hanging the test suite.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// How to install a tool we know about (shown in the panic message).
fn install_hint(name: &str) -> String {
    match name {
        "xmlsec1" => "apt-get install -y xmlsec1".to_owned(),
        "xmllint" => "apt-get install -y libxml2-utils".to_owned(),
        "openssl" => "apt-get install -y openssl".to_owned(),
        "python3" => "apt-get install -y python3 python3-pip".to_owned(),
        other => format!("install `{other}`"),
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Absolute path of the external tool `name`, looked up on `PATH`.
///
/// Exists because an oracle that is silently skipped proves nothing: if the tool is missing the
/// test **fails**. Under CI (`CI` set) the message says that `.ci/run` (i.e. `scripts/test.sh`)
/// should have installed it; elsewhere it names the Debian package to install.
///
/// # Panics
/// When the tool is not on `PATH`.
pub fn require_tool(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if is_executable(&candidate) {
                return candidate;
            }
        }
    }
    let hint = install_hint(name);
    if std::env::var_os("CI").is_some() {
        panic!(
            "required tool `{name}` is not on PATH in CI: .ci/run (scripts/test.sh) should have \
             installed it ({hint}); fix the CI setup rather than skipping the test"
        );
    }
    panic!(
        "required tool `{name}` is not on PATH; install it with `sudo {hint}` \
         (or run ./scripts/test.sh, which installs what is missing). Tests never skip a missing oracle."
    );
}

/// Asserts that the Python module `module` imports in `python3` (checked once per module).
///
/// Exists for the `signxml` oracle: `python3` being present says nothing about `signxml`/`lxml`,
/// and an `ImportError` deep inside a verification would read like a verification failure.
///
/// # Panics
/// When the module cannot be imported (message names the pip package).
pub fn require_python_module(module: &str) {
    static CHECKED: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| Mutex::new(Vec::new()));
    {
        let done = checked.lock().unwrap_or_else(|e| e.into_inner());
        if done.iter().any(|m| m == module) {
            return;
        }
    }
    let python = require_tool("python3");
    let out = run(
        Command::new(python).args(["-c", &format!("import {module}")]),
        DEFAULT_TIMEOUT,
    );
    if !out.status.success() {
        let pkg = match module {
            "signxml" | "lxml" => "signxml lxml",
            other => other,
        };
        let err = String::from_utf8_lossy(&out.stderr);
        if std::env::var_os("CI").is_some() {
            panic!(
                "Python module `{module}` is not importable by python3 in CI: .ci/run \
                 (scripts/test.sh) should have installed it (`python3 -m pip install {pkg}`); \
                 error:\n{err}"
            );
        }
        panic!(
            "Python module `{module}` is not importable by python3; install it with \
             `python3 -m pip install {pkg}` (or run ./scripts/test.sh). Tests never skip a \
             missing oracle. Error:\n{err}"
        );
    }
    checked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(module.to_owned());
}

/// What a finished tool run produced.
#[derive(Debug)]
pub struct Finished {
    /// Exit status.
    pub status: ExitStatus,
    /// Everything written to standard output.
    pub stdout: Vec<u8>,
    /// Everything written to standard error.
    pub stderr: Vec<u8>,
}

impl Finished {
    /// Standard error as (lossy) text, for error messages.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Runs `cmd` (stdin closed, stdout/stderr captured) and waits at most `timeout`.
///
/// Exists so every oracle call is bounded: the output pipes are drained on their own threads (no
/// pipe-buffer deadlock on large debug dumps) and a process that overruns is killed.
///
/// # Panics
/// When the process cannot be started or overruns `timeout` — both are environment failures, not
/// verdicts of the oracle.
pub fn run(cmd: &mut Command, timeout: Duration) -> Finished {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {shown}: {e}"));
    let mut out_pipe = child.stdout.take().expect("stdout is piped");
    let mut err_pipe = child.stderr.take().expect("stderr is piped");
    let out_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out_pipe.read_to_end(&mut buf);
        buf
    });
    let err_thread = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err_pipe.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{shown} did not finish within {timeout:?}; killed it");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("waiting for {shown}: {e}"),
        }
    };
    let stdout = out_thread.join().expect("stdout reader thread");
    let stderr = err_thread.join().expect("stderr reader thread");
    Finished {
        status,
        stdout,
        stderr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sh() {
        assert!(require_tool("sh").is_absolute());
    }

    #[test]
    #[should_panic(expected = "required tool `emrex-no-such-tool-xyz` is not on PATH")]
    fn missing_tool_panics() {
        let _ = require_tool("emrex-no-such-tool-xyz");
    }

    #[test]
    fn run_captures_both_streams() {
        let out = run(
            Command::new(require_tool("sh")).args(["-c", "echo out; echo err >&2; exit 3"]),
            DEFAULT_TIMEOUT,
        );
        assert_eq!(out.status.code(), Some(3));
        assert_eq!(out.stdout, b"out\n");
        assert_eq!(out.stderr, b"err\n");
    }

    #[test]
    #[should_panic(expected = "did not finish within")]
    fn run_kills_overrunning_process() {
        let _ = run(
            Command::new(require_tool("sleep")).arg("10"),
            Duration::from_millis(200),
        );
    }
}
