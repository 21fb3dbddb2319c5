//! Config layering: defaults < file < environment < overrides, and errors that name the key and
//! where it came from.

use std::{path::PathBuf, time::Duration};

use emrex_runtime::config::{
    AdminConfig, AuthConfig, ConfigError, ConfigLoader, EnvSource, GrpcServerConfig, LogConfig,
    LogFormat, ShutdownConfig,
};
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct SignerConfig {
    grpc: GrpcServerConfig,
    admin: AdminConfig,
    log: LogConfig,
    shutdown: ShutdownConfig,
    auth: AuthConfig,
    key_file: Option<PathBuf>,
}

#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct StrictConfig {
    admin: AdminConfig,
    name: String,
}

fn file(contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("signer.toml");
    std::fs::write(&path, contents).expect("write");
    (dir, path)
}

fn loader(path: &PathBuf, env: &[(&str, &str)]) -> ConfigLoader {
    ConfigLoader::new("EMREX_SIGNER")
        .file(Some(path))
        .env(EnvSource::vars(env.iter().copied()))
}

#[test]
fn defaults_without_file_or_env() {
    let cfg: SignerConfig = ConfigLoader::new("EMREX_SIGNER_")
        .env(EnvSource::vars::<&str, &str>([]))
        .load()
        .expect("defaults");
    assert_eq!(cfg, SignerConfig::default());
    assert_eq!(cfg.grpc.listen.to_string(), "0.0.0.0:50051");
    assert_eq!(cfg.admin.listen.to_string(), "0.0.0.0:9090");
    assert_eq!(cfg.shutdown.drain_delay, Duration::from_secs(5));
}

