//! Shared test helpers: fixtures, certificates, entries, and one fresh store per test for each
//! back end. Each test binary uses a different subset, hence `dead_code` is allowed.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use emrex_emreg::{Country, Entry, PostgresStore, SqliteStore, ValidationOptions};

/// A fixture's text (the fixtures are found by `emrex-tests`).
pub fn fixture_text(relative: &str) -> String {
    let path = emrex_tests::fixture(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh self-signed ECDSA P-256 certificate (PEM).
pub fn ec_cert() -> String {
    ec_cert_valid(2020, 2090)
}

/// A fresh ECDSA P-256 certificate valid from 1 January `from` to 1 January `to`.
pub fn ec_cert_valid(from: i32, to: i32) -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params =
        rcgen::CertificateParams::new(vec!["emp.test.invalid".into()]).expect("params");
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(to, 1, 1);
    params.self_signed(&key).expect("cert").pem()
}

/// RSA-2048 (the generated fixture certificate).
pub fn rsa2048_cert() -> String {
    fixture_text("generated/GENERATED-TEST-ONLY-emp.crt")
}

/// RSA-1024 (the CSC test certificate of 2015): too weak, must be refused.
pub fn rsa1024_cert() -> String {
    fixture_text("certs/fi-csc-test-2015.crt")
}

pub fn entry(acronym: &str, country: &str) -> Entry {
    Entry {
        acronym: acronym.into(),
        country_code: country.into(),
        institutions: vec![format!("{acronym} University")],
        url: format!("https://{}.emp.example/emrex", acronym.to_lowercase()),
        certificates: vec![ec_cert()],
        ..Entry::default()
    }
}

pub fn country(code: &str, name: &str, single_fetch: bool) -> Country {
    Country {
        code: code.into(),
        name: name.into(),
        single_fetch,
    }
}

/// A store for one test, with whatever keeps its database alive.
pub struct TestStore<S> {
    pub store: Arc<S>,
    /// The SQLite file, for tests that open it a second time (as another process would).
    pub path: Option<PathBuf>,
    _dir: Option<tempfile::TempDir>,
}

pub async fn sqlite_store() -> TestStore<SqliteStore> {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("emreg.db");
    let store = SqliteStore::open(&path, ValidationOptions::default())
        .await
        .expect("open sqlite store");
    TestStore {
        store: Arc::new(store),
        path: Some(path),
        _dir: Some(dir),
    }
}

/// The PostgreSQL test database. Never skips: without it the test fails and says what to run.
pub fn postgres_url() -> String {
    match std::env::var("EMREX_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "EMREX_TEST_POSTGRES_URL is not set. The PostgreSQL back-end tests need a database: run \
             `eval \"$(scripts/postgres-test-db.sh)\"` from the workspace root (it installs and \
             starts a local PostgreSQL if needed and prints the export line), then rerun the tests."
        ),
    }
}

/// A store in a schema of its own (`emreg_<name>`, dropped and recreated), so tests run in
/// parallel in one database and reruns start clean.
pub async fn postgres_store(name: &str) -> TestStore<PostgresStore> {
    let url = postgres_url();
    let schema = format!("emreg_{name}");
    drop_schema(&url, &schema).await;
    let store = PostgresStore::connect_in_schema(&url, &schema, ValidationOptions::default())
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    TestStore {
        store: Arc::new(store),
        path: None,
        _dir: None,
    }
}

/// A second store (another replica) on the schema [`postgres_store`] made for `name`.
pub async fn postgres_store_again(name: &str) -> TestStore<PostgresStore> {
    let url = postgres_url();
    let store = PostgresStore::connect_in_schema(
        &url,
        &format!("emreg_{name}"),
        ValidationOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    TestStore {
        store: Arc::new(store),
        path: None,
        _dir: None,
    }
}

async fn drop_schema(url: &str, schema: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut conn)
    .await
    .expect("drop schema");
    conn.close().await.expect("close");
}

/// Validates `json` against the JSON Schema file with Python's `jsonschema` (an implementation
/// that shares nothing with ours). Fails — never skips — when Python or the package is missing.
pub fn python_jsonschema_validate(schema: &Path, json: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    const SCRIPT: &str = r#"
import json, sys
try:
    import jsonschema
except ImportError:
    print("IMPORT-ERROR: Python package jsonschema is missing: pip install jsonschema", file=sys.stderr)
    sys.exit(3)
schema = json.load(open(sys.argv[1]))
doc = json.load(sys.stdin)
cls = jsonschema.validators.validator_for(schema)
errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("/".join(map(str, e.path)) + ": " + e.message, file=sys.stderr)
sys.exit(1 if errors else 0)
"#;
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(SCRIPT)
        .arg(schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 (needed to validate with jsonschema): {e}"));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(json)
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    match out.status.code() {
        Some(0) => Ok(()),
        Some(3) => panic!(
            "{stderr}\nInstall it with `python3 -m pip install jsonschema` (add \
             --break-system-packages on Debian) and rerun."
        ),
        Some(1) => Err(stderr),
        other => panic!("python3 jsonschema check failed ({other:?}): {stderr}"),
    }
}

/// A response of an HTTP router, read whole.
pub struct Fetched {
    pub status: axum::http::StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

/// Sends `request` to `router` in process and reads the whole response.
pub async fn send(router: axum::Router, request: axum::http::Request<axum::body::Body>) -> Fetched {
    use tower::ServiceExt as _;
    let resp = router.oneshot(request).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body")
        .to_vec();
    Fetched {
        status,
        headers,
        body,
    }
}
