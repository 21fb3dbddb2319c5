//! The `[store]` section, the same keys for every service.

use serde::{Deserialize, Serialize};

/// Where a service keeps its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// `sqlite:PATH` (a file, created when missing) or `postgres://user:password@host:port/db`
    /// (what several replicas share). Empty: `sqlite:<service>.db` in the working directory.
    /// `sqlite::memory:` is a private in-memory database, gone at exit (tests).
    ///
    /// For TLS to PostgreSQL add `?sslmode=verify-full&sslrootcert=/path/ca.crt` (libpq's
    /// parameters; `sslcert`/`sslkey` for client certificates).
    pub url: String,
    /// PostgreSQL: the schema holding this service's tables, created when missing. Empty: the
    /// service's name (`emreg`, `smp`, `ncp`), so the services of a federation can share one
    /// database without seeing each other's tables. Must match `[a-z_][a-z0-9_]{0,62}`.
    pub schema: String,
    /// PostgreSQL: connections per replica (SQLite uses a fixed small pool).
    pub max_connections: u32,
    /// PostgreSQL on another host: refuse to connect unless the URL asks for a verified TLS
    /// connection (`sslmode=verify-full` or `verify-ca`), because anyone on the path could
    /// otherwise read or change students' results. Set `false` only on a network you trust
    /// (e.g. a namespace closed by a NetworkPolicy); a warning is logged. Loopback and Unix
    /// sockets never need TLS.
    pub require_verified_tls: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            schema: String::new(),
            max_connections: 8,
            require_verified_tls: true,
        }
    }
}

impl StoreConfig {
    /// A configuration for `url` with every other key at its default.
    pub fn url(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..Self::default()
        }
    }
}

/// Whether `schema` is a safe PostgreSQL schema name (it is spliced into `CREATE SCHEMA` and
/// `search_path`, which take no bind parameters).
pub fn check_schema_name(schema: &str) -> bool {
    !schema.is_empty()
        && schema.len() < 64
        && schema
            .bytes()
            .enumerate()
            .all(|(i, b)| b.is_ascii_lowercase() || b == b'_' || (i > 0 && b.is_ascii_digit()))
}

/// A store URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names() {
        for ok in ["emreg", "smp_2", "_x", "a"] {
            assert!(check_schema_name(ok), "{ok}");
        }
        for bad in ["", "2x", "Emreg", "a-b", "a;drop", "a b", &"a".repeat(64)] {
            assert!(!check_schema_name(bad), "{bad}");
        }
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://emrex:s3cret@db.example:5432/emrex"),
            "postgres://emrex:***@db.example:5432/emrex"
        );
        assert_eq!(redact_url("sqlite:emreg.db"), "sqlite:emreg.db");
        // An @ in the password: everything up to the last @ is userinfo.
        assert_eq!(
            redact_url("postgres://u:p@ss@h/db"),
            "postgres://u:***@h/db"
        );
    }
}
