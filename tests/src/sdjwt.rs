//! Independent JOSE and SD-JWT VC verifiers from npm, run by Node: `jose` (panva) checks the
//! Signer's JWS against the published JWKS and the `x5c` certificate; `@sd-jwt/sd-jwt-vc` with
//! `@sd-jwt/crypto-nodejs` verifies issued SD-JWT VCs, presents them with a key-binding JWT made
//! with the holder's key and verifies that presentation; `@openid4vc/openid4vci` acts as the
//! holder's wallet in the OpenID4VCI issuance ([`wallet`]). None of it shares code with
//! `emrex-sdjwt`, the NCP or the Signer.
//!
//! The Node package is `tests/sdjwt/` (`package.json`, `package-lock.json` with exact versions,
//! `oracle.mjs`); [`ensure_node_modules`] runs `npm ci` there when `node_modules` is missing or
//! older than the lock file, as [`crate::browser::ensure_node_modules`] does for the browser tests.

use std::fs::File;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use crate::browser::{find_on_path, node, npm_ci_once, wait_with_timeout};
use crate::paths::workspace_dir;

const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// The `tests/sdjwt` folder.
pub fn sdjwt_dir() -> PathBuf {
    workspace_dir().join("tests").join("sdjwt")
}

/// What `tests/sdjwt/node_modules` must hold.
const PACKAGES: &[&str] = &[
    "jose",
    "@sd-jwt/sd-jwt-vc",
    "@sd-jwt/crypto-nodejs",
    "@openid4vc/openid4vci",
    "@openid4vc/oauth2",
];

/// Installs `tests/sdjwt/node_modules` from the lock file when needed (once per process, under an
/// exclusive file lock across processes) and returns the folder.
///
/// # Panics
/// When `node` or `npm` is missing or `npm ci` fails.
pub fn ensure_node_modules() -> PathBuf {
    static DONE: OnceLock<PathBuf> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = sdjwt_dir();
        let _ = node();
        let npm = find_on_path("npm").unwrap_or_else(|| {
            panic!("the SD-JWT oracle tests need `npm` on PATH; run ./scripts/test.sh, which installs it")
        });
        npm_ci_once(&npm, &dir, PACKAGES);
        dir
    })
    .clone()
}

/// Runs `node tests/sdjwt/oracle.mjs` with `request` on its standard input and returns its
/// verdict (`{"ok": true, …}` or `{"ok": false, "error": …}`).
///
/// # Panics
/// When Node cannot run the script, it exits with an error, or prints no JSON.
pub fn oracle(request: &Value) -> Value {
    run_script("oracle.mjs", request)
}

/// Runs `node tests/sdjwt/wallet.mjs`: npm `@openid4vc/openid4vci` as the holder's wallet takes
/// the offer `{offerUri, txCode}` (metadata, token, nonce, key proof with its own ES256 key,
/// credential) and returns what it got (`{"ok": true, "credential": …, "privateJwk": …}`) or
/// `{"ok": false, "error": …}`.
///
/// # Panics
/// As [`oracle`].
pub fn wallet(request: &Value) -> Value {
    run_script("wallet.mjs", request)
}

fn run_script(script: &str, request: &Value) -> Value {
    let dir = ensure_node_modules();
    let work = tempfile::tempdir().expect("temporary directory");
    let input = work.path().join("request.json");
    let output = work.path().join("verdict.json");
    let errors = work.path().join("stderr.log");
    std::fs::write(&input, request.to_string()).expect("write request");
    let mut cmd = Command::new(node());
    cmd.arg(dir.join(script))
        .current_dir(&dir)
        .stdin(File::open(&input).expect("open request"))
        .stdout(File::create(&output).expect("create verdict"))
        .stderr(File::create(&errors).expect("create stderr"));
    let status = wait_with_timeout(&mut cmd, RUN_TIMEOUT, &format!("node {script}"));
    let out = std::fs::read_to_string(&output).unwrap_or_default();
    let err = std::fs::read_to_string(&errors).unwrap_or_default();
    assert!(status.success(), "{script} failed ({status}): {err}\n{out}");
    serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("{script} printed no JSON ({e}): {out}\n{err}"))
}

/// One result as both sides can state it: (titles sorted and joined by `|`, grade, credits as a
/// number). The wallet tests compare the results of the ELMO a client received with those of the
/// ELM credential a wallet received, in these terms.
pub type ResultRow = (String, String, String);

/// The [`ResultRow`]s of every learning opportunity of a parsed ELMO.
pub fn elmo_results(elmo: &emrex_elmo::Elmo) -> std::collections::BTreeSet<ResultRow> {
    elmo.reports
        .iter()
        .flat_map(|r| r.all_learning_opportunities())
        .map(|l| {
            let spec = l.specifies.as_ref();
            let mut titles: Vec<String> = l.titles.iter().map(|t| t.text.clone()).collect();
            titles.sort();
            (
                titles.join("|"),
                spec.and_then(|s| s.result_label.clone())
                    .unwrap_or_default(),
                spec.and_then(|s| s.credits.first())
                    .and_then(|c| c.value.as_deref())
                    .map(number)
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// The [`ResultRow`]s of the ELM claims `claims` (a `hasClaim` array), recursively into `hasPart`.
pub fn elm_results(claims: &Value, out: &mut std::collections::BTreeSet<ResultRow>) {
    for c in claims.as_array().into_iter().flatten() {
        let mut titles = Vec::new();
        strings(&c["title"], &mut titles);
        titles.sort();
        let mut grades = Vec::new();
        strings(&c["provenBy"][0]["grade"]["noteLiteral"], &mut grades);
        let credits = c["creditReceived"][0]["point"]
            .as_str()
            .or(c["specifiedBy"]["creditPoint"][0]["point"].as_str())
            .map(number)
            .unwrap_or_default();
        out.insert((
            titles.join("|"),
            grades.into_iter().next().unwrap_or_default(),
            credits,
        ));
        elm_results(&c["hasPart"], out);
    }
}

/// Every string in `v`, depth first.
pub fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// A decimal as a number, so `7.5` and `7.50` compare equal.
fn number(decimal: &str) -> String {
    decimal
        .parse::<f64>()
        .map(|f| format!("{f}"))
        .unwrap_or_else(|_| decimal.to_string())
}
