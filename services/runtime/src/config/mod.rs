//! Layered, typed service configuration.
//!
//! A service describes its configuration as one `serde` type with a `Default` and calls
//! [`ConfigLoader::load`]. Layers, in increasing precedence:
//!
//! 1. the type's `Default` (built-in defaults),
//! 2. an optional TOML file (`--config path`; a path that was given must exist),
//! 3. environment variables with the service prefix, e.g. `EMREX_SIGNER_GRPC__LISTEN`:
//!    the prefix is stripped, `__` separates nesting levels, names are lowercased,
//! 4. explicit overrides the binary passes from its CLI flags ([`ConfigLoader::set`]).
//!
//! **Why `figment`:** it is the layering/provenance library Rocket is built on, it already tags
//! every value with the layer it came from, so an error can say "for key `grpc.listen` in
//! `/etc/emrex/signer.toml`" without us re-implementing TOML merging. We use its `Toml` provider
//! as is, but our own small environment provider ([`env`]) so tests can inject variables
//! (changing the process environment is `unsafe` in edition 2024) and so error messages name the
//! exact variable.
//!
//! **Unknown keys** are found by the loader itself (with `serde_ignored`), whatever the caller's
//! types say, and reported with the key and the layer it came from:
//! - in the file and in overrides they are an error;
//! - in the environment, a *nested* unknown key (one written with `__`, e.g.
//!   `EMREX_SIGNER_GRPC__LISTN`) is an error, but a *top-level* one only logs a warning: Kubernetes
//!   injects "service link" variables such as `EMREX_SIGNER_SERVICE_HOST` and `EMREX_SIGNER_PORT`
//!   into every pod of a namespace that has a Service named `emrex-signer`, and those must not
//!   crash the service. A caller that wants those to fail too can put
//!   `#[serde(deny_unknown_fields)]` on its top-level type (and set `enableServiceLinks: false`).

mod common;
pub mod duration;
mod env;

use std::path::{Path, PathBuf};

use figment::{
    Figment, Metadata, Profile, Provider,
    error::Kind,
    providers::{Format, Serialized, Toml},
    value::{Dict, Map, Value},
};
use serde::{Serialize, de::DeserializeOwned};

pub use common::{
    AdminConfig, AuthConfig, ClientTlsConfig, GrpcClientConfig, GrpcServerConfig, ListenConfig,
    LogConfig, LogFormat, ServerTlsConfig, ShutdownConfig,
};
pub use env::EnvSource;

/// Name of the override layer in error messages.
const OVERRIDE_LAYER: &str = "command-line override";

/// Why a configuration could not be loaded. Every variant names the key and the layer it came
/// from where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// `--config` named a file that is not there (a missing *optional* file is never an error:
    /// pass `None` instead).
    #[error("config file {} does not exist", path.display())]
    FileNotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// One or more keys that the service's config type does not know.
    #[error("{}", format_unknown(.0))]
    UnknownKeys(Vec<UnknownKey>),
    /// A value has the wrong type or is missing, the file is not valid TOML, … The message
    /// (from figment) names the key and the layer.
    #[error("invalid configuration: {0}")]
    Invalid(Box<figment::Error>),
    /// A CLI override could not be turned into a config value.
    #[error("invalid override for `{key}`: {message}")]
    Override {
        /// The dotted key of the override.
        key: String,
        /// What went wrong.
        message: String,
    },
}

// figment's message is the whole story (key, value, layer): printed, not a `source`.
impl From<Box<figment::Error>> for ConfigError {
    fn from(e: Box<figment::Error>) -> Self {
        Self::Invalid(e)
    }
}

/// One key the config type does not know, and where it was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// Dotted path, e.g. `grpc.lisen`.
    pub key: String,
    /// The layer that set it, e.g. `TOML file /etc/emrex/signer.toml` or
    /// `environment variable EMREX_SIGNER_GRPC__LISEN`.
    pub origin: String,
}

fn format_unknown(keys: &[UnknownKey]) -> String {
    let list: Vec<String> = keys
        .iter()
        .map(|k| format!("`{}` (in {})", k.key, k.origin))
        .collect();
    format!("unknown configuration key(s): {}", list.join(", "))
}

/// Builds a service's configuration from defaults, a file, the environment and CLI overrides.
///
/// ```
/// # use emrex_runtime::config::{ConfigLoader, GrpcServerConfig};
/// #[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
/// #[serde(default)]
/// struct SignerConfig {
///     grpc: GrpcServerConfig,
/// }
/// let cfg: SignerConfig = ConfigLoader::new("EMREX_SIGNER_")
///     .env(emrex_runtime::config::EnvSource::vars([("EMREX_SIGNER_GRPC__LISTEN", "127.0.0.1:7000")]))
///     .set("grpc.listen", "127.0.0.1:7001")?
///     .load()?;
/// assert_eq!(cfg.grpc.listen.to_string(), "127.0.0.1:7001");
/// # Ok::<(), emrex_runtime::config::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConfigLoader {
    env_prefix: String,
    file: Option<PathBuf>,
    env: EnvSource,
    overrides: Vec<(String, Value)>,
}

