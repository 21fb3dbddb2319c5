//! A real browser for end-to-end tests: Debian's Chromium driven by Node's `playwright-core`.
//!
//! The Node side lives in `tests/browser/` (see its `README.md`): `run-steps.mjs` runs a list of
//! JSON steps (`goto`, `fill`, `click`, `expectText`, `screenshot`, …) in one fresh headless
//! Chromium and prints one JSON verdict; `op.mjs` is the OpenID Provider used by [`crate::oidc`].
//! This module installs the Node packages when needed ([`ensure_node_modules`]) and runs step lists
//! from Rust ([`Browser::run`]), blocking, with a time limit.
//!
//! No browser is ever downloaded: the executable is `/usr/bin/chromium` (Debian's package, which
//! `scripts/test.sh` installs), or `$EMREX_CHROMIUM`.
//!
//! ```no_run
//! use emrex_tests::browser::Browser;
//! use serde_json::json;
//!
//! let out = emrex_tests::output_dir("ncp_login_page");
//! let outcome = Browser::run(
//!     &json!([
//!         {"goto": "http://127.0.0.1:8080/"},
//!         {"fill": "input[name=q]", "value": "x"},
//!         {"click": "button[type=submit]"},
//!         {"expectText": "Results"},
//!         {"screenshot": "results.png"},
//!     ]),
//!     &out,
//! );
//! outcome.assert_ok().assert_no_csp_violations();
//! ```

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use serde_json::Value;

use crate::paths::workspace_dir;

/// Environment variable naming the Chromium executable (default `/usr/bin/chromium`).
pub const CHROMIUM_ENV: &str = "EMREX_CHROMIUM";

/// Default Chromium executable: Debian's `chromium` package.
pub const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// Time limit for one whole [`Browser::run`] (Node, Chromium and every step). Steps have their own,
/// much shorter limit ([`DEFAULT_STEP_TIMEOUT`]); this one only keeps a wedged browser from hanging
/// the test suite.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Default time limit for one step (a navigation, a wait for a selector or a text).
pub const DEFAULT_STEP_TIMEOUT: Duration = Duration::from_secs(15);

/// Time limit for `npm ci`.
const NPM_TIMEOUT: Duration = Duration::from_secs(600);

/// The `tests/browser` folder (the Node package with `run-steps.mjs` and `op.mjs`).
pub fn browser_dir() -> PathBuf {
    workspace_dir().join("tests").join("browser")
}

/// The Chromium executable the harness drives (`$EMREX_CHROMIUM` or `/usr/bin/chromium`).
pub fn chromium_path() -> PathBuf {
    std::env::var_os(CHROMIUM_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(DEFAULT_CHROMIUM))
}

fn missing(what: &str) -> ! {
    panic!(
        "the browser tests need {what}; run ./scripts/test.sh, which installs them \
         (Debian packages chromium, nodejs, npm). Browser tests never skip."
    );
}

pub(crate) fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            candidate
                .metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

/// Absolute path of `node`.
///
/// # Panics
/// When `node` is not on `PATH` (the message says to run `./scripts/test.sh`).
pub fn node() -> PathBuf {
    find_on_path("node").unwrap_or_else(|| missing("`node` (Node.js 20 or later) on PATH"))
}

pub(crate) fn mtime(path: &Path) -> Option<SystemTime> {
    path.metadata().and_then(|m| m.modified()).ok()
}

/// Whether `dir/node_modules` holds what `dir/package-lock.json` asks for: npm's own record of
/// the installed tree (`node_modules/.package-lock.json`) is at least as new as the lock file and
/// every one of `packages` is there.
pub(crate) fn node_modules_fresh(dir: &Path, packages: &[&str]) -> bool {
    let modules = dir.join("node_modules");
    let (Some(installed), Some(locked)) = (
        mtime(&modules.join(".package-lock.json")),
        mtime(&dir.join("package-lock.json")),
    ) else {
        return false;
    };
    installed >= locked
        && packages
            .iter()
            .all(|p| modules.join(p).join("package.json").is_file())
}

