//! One Prometheus registry per process (`prometheus-client`, the crate the Prometheus project
//! maintains for Rust), shared by the service and the runtime and served by the admin server as
//! OpenMetrics text at `/metrics`.

use std::{
    fmt,
    sync::{Arc, PoisonError, RwLock},
};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family},
    registry::{Metric, Registry, Unit},
};

/// A cloneable handle to the process's metric registry.
///
/// ```
/// use prometheus_client::metrics::counter::Counter;
/// let metrics = emrex_runtime::metrics::Metrics::new();
/// let signed = Counter::<u64>::default();
/// metrics.register("documents_signed", "ELMO documents signed", signed.clone());
/// signed.inc();
/// assert!(metrics.encode().expect("encode").contains("documents_signed_total 1"));
/// ```
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<RwLock<Registry>>,
    tls: TlsMetrics,
}

impl Metrics {
    /// An empty registry (plus the runtime's own metrics).
    pub fn new() -> Self {
        Self::from_registry(Registry::default())
    }

    /// A registry whose metric names all start with `prefix_` (e.g. `emrex_signer`).
    pub fn with_prefix(prefix: &str) -> Self {
        Self::from_registry(Registry::with_prefix(prefix))
    }

    fn from_registry(mut registry: Registry) -> Self {
        let tls = TlsMetrics::default();
        registry.register(
            "tls_reloads",
            "Loads of TLS certificates, keys and CA bundles from disk, by what was loaded and outcome",
            tls.reloads.clone(),
        );
        Self {
            registry: Arc::new(RwLock::new(registry)),
            tls,
        }
    }

    /// Registers `metric` under `name` (counters get `_total` appended on output).
    pub fn register(&self, name: &str, help: &str, metric: impl Metric) {
        self.write(|r| r.register(name, help, metric));
    }

    /// Registers `metric` under `name` with a unit suffix (e.g. [`Unit::Seconds`]).
    pub fn register_with_unit(&self, name: &str, help: &str, unit: Unit, metric: impl Metric) {
        self.write(|r| r.register_with_unit(name, help, unit, metric));
    }

    /// Direct access for anything else the registry offers (sub-registries, collectors).
    pub fn write<R>(&self, f: impl FnOnce(&mut Registry) -> R) -> R {
        // A panic while registering cannot leave the registry half-updated in a way that
        // matters for encoding, so a poisoned lock is still used.
        let mut registry = self
            .registry
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        f(&mut registry)
    }

    /// The OpenMetrics text exposition of every registered metric.
    pub fn encode(&self) -> Result<String, fmt::Error> {
        let registry = self.registry.read().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        encode(&mut out, &registry)?;
        Ok(out)
    }

    /// The runtime's TLS metrics, to pass to [`crate::tls::TlsOptions`].
    pub fn tls(&self) -> TlsMetrics {
        self.tls.clone()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Labels of `tls_reloads_total`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReloadLabels {
    /// e.g. `server certificate`, `client CA bundle`.
    what: String,
    /// `success` or `failure`.
    result: String,
}

/// Counts TLS material loads so a failing reload (an expiring certificate that is *not* being
/// replaced) can be alerted on, not just logged.
#[derive(Clone, Debug, Default)]
pub struct TlsMetrics {
    reloads: Family<ReloadLabels, Counter>,
}

impl TlsMetrics {
    pub(crate) fn reloaded(&self, what: &str, ok: bool) {
        self.reloads
            .get_or_create(&ReloadLabels {
                what: what.to_string(),
                result: if ok { "success" } else { "failure" }.to_string(),
            })
            .inc();
    }
}