impl ConfigLoader {
    /// A loader for the service whose environment variables start with `env_prefix`
    /// (e.g. `EMREX_SIGNER_`; a missing trailing `_` is added). Reads the process environment
    /// unless [`ConfigLoader::env`] says otherwise.
    pub fn new(env_prefix: impl Into<String>) -> Self {
        let mut env_prefix = env_prefix.into();
        if !env_prefix.is_empty() && !env_prefix.ends_with('_') {
            env_prefix.push('_');
        }
        Self {
            env_prefix,
            file: None,
            env: EnvSource::Process,
            overrides: Vec::new(),
        }
    }

    /// Reads this TOML file as the second layer. `None` means "no file" (not an error).
    #[must_use]
    pub fn file(mut self, path: Option<impl AsRef<Path>>) -> Self {
        self.file = path.map(|p| p.as_ref().to_path_buf());
        self
    }

    /// Where environment variables come from (tests inject a fixed set).
    #[must_use]
    pub fn env(mut self, env: EnvSource) -> Self {
        self.env = env;
        self
    }

    /// An explicit override, highest precedence: `key` is a dotted path (`grpc.listen`).
    pub fn set(mut self, key: &str, value: impl Serialize) -> Result<Self, ConfigError> {
        let value = Value::serialize(value).map_err(|e| ConfigError::Override {
            key: key.to_string(),
            message: e.to_string(),
        })?;
        self.overrides.push((key.to_string(), value));
        Ok(self)
    }

    /// Like [`ConfigLoader::set`], but only when the CLI flag was given.
    pub fn set_opt(self, key: &str, value: Option<impl Serialize>) -> Result<Self, ConfigError> {
        match value {
            Some(v) => self.set(key, v),
            None => Ok(self),
        }
    }

    /// The merged layers, before extraction (exposed for `--print-config`-style tooling).
    pub fn figment<T: Serialize + Default>(&self) -> Result<Figment, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(T::default()));
        if let Some(path) = &self.file {
            if !path.is_file() {
                return Err(ConfigError::FileNotFound { path: path.clone() });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(env::EnvProvider::new(&self.env_prefix, &self.env));
        for (key, value) in &self.overrides {
            figment = figment.merge(Named {
                inner: Serialized::default(key, value.clone()),
                name: OVERRIDE_LAYER,
            });
        }
        Ok(figment)
    }

    /// Merges the layers and deserializes `T`, rejecting unknown keys (see the module docs).
    pub fn load<T: Serialize + DeserializeOwned + Default>(&self) -> Result<T, ConfigError> {
        let figment = self.figment::<T>()?;
        let config: T = figment
            .extract()
            .map_err(|e| unknown_field_error(&figment, e))?;
        let unknown = find_unknown_keys::<T>(&figment)?;
        let mut fatal = Vec::new();
        for key in unknown {
            if key.from_env && !key.key.contains('.') {
                tracing::warn!(
                    key = %key.key,
                    origin = %key.origin,
                    "ignoring unknown top-level configuration key from the environment \
                     (Kubernetes service links set such variables)"
                );
            } else {
                fatal.push(UnknownKey {
                    key: key.key,
                    origin: key.origin,
                });
            }
        }
        if fatal.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::UnknownKeys(fatal))
        }
    }
}

struct FoundKey {
    key: String,
    origin: String,
    from_env: bool,
}

/// Deserializes `T` once more through `serde_ignored` to list every key `T` did not consume.
fn find_unknown_keys<T: DeserializeOwned>(figment: &Figment) -> Result<Vec<FoundKey>, ConfigError> {
    let merged: Value = figment
        .extract()
        .map_err(|e| ConfigError::Invalid(Box::new(e)))?;
    let mut paths = Vec::new();
    // The first extraction succeeded, so this one does too; only the ignored paths matter.
    let _: Result<T, _> = serde_ignored::deserialize(&merged, |path| paths.push(path.to_string()));
    Ok(paths
        .into_iter()
        .map(|key| {
            let md = figment.find_metadata(&key);
            FoundKey {
                origin: describe_origin(md, &key),
                from_env: md.is_some_and(|m| m.name.starts_with(env::LAYER_NAME)),
                key,
            }
        })
        .collect())
}

/// Turns figment's "unknown field" error (from a `deny_unknown_fields` type) into
/// [`ConfigError::UnknownKeys`] naming the layer that set that key, not the one that set its
/// parent table.
fn unknown_field_error(figment: &Figment, err: figment::Error) -> ConfigError {
    if let Kind::UnknownField(field, _) = &err.kind {
        let mut path = err.path.clone();
        if path.last() != Some(field) {
            path.push(field.clone());
        }
        let key = path.join(".");
        let origin = describe_origin(figment.find_metadata(&key), &key);
        return ConfigError::UnknownKeys(vec![UnknownKey { key, origin }]);
    }
    ConfigError::Invalid(Box::new(err))
}

fn describe_origin(md: Option<&Metadata>, key: &str) -> String {
    let Some(md) = md else {
        return "unknown layer".to_string();
    };
    if md.name.starts_with(env::LAYER_NAME) {
        let segments: Vec<&str> = key.split('.').collect();
        return format!(
            "environment variable {}",
            md.interpolate(&Profile::Default, &segments)
        );
    }
    match &md.source {
        Some(source) => format!("{} {}", md.name, source),
        None => md.name.to_string(),
    }
}

/// A provider with our own name in error messages.
struct Named<P> {
    inner: P,
    name: &'static str,
}

impl<P: Provider> Provider for Named<P> {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        self.inner.data()
    }
}
