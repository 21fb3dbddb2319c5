//! The environment-variable layer.
//!
//! Same mapping as figment's `Env::prefixed(..).split("__")` (strip the prefix, `__` nests,
//! lowercase, values parsed like TOML scalars with a fallback to a string), but written here so
//! tests can inject variables and so errors name the exact variable (`EMREX_SIGNER_GRPC__LISTEN`).

use std::collections::BTreeMap;

use figment::{
    Metadata, Profile, Provider,
    value::{Dict, Map, Value},
};

/// Prefix of this layer's name in figment metadata; used to recognise values from the environment.
pub(super) const LAYER_NAME: &str = "environment variable(s)";

/// Where the environment layer reads variables from.
#[derive(Debug, Clone, Default)]
pub enum EnvSource {
    /// The process environment (`std::env::vars_os`, non-UTF-8 variables skipped).
    #[default]
    Process,
    /// A fixed set of variables (tests, or a binary that pre-filters).
    Vars(BTreeMap<String, String>),
}

impl EnvSource {
    /// A fixed set of variables.
    pub fn vars<K: Into<String>, V: Into<String>>(vars: impl IntoIterator<Item = (K, V)>) -> Self {
        Self::Vars(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    fn snapshot(&self) -> BTreeMap<String, String> {
        match self {
            Self::Process => std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
            Self::Vars(vars) => vars.clone(),
        }
    }
}

/// figment provider for variables starting with a prefix.
pub(super) struct EnvProvider {
    prefix: String,
    vars: BTreeMap<String, String>,
}

impl EnvProvider {
    pub(super) fn new(prefix: &str, source: &EnvSource) -> Self {
        let vars = source
            .snapshot()
            .into_iter()
            .filter(|(k, _)| k.len() > prefix.len() && k.starts_with(prefix))
            .collect();
        Self {
            prefix: prefix.to_string(),
            vars,
        }
    }
}

impl Provider for EnvProvider {
    fn metadata(&self) -> Metadata {
        let prefix = self.prefix.clone();
        Metadata::named(format!("{LAYER_NAME} {prefix}*")).interpolater(
            move |_: &Profile, keys: &[&str]| {
                let keys: Vec<String> = keys.iter().map(|k| k.to_ascii_uppercase()).collect();
                format!("{prefix}{}", keys.join("__"))
            },
        )
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        let mut root = Dict::new();
        for (name, raw) in &self.vars {
            let rest = &name[self.prefix.len()..];
            let path: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
            if path.iter().any(String::is_empty) {
                tracing::warn!(variable = %name, "ignoring environment variable with an empty key segment");
                continue;
            }
            let value: Value = match raw.parse() {
                Ok(v) => v,
                Err(never) => match never {},
            };
            insert(&mut root, &path, value);
        }
        Ok(Map::from([(Profile::Default, root)]))
    }
}

/// Inserts `value` at `path`, creating tables on the way; a scalar in the way is replaced.
fn insert(dict: &mut Dict, path: &[String], value: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        dict.insert(first.clone(), value);
        return;
    }
    let entry = dict
        .entry(first.clone())
        .or_insert_with(|| Value::from(Dict::new()));
    if !matches!(entry, Value::Dict(..)) {
        *entry = Value::from(Dict::new());
    }
    if let Value::Dict(_, inner) = entry {
        insert(inner, rest, value);
    }
}
