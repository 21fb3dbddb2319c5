//! TLS to PostgreSQL with the real server of scripts/postgres-test-db.sh (which serves TLS with a
//! test CA): `sslmode=verify-full` connects encrypted and verified; a server certificate from
//! another CA is refused (fail closed); the migrations land in the service's own schema.

use std::process::Command;

use emrex_store::{Database, Migrations, StoreConfig, open};
use sqlx::migrate::Migrator;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run `eval \"$(bash scripts/postgres-test-db.sh)\"` (./scripts/test.sh does)")
    })
}

/// The test server's URL with host `localhost` (the name its certificate carries) and TLS
/// parameters.
fn tls_url(ca: &str) -> String {
    let url = env("EMREX_TEST_POSTGRES_URL").replace("@127.0.0.1:", "@localhost:");
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}sslmode=verify-full&sslrootcert={ca}")
}

static NONE: Migrator = Migrator::DEFAULT;
const NO_MIGRATIONS: Migrations = Migrations {
    sqlite: &NONE,
    postgres: &NONE,
};

#[tokio::test]
async fn verified_tls_connects_encrypted_in_the_services_schema() {
    let ca = env("EMREX_TEST_POSTGRES_CA");
    let config = StoreConfig {
        url: tls_url(&ca),
        schema: "store_tls_test".into(),
        ..StoreConfig::default()
    };
    let db = open(&config, "store", &NO_MIGRATIONS)
        .await
        .expect("verify-full with the right CA");
    let Database::Postgres { pool, schema } = &db else {
        panic!("not PostgreSQL: {db:?}")
    };
    assert_eq!(schema, "store_tls_test");
    let (ssl, search_path): (bool, String) = sqlx::query_as(
        "SELECT ssl, current_setting('search_path') FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
    )
    .fetch_one(pool)
    .await
    .expect("pg_stat_ssl");
    assert!(ssl, "the connection is not encrypted");
    assert_eq!(search_path, "store_tls_test");
    assert_eq!(
        db.notify_channel().as_deref(),
        Some("store_tls_test_changes")
    );
    db.close().await;
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_is_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    let other_ca = dir.path().join("other-ca.crt");
    let status = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=another TEST-ONLY CA", "-keyout"])
        .arg(dir.path().join("other-ca.key"))
        .arg("-out")
        .arg(&other_ca)
        .output()
        .expect("run openssl");
    assert!(status.status.success(), "{status:?}");
    let config = StoreConfig::url(tls_url(&other_ca.display().to_string()));
    let err = open(&config, "store", &NO_MIGRATIONS)
        .await
        .expect_err("a server certificate the CA did not issue");
    let chain = {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    };
    assert!(
        chain.contains("connecting to") && chain.to_lowercase().contains("certificate"),
        "{chain}"
    );
    // The password is never in the message.
    let password = env("EMREX_TEST_POSTGRES_URL");
    let password = password
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('@').next())
        .and_then(|userinfo| userinfo.split(':').nth(1))
        .expect("password in the test URL");
    assert!(!chain.contains(password), "{chain}");
}
