//! A real OpenID Provider on loopback for end-to-end tests: the npm package `oidc-provider`, run by
//! `tests/browser/op.mjs` (see `tests/browser/README.md`).
//!
//! What it offers a relying party under test (the NCP's student login):
//!
//! * issuer `http://127.0.0.1:PORT` with discovery at `/.well-known/openid-configuration`, keys at
//!   `/jwks` (a fresh RS256 key per start);
//! * the authorization code flow only, **PKCE S256 required**; token endpoint authentication
//!   `client_secret_basic` or `client_secret_post`;
//! * a login form (`input[name=login]`, `input[name=password]`, `button[type=submit]`) where the
//!   user types an account's `login` (or its `sub`) and any password; consent is automatic; an
//!   unknown login ends the flow at the redirect URI with `error=access_denied`;
//! * the ID token carries every claim of the account (scope `profile` covers them all, and claims
//!   go into the ID token, not only the userinfo response).
//!
//! ```no_run
//! use emrex_tests::oidc::{OpAccount, OpClient, OpConfig, OpenIdProvider};
//! use serde_json::json;
//!
//! let op = OpenIdProvider::start(&OpConfig {
//!     clients: vec![OpClient {
//!         client_id: "ncp".into(),
//!         client_secret: "secret".into(),
//!         redirect_uris: vec!["http://127.0.0.1:8080/callback".into()],
//!     }],
//!     accounts: vec![OpAccount::new("anna", json!({
//!         "given_name": "Anna", "family_name": "Ånström", "birthdate": "1999-01-02",
//!     }))],
//!     ..OpConfig::default()
//! });
//! println!("issuer: {}", op.issuer);
//! // dropped: the provider process is killed
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::browser::{ensure_node_modules, kill_group, node};

/// How long [`OpenIdProvider::start`] waits for the provider to listen.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A relying party registered at the provider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpClient {
    /// `client_id`.
    pub client_id: String,
    /// `client_secret` (for `client_secret_basic` or `client_secret_post`).
    pub client_secret: String,
    /// Exact redirect URIs the client may use.
    pub redirect_uris: Vec<String>,
}

/// A user who can log in at the provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpAccount {
    /// The subject identifier (the `sub` claim).
    pub sub: String,
    /// What the user types into the login form (the `sub` works too).
    pub login: String,
    /// The user's claims (`given_name`, `family_name`, `birthdate`, `email`, or any custom claim
    /// such as `schac_personal_unique_code`); all of them reach the ID token under scope `profile`.
    pub claims: serde_json::Map<String, Value>,
}

impl OpAccount {
    /// An account whose `sub` and `login` are both `login`, with `claims` (a JSON object).
    ///
    /// # Panics
    /// When `claims` is not a JSON object.
    pub fn new(login: &str, claims: Value) -> Self {
        let Value::Object(claims) = claims else {
            panic!("OpAccount claims must be a JSON object, got {claims}");
        };
        OpAccount {
            sub: login.to_owned(),
            login: login.to_owned(),
            claims,
        }
    }
}

/// What [`OpenIdProvider::start`] serves.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpConfig {
    /// Registered clients (at least one).
    pub clients: Vec<OpClient>,
    /// Users.
    pub accounts: Vec<OpAccount>,
    /// Extra scopes and the claims each one releases (e.g. `"emrex" → ["schac_personal_unique_code"]`).
    /// Not needed for claims of the accounts: scope `profile` already releases all of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scopes: BTreeMap<String, Vec<String>>,
    /// The IPv4 address to listen on (default `127.0.0.1`), e.g. one a container or a Pod can
    /// reach; the issuer names it unless [`OpConfig::issuer`] is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Serve HTTPS with this certificate and key (PEM files) instead of HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<OpTls>,
    /// The issuer as relying parties see it when a reverse proxy sits in front (e.g.
    /// `https://login.example/realms/students`): the proxy must pass `Host` and
    /// `X-Forwarded-Proto` on and strip the issuer's path. Default: [`OpenIdProvider::listen`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// The provider's TLS certificate and key (PEM files).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpTls {
    /// Certificate chain.
    pub cert_file: std::path::PathBuf,
    /// Private key.
    pub key_file: std::path::PathBuf,
}