#[test]
fn file_then_env_then_overrides() {
    let (_dir, path) = file(
        r#"
key_file = "/from/file.key"
[grpc]
listen = "127.0.0.1:1001"
tls_handshake_timeout = "3s"
[grpc.tls]
cert_file = "/tls/tls.crt"
key_file = "/tls/tls.key"
client_ca_file = "/tls/ca.crt"
[admin]
listen = "127.0.0.1:2001"
[log]
format = "json"
filter = "debug"
[shutdown]
drain_delay = "1m 30s"
"#,
    );
    let env = [
        ("EMREX_SIGNER_GRPC__LISTEN", "127.0.0.1:1002"),
        ("EMREX_SIGNER_ADMIN__LISTEN", "127.0.0.1:2002"),
        ("EMREX_SIGNER_SHUTDOWN__TIMEOUT", "7"),
        ("EMREX_SIGNER_GRPC__TLS__REQUIRE_CLIENT_CERT", "false"),
        ("EMREX_SIGNER_AUTH__DEV_BEARER_TOKENS", r#"["a","b"]"#),
        ("OTHER_SERVICE_GRPC__LISTEN", "127.0.0.1:9"),
    ];
    let cfg: SignerConfig = loader(&path, &env)
        .set("grpc.listen", "127.0.0.1:1003")
        .expect("override")
        .set_opt("log.filter", None::<&str>)
        .expect("absent override")
        .load()
        .expect("valid");

    // file < env < override
    assert_eq!(cfg.grpc.listen.to_string(), "127.0.0.1:1003");
    // file < env
    assert_eq!(cfg.admin.listen.to_string(), "127.0.0.1:2002");
    // file only
    assert_eq!(cfg.log.format, LogFormat::Json);
    assert_eq!(cfg.log.filter, "debug");
    assert_eq!(cfg.key_file, Some(PathBuf::from("/from/file.key")));
    assert_eq!(cfg.shutdown.drain_delay, Duration::from_secs(90));
    assert_eq!(cfg.grpc.tls_handshake_timeout, Duration::from_secs(3));
    // env only, nested three levels, integer seconds, arrays
    assert_eq!(cfg.shutdown.timeout, Duration::from_secs(7));
    let tls = cfg.grpc.tls.expect("tls from file");
    assert_eq!(tls.cert_file, PathBuf::from("/tls/tls.crt"));
    assert!(!tls.require_client_cert);
    assert_eq!(cfg.auth.dev_bearer_tokens, vec!["a", "b"]);
}

#[test]
fn unknown_key_in_file_names_key_and_file() {
    let (_dir, path) = file("[grpc]\nlisen = \"127.0.0.1:1\"\n");
    let err = loader(&path, &[])
        .load::<SignerConfig>()
        .expect_err("unknown key");
    let message = err.to_string();
    assert!(matches!(err, ConfigError::UnknownKeys(_)), "{err:?}");
    assert!(message.contains("`grpc.lisen`"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn unknown_key_with_deny_unknown_fields_names_key_and_file() {
    let (_dir, path) = file("name = \"x\"\nnmae = \"y\"\n");
    let err = loader(&path, &[])
        .load::<StrictConfig>()
        .expect_err("unknown key");
    let message = err.to_string();
    assert!(message.contains("`nmae`"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
}

#[test]
fn unknown_keys_from_env_and_overrides() {
    let (_dir, path) = file("");
    // A nested unknown key from the environment is a typo: error naming the variable.
    let err = loader(&path, &[("EMREX_SIGNER_GRPC__LISTN", "127.0.0.1:1")])
        .load::<SignerConfig>()
        .expect_err("nested unknown env key");
    let message = err.to_string();
    assert!(message.contains("`grpc.listn`"), "{message}");
    assert!(message.contains("EMREX_SIGNER_GRPC__LISTN"), "{message}");

    // Top-level unknown variables are what Kubernetes service links inject: ignored.
    let cfg: SignerConfig = loader(
        &path,
        &[
            ("EMREX_SIGNER_PORT", "tcp://10.0.0.1:50051"),
            ("EMREX_SIGNER_SERVICE_HOST", "10.0.0.1"),
        ],
    )
    .load()
    .expect("service links ignored");
    assert_eq!(cfg, SignerConfig::default());

    let err = loader(&path, &[])
        .set("admin.lisen", "127.0.0.1:1")
        .expect("override")
        .load::<SignerConfig>()
        .expect_err("unknown override");
    let message = err.to_string();
    assert!(message.contains("`admin.lisen`"), "{message}");
    assert!(message.contains("command-line override"), "{message}");
}

#[test]
fn invalid_values_name_key_and_source() {
    let (_dir, path) = file("[admin]\nlisten = \"not an address\"\n");
    let message = loader(&path, &[])
        .load::<SignerConfig>()
        .expect_err("bad address")
        .to_string();
    assert!(message.contains("admin.listen"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");

    let (_dir, path) = file("");
    let message = loader(&path, &[("EMREX_SIGNER_SHUTDOWN__DRAIN_DELAY", "soon")])
        .load::<SignerConfig>()
        .expect_err("bad duration")
        .to_string();
    assert!(
        message.contains("EMREX_SIGNER_SHUTDOWN__DRAIN_DELAY"),
        "{message}"
    );
    assert!(message.contains("soon"), "{message}");

    let (_dir, path) = file("[grpc]\nlisten = ");
    let message = loader(&path, &[])
        .load::<SignerConfig>()
        .expect_err("bad toml")
        .to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");

    let (_dir, path) = file("[grpc.tls]\ncert_file = \"/a\"\n");
    let message = loader(&path, &[])
        .load::<SignerConfig>()
        .expect_err("missing key_file")
        .to_string();
    assert!(message.contains("key_file"), "{message}");
}

#[test]
fn missing_config_file_is_an_error_but_no_file_is_fine() {
    let err = ConfigLoader::new("EMREX_SIGNER_")
        .file(Some("/definitely/not/here.toml"))
        .load::<SignerConfig>()
        .expect_err("missing file");
    assert!(matches!(err, ConfigError::FileNotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("/definitely/not/here.toml"));
    ConfigLoader::new("EMREX_SIGNER_")
        .file(None::<&str>)
        .env(EnvSource::vars::<&str, &str>([]))
        .load::<SignerConfig>()
        .expect("no file");
}