/// Runs `npm ci --no-audit --no-fund` in `dir` unless [`node_modules_fresh`] says it is not
/// needed. Concurrent callers (threads of one test binary, test binaries run in parallel) are
/// serialised by an exclusive lock on `dir/.npm-ci.lock` and the freshness check is repeated
/// under the lock, so npm runs once; its output goes to `dir/.npm-ci.log`.
///
/// # Panics
/// When `npm ci` fails (its output is in the message) or leaves `packages` incomplete.
pub(crate) fn npm_ci_once(npm: &Path, dir: &Path, packages: &[&str]) {
    if node_modules_fresh(dir, packages) {
        return;
    }
    let lock_path = dir.join(".npm-ci.lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .unwrap_or_else(|e| panic!("creating {}: {e}", lock_path.display()));
    lock.lock()
        .unwrap_or_else(|e| panic!("locking {}: {e}", lock_path.display()));
    if !node_modules_fresh(dir, packages) {
        let log_path = dir.join(".npm-ci.log");
        let log = File::create(&log_path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", log_path.display()));
        let log_err = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cloning {}: {e}", log_path.display()));
        let mut cmd = Command::new(npm);
        cmd.args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err);
        let status = wait_with_timeout(&mut cmd, NPM_TIMEOUT, "npm ci");
        if !status.success() {
            let output = std::fs::read_to_string(&log_path).unwrap_or_default();
            panic!(
                "`npm ci` in {} failed ({status}); output:\n{output}",
                dir.display()
            );
        }
        assert!(
            node_modules_fresh(dir, packages),
            "`npm ci` in {} succeeded but node_modules is still incomplete",
            dir.display()
        );
    }
    drop(lock);
}

/// Makes sure `tests/browser/node_modules` is installed and returns the `tests/browser` folder.
///
/// Exists so that a fresh clone (CI's) needs no manual step: when `node_modules` is missing or
/// older than `package-lock.json`, this runs `npm ci --no-audit --no-fund` there (exact versions
/// from the committed lock file). Concurrent callers — threads of one test binary and test binaries
/// run in parallel (nextest) — are serialised by an exclusive lock on `tests/browser/.npm-ci.lock`,
/// and the freshness check is repeated under the lock, so npm runs once. Also checks that `node`,
/// `npm` and the Chromium executable exist, so a missing tool fails here with a clear message
/// instead of deep inside a browser run.
///
/// # Panics
/// When `node`, `npm` or Chromium is missing, or `npm ci` fails (its output is in the message).
pub fn ensure_node_modules() -> PathBuf {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = browser_dir();
        let _ = node();
        let npm = find_on_path("npm").unwrap_or_else(|| missing("`npm` on PATH"));
        let chromium = chromium_path();
        if !chromium.is_file() {
            missing(&format!(
                "Chromium at {} (set {CHROMIUM_ENV} to use another executable)",
                chromium.display()
            ));
        }
        assert!(
            dir.join("package-lock.json").is_file(),
            "{} has no package-lock.json",
            dir.display()
        );
        npm_ci_once(&npm, &dir, &["playwright-core", "oidc-provider"]);
        dir
    })
    .clone()
}

/// Starts `cmd` in its own process group and waits for it at most `timeout`; on overrun kills the
/// whole group (Node and the Chromium it started) and panics.
pub(crate) fn wait_with_timeout(cmd: &mut Command, timeout: Duration, what: &str) -> ExitStatus {
    use std::os::unix::process::CommandExt;
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what} ({shown}): {e}"));
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if Instant::now() >= deadline => {
                kill_group(&mut child);
                panic!("{what} ({shown}) did not finish within {timeout:?}; killed it");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("waiting for {what} ({shown}): {e}"),
        }
    }
}