/// A running `oidc-provider` (Node) on `127.0.0.1` (or [`OpConfig::host`]), killed when dropped.
///
/// Its standard input is a pipe held by this value, so even when the test process dies without
/// running `Drop` (SIGKILL), the provider sees end-of-file and exits: no orphans.
#[derive(Debug)]
pub struct OpenIdProvider {
    /// The issuer, `http://127.0.0.1:PORT` (no trailing slash), or [`OpConfig::issuer`].
    pub issuer: String,
    /// Where the provider itself listens, `http(s)://HOST:PORT`.
    pub listen: String,
    child: Child,
    stderr: Arc<Mutex<String>>,
    _config_dir: tempfile::TempDir,
}

impl OpenIdProvider {
    /// Starts the provider with `config` on a free loopback port and waits until it listens.
    ///
    /// # Panics
    /// When Node or the packages are missing (see [`ensure_node_modules`]), the process fails to
    /// start, or it does not announce its issuer within [`START_TIMEOUT`] (its stderr is in the
    /// message).
    pub fn start(config: &OpConfig) -> Self {
        let dir = ensure_node_modules();
        let config_dir = tempfile::tempdir().expect("creating a temp folder for the OP config");
        let config_path = config_dir.path().join("op-config.json");
        let mut json = serde_json::to_value(config).expect("OpConfig serialises");
        json["port"] = Value::from(0);
        std::fs::write(
            &config_path,
            serde_json::to_vec_pretty(&json).expect("JSON serialises"),
        )
        .unwrap_or_else(|e| panic!("writing {}: {e}", config_path.display()));

        Self::spawn(&dir, &config_path, config_dir, config)
    }

    fn spawn(
        dir: &Path,
        config_path: &Path,
        config_dir: tempfile::TempDir,
        config: &OpConfig,
    ) -> Self {
        let (tls, host, public_issuer) = (
            config.tls.is_some(),
            config.host.clone(),
            config.issuer.clone(),
        );
        use std::os::unix::process::CommandExt;
        let mut child = Command::new(node())
            .arg(dir.join("op.mjs"))
            .arg(config_path)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start node op.mjs: {e}"));

        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr is piped");
        let err_buf = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let text = String::from_utf8_lossy(&chunk[..n]);
                err_buf
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push_str(&text);
            }
        });

        let out_pipe = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(out_pipe).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // Keep draining so the provider never blocks on a full pipe.
            for _ in lines {}
        });

        let mut op = OpenIdProvider {
            issuer: String::new(),
            listen: String::new(),
            child,
            stderr,
            _config_dir: config_dir,
        };
        let line = match rx.recv_timeout(START_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            Ok(other) => {
                let status = op.child.wait().ok();
                std::thread::sleep(Duration::from_millis(100));
                panic!(
                    "op.mjs exited ({status:?}) without announcing its issuer ({other:?}); stderr:\n{}",
                    op.stderr_log()
                );
            }
            Err(_) => panic!(
                "op.mjs did not announce its issuer within {START_TIMEOUT:?}; stderr:\n{}",
                op.stderr_log()
            ),
        };
        let announced: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            panic!(
                "op.mjs printed {line:?}, not JSON ({e}); stderr:\n{}",
                op.stderr_log()
            )
        });
        let (Some(issuer), Some(listen)) =
            (announced["issuer"].as_str(), announced["listen"].as_str())
        else {
            panic!("op.mjs announced {line:?}, without an issuer and a listen address")
        };
        let scheme = if tls { "https" } else { "http" };
        let host = host.as_deref().unwrap_or("127.0.0.1");
        assert!(
            listen.starts_with(&format!("{scheme}://{host}:")),
            "op.mjs announced an unexpected listen address {listen:?}"
        );
        assert!(
            issuer == public_issuer.as_deref().unwrap_or(listen),
            "op.mjs announced an unexpected issuer {issuer:?}"
        );
        op.issuer = issuer.to_owned();
        op.listen = listen.to_owned();
        op
    }

    /// `{issuer}/.well-known/openid-configuration`.
    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    /// Everything the provider wrote to standard error so far (start-up warnings, errors, each
    /// rejected login and failed authorization) — useful in assertion messages.
    pub fn stderr_log(&self) -> String {
        self.stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the provider process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        // Closing stdin alone would end it too; killing is immediate and also covers a wedged one.
        drop(self.child.stdin.take());
        kill_group(&mut self.child);
    }
}