/// Kills `child`'s process group (it was started with `process_group(0)`, so the group id is its
/// pid), then the child itself, and reaps it.
pub(crate) fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// How [`Browser::run_with_options`] runs.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Time limit for one step.
    pub step_timeout: Duration,
    /// Besides loopback, the only hosts the browser reaches: a name → the IPv4 address it
    /// resolves to; an address mapped to itself is reached as it is (Chromium's
    /// `--host-resolver-rules`, which apply to address literals too).
    pub hosts: std::collections::BTreeMap<String, String>,
    /// A CA certificate (PEM) the browser trusts besides the system's, e.g. a test ingress's.
    pub ca_file: Option<PathBuf>,
    /// Time limit for the whole run (longer for runs with `handoff` steps).
    pub run_timeout: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            step_timeout: DEFAULT_STEP_TIMEOUT,
            hosts: std::collections::BTreeMap::new(),
            ca_file: None,
            run_timeout: RUN_TIMEOUT,
        }
    }
}

/// Waits until a running step list reaches its `{"handoff": name}` step (the browser then waits
/// for [`handoff_release`]) and returns the URL the page is on.
///
/// # Panics
/// When `timeout` passes first.
pub fn handoff_wait(output_dir: &Path, name: &str, timeout: Duration) -> String {
    let ready = output_dir.join(format!("{name}.ready"));
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(url) = std::fs::read_to_string(&ready) {
            return url;
        }
        assert!(
            Instant::now() < deadline,
            "the browser did not reach handoff {name:?} within {timeout:?} ({})",
            ready.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Lets a step list waiting at `{"handoff": name}` go on (`note` becomes the step's value).
pub fn handoff_release(output_dir: &Path, name: &str, note: &str) {
    let go = output_dir.join(format!("{name}.go"));
    std::fs::write(&go, note).unwrap_or_else(|e| panic!("writing {}: {e}", go.display()));
}

/// Runs step lists in a fresh headless Chromium (see the module docs and `tests/browser/README.md`
/// for the step vocabulary).
#[derive(Debug, Clone, Copy)]
pub struct Browser;

impl Browser {
    /// Runs `steps` (a JSON array of steps) in one fresh browser, with the default step time limit
    /// ([`DEFAULT_STEP_TIMEOUT`]); screenshots and, on failure, `failure.png` / `failure.html` go
    /// into `output_dir`.
    ///
    /// Exists so a test states *what a person does* and gets back what the browser saw. The steps
    /// are also written to `output_dir/steps.json`, so a failing scenario can be rerun by hand with
    /// `node tests/browser/run-steps.mjs tests/output/<test>/steps.json` (while its servers run).
    ///
    /// Does **not** panic when a step fails: the returned [`StepsOutcome`] says so (call
    /// [`StepsOutcome::assert_ok`]).
    ///
    /// # Panics
    /// When the harness cannot run at all: tools missing, `steps` not an array, an unknown step
    /// kind (usage error), no verdict on stdout, or the run exceeding [`RUN_TIMEOUT`].
    pub fn run(steps: &Value, output_dir: &Path) -> StepsOutcome {
        Self::run_with_step_timeout(steps, output_dir, DEFAULT_STEP_TIMEOUT)
    }

    /// [`Browser::run`] with another time limit per step (e.g. short, for a test that expects a
    /// step to fail).
    pub fn run_with_step_timeout(
        steps: &Value,
        output_dir: &Path,
        step_timeout: Duration,
    ) -> StepsOutcome {
        Self::run_spec(
            steps,
            output_dir,
            &RunOptions {
                step_timeout,
                ..RunOptions::default()
            },
            serde_json::json!({}),
        )
    }

    /// [`Browser::run`] with [`RunOptions`] (time limit per step, names the browser may reach).
    pub fn run_with_options(
        steps: &Value,
        output_dir: &Path,
        options: &RunOptions,
    ) -> StepsOutcome {
        Self::run_spec(steps, output_dir, options, serde_json::json!({}))
    }

    /// [`Browser::run`] in a browser whose language is `locale` (e.g. `"de-DE"`): it sends that
    /// `Accept-Language`, as a person's browser set to that language does.
    pub fn run_in_locale(steps: &Value, output_dir: &Path, locale: &str) -> StepsOutcome {
        let extra = serde_json::json!({ "locale": locale });
        Self::run_spec(steps, output_dir, &RunOptions::default(), extra)
    }

    /// [`Browser::run_in_locale`] with every page's `<script>` elements removed on the way in, as
    /// for a person whose browser blocks them: auto-submitting pages stay, showing their button.
    /// (JavaScript stays on for the harness's own `evaluate` and `audit` steps.)
    pub fn run_without_page_scripts(
        steps: &Value,
        output_dir: &Path,
        locale: &str,
    ) -> StepsOutcome {
        let extra = serde_json::json!({ "locale": locale, "pageScripts": false });
        Self::run_spec(steps, output_dir, &RunOptions::default(), extra)
    }

    /// `extra`: the spec's optional top-level keys besides the options' (`locale`,
    /// `pageScripts`).
    fn run_spec(
        steps: &Value,
        output_dir: &Path,
        options: &RunOptions,
        extra: Value,
    ) -> StepsOutcome {
        let step_timeout = options.step_timeout;
        let dir = ensure_node_modules();
        assert!(
            steps.is_array(),
            "Browser::run wants a JSON array of steps, got {steps}"
        );
        std::fs::create_dir_all(output_dir)
            .unwrap_or_else(|e| panic!("creating {}: {e}", output_dir.display()));
        let output_dir = output_dir
            .canonicalize()
            .unwrap_or_else(|e| panic!("resolving {}: {e}", output_dir.display()));
        // Stale artefacts of an earlier run must not pass for this run's.
        for stale in ["failure.png", "failure.html", "outcome.json"] {
            let _ = std::fs::remove_file(output_dir.join(stale));
        }
        let mut spec = serde_json::json!({
            "outputDir": output_dir,
            "timeoutMs": u64::try_from(step_timeout.as_millis()).unwrap_or(u64::MAX),
            "steps": steps,
            "hosts": options.hosts,
        });
        if let Some(ca) = &options.ca_file {
            spec["caFile"] = Value::from(ca.display().to_string());
        }
        if let (Some(spec), Value::Object(extra)) = (spec.as_object_mut(), extra) {
            spec.extend(extra);
        }
        let spec_path = output_dir.join("steps.json");
        write_json(&spec_path, &spec);

        let stdout_path = output_dir.join("outcome.json");
        let stderr_path = output_dir.join("run-steps.stderr.log");
        let stdout = File::create(&stdout_path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", stdout_path.display()));
        let stderr = File::create(&stderr_path)
            .unwrap_or_else(|e| panic!("creating {}: {e}", stderr_path.display()));
        let mut cmd = Command::new(node());
        cmd.arg(dir.join("run-steps.mjs"))
            .arg(&spec_path)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr);
        let status = wait_with_timeout(&mut cmd, options.run_timeout, "the browser step runner");

        let read = |p: &Path| {
            let mut s = String::new();
            let _ = File::open(p).and_then(|mut f| f.read_to_string(&mut s));
            s
        };
        let out_text = read(&stdout_path);
        let err_text = read(&stderr_path);
        let verdict: Value = serde_json::from_str(out_text.trim()).unwrap_or_else(|e| {
            panic!(
                "run-steps.mjs ({status}) gave no JSON verdict ({e}).\nstdout:\n{out_text}\n\
                 stderr:\n{err_text}\nsteps: {}",
                spec_path.display()
            )
        });
        let outcome = StepsOutcome::from_verdict(&verdict, output_dir, err_text);
        assert_eq!(
            status.success(),
            outcome.ok,
            "run-steps.mjs exit status {status} disagrees with its verdict {out_text}"
        );
        outcome
    }
}

fn write_json(path: &Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).expect("JSON values serialise");
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// What one [`Browser::run`] produced.
#[derive(Debug, Clone)]
pub struct StepsOutcome {
    /// Every step ran and passed.
    pub ok: bool,
    /// One entry per step that ran, in order: `{"step": i, "kind": "...", "value": ..., "ms": n}`.
    pub results: Vec<Value>,
    /// Why the run failed (the step, the selector, what the page said).
    pub error: Option<String>,
    /// Index of the step that failed.
    pub failed_step: Option<usize>,
    /// What the page reported besides the steps, one line each, prefixed by its kind:
    /// `csp: ` (a `securitypolicyviolation` event), `csp-console: ` (Chromium's console message for
    /// a CSP violation), `console.error: `, `pageerror: ` (uncaught exception), `requestfailed: `,
    /// `dialog: `, `harness: `.
    pub console: Vec<String>,
    /// URL of the page when the run ended.
    pub url: Option<String>,
    /// Where screenshots, `steps.json`, `outcome.json` and failure artefacts are.
    pub output_dir: PathBuf,
    /// What Node wrote to standard error (normally nothing).
    pub stderr: String,
}

impl StepsOutcome {
    fn from_verdict(v: &Value, output_dir: PathBuf, stderr: String) -> Self {
        let strings = |key: &str| -> Vec<String> {
            v[key]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        StepsOutcome {
            ok: v["ok"].as_bool().unwrap_or(false),
            results: v["results"].as_array().cloned().unwrap_or_default(),
            error: v["error"].as_str().map(str::to_owned),
            failed_step: v["failedStep"]
                .as_u64()
                .and_then(|n| usize::try_from(n).ok()),
            console: strings("console"),
            url: v["url"].as_str().map(str::to_owned),
            output_dir,
            stderr,
        }
    }

    /// The value step `i` recorded (`text`, `html`, `url`, `evaluate`, `screenshot` path, `goto`
    /// status, …; `null` for plain actions).
    ///
    /// # Panics
    /// When step `i` did not run (the message includes the run's error).
    pub fn value(&self, i: usize) -> &Value {
        self.results
            .iter()
            .find(|r| r["step"].as_u64() == Some(i as u64))
            .map(|r| &r["value"])
            .unwrap_or_else(|| {
                panic!(
                    "step {i} has no result (ran {} steps; error: {})",
                    self.results.len(),
                    self.error.as_deref().unwrap_or("none")
                )
            })
    }

    /// The value of step `i` as a string.
    ///
    /// # Panics
    /// When step `i` did not run or its value is not a string.
    pub fn str_value(&self, i: usize) -> &str {
        let v = self.value(i);
        v.as_str()
            .unwrap_or_else(|| panic!("step {i} recorded {v}, not a string"))
    }

    /// `failure.png` in the output folder (saved when a step failed).
    pub fn failure_screenshot(&self) -> PathBuf {
        self.output_dir.join("failure.png")
    }

    /// `failure.html` in the output folder (saved when a step failed).
    pub fn failure_html(&self) -> PathBuf {
        self.output_dir.join("failure.html")
    }

    /// Panics unless every step passed; the message has the error, the last URL, the console lines
    /// and where the failure screenshot and HTML are.
    pub fn assert_ok(&self) -> &Self {
        if !self.ok {
            panic!(
                "browser run failed: {}\n  at URL: {}\n  failure screenshot: {}\n  failure HTML: {}\n  \
                 steps: {}\n  console:\n    {}\n  node stderr: {}",
                self.error.as_deref().unwrap_or("(no error message)"),
                self.url.as_deref().unwrap_or("?"),
                self.failure_screenshot().display(),
                self.failure_html().display(),
                self.output_dir.join("steps.json").display(),
                self.console.join("\n    "),
                self.stderr.trim(),
            );
        }
        self
    }

    /// The CSP violations the pages reported (the `csp: ` and `csp-console: ` lines of
    /// [`StepsOutcome::console`]).
    pub fn csp_violations(&self) -> Vec<&str> {
        self.console
            .iter()
            .map(String::as_str)
            .filter(|l| l.starts_with("csp: ") || l.starts_with("csp-console: "))
            .collect()
    }

    /// Panics when any page reported a CSP violation.
    pub fn assert_no_csp_violations(&self) -> &Self {
        let v = self.csp_violations();
        assert!(
            v.is_empty(),
            "the pages reported Content-Security-Policy violations:\n  {}",
            v.join("\n  ")
        );
        self
    }

    /// Console lines of one kind (`"console.error"`, `"pageerror"`, `"requestfailed"`, …).
    pub fn console_of(&self, kind: &str) -> Vec<&str> {
        let prefix = format!("{kind}: ");
        self.console
            .iter()
            .map(String::as_str)
            .filter(|l| l.starts_with(&prefix))
            .collect()
    }
}
