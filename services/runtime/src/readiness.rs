//! Readiness: "should traffic be sent here now?", answered by `/ready`.
//!
//! A service is ready when every registered check passes and shutdown has not begun. Checks are
//! either named flags the service flips (`store opened`, `signing key loaded`) or async probes
//! evaluated on each `/ready` request (`database reachable`). A probe that does not answer within
//! [`PROBE_TIMEOUT`] counts as failing, so a hung dependency cannot hang the kubelet's probe.

use std::{
    collections::BTreeMap,
    fmt,
    future::Future,
    pin::Pin,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

/// How long one probe may take before it counts as failing.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// The name reported while shutdown is in progress.
pub const SHUTDOWN_CHECK: &str = "shutdown";

type ProbeFuture = Pin<Box<dyn Future<Output = bool> + Send>>;
type Probe = Arc<dyn Fn() -> ProbeFuture + Send + Sync>;

/// A cloneable handle to the process's readiness checks.
#[derive(Clone, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    flags: Mutex<BTreeMap<String, Arc<AtomicBool>>>,
    probes: Mutex<BTreeMap<String, Probe>>,
    shutting_down: AtomicBool,
}

impl Readiness {
    /// No checks yet: ready until one is added or shutdown begins.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a named flag check, initially **not** ready; flip it with [`ReadinessCheck::set`].
    /// Adding a name twice returns a handle to the same flag.
    pub fn add_check(&self, name: impl Into<String>) -> ReadinessCheck {
        let name = name.into();
        let flag = lock(&self.inner.flags)
            .entry(name.clone())
            .or_default()
            .clone();
        ReadinessCheck { name, flag }
    }

    /// Adds a named async probe, run (with a [`PROBE_TIMEOUT`]) on every evaluation. Replaces a
    /// probe of the same name.
    pub fn add_probe<F, Fut>(&self, name: impl Into<String>, probe: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = bool> + Send + 'static,
    {
        let probe: Probe = Arc::new(move || Box::pin(probe()));
        lock(&self.inner.probes).insert(name.into(), probe);
    }

    /// From now on the service reports not ready (first step of graceful shutdown).
    pub fn begin_shutdown(&self) {
        self.inner.shutting_down.store(true, Ordering::SeqCst);
    }

    /// Whether [`Readiness::begin_shutdown`] was called.
    pub fn is_shutting_down(&self) -> bool {
        self.inner.shutting_down.load(Ordering::SeqCst)
    }

    /// Evaluates every check and probe (probes concurrently).
    pub async fn evaluate(&self) -> ReadinessReport {
        let mut failing: Vec<String> = Vec::new();
        if self.is_shutting_down() {
            failing.push(SHUTDOWN_CHECK.to_string());
        }
        failing.extend(
            lock(&self.inner.flags)
                .iter()
                .filter(|(_, flag)| !flag.load(Ordering::SeqCst))
                .map(|(name, _)| name.clone()),
        );
        let probes: Vec<(String, Probe)> = lock(&self.inner.probes)
            .iter()
            .map(|(name, probe)| (name.clone(), probe.clone()))
            .collect();
        let results =
            futures_util::future::join_all(probes.into_iter().map(|(name, probe)| async move {
                let ok = matches!(tokio::time::timeout(PROBE_TIMEOUT, probe()).await, Ok(true));
                (name, ok)
            }))
            .await;
        failing.extend(
            results
                .into_iter()
                .filter(|(_, ok)| !ok)
                .map(|(name, _)| name),
        );
        ReadinessReport { failing }
    }
}

impl fmt::Debug for Readiness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Readiness")
            .field(
                "checks",
                &lock(&self.inner.flags).keys().collect::<Vec<_>>(),
            )
            .field(
                "probes",
                &lock(&self.inner.probes).keys().collect::<Vec<_>>(),
            )
            .field("shutting_down", &self.is_shutting_down())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The maps stay consistent even if a holder panicked (single inserts).
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A named readiness flag.
#[derive(Debug, Clone)]
pub struct ReadinessCheck {
    name: String,
    flag: Arc<AtomicBool>,
}

impl ReadinessCheck {
    /// Marks this check as passing (`true`) or failing.
    pub fn set(&self, ready: bool) {
        let was = self.flag.swap(ready, Ordering::SeqCst);
        if was != ready {
            tracing::info!(check = %self.name, ready, "readiness check changed");
        }
    }

    /// The check's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The outcome of [`Readiness::evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadinessReport {
    /// Names of the failing checks (`shutdown` first while shutting down); empty when ready.
    pub failing: Vec<String>,
}

impl ReadinessReport {
    /// Every check passes.
    pub fn is_ready(&self) -> bool {
        self.failing.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn flags_probes_and_shutdown() {
        let readiness = Readiness::new();
        assert!(readiness.evaluate().await.is_ready());

        let store = readiness.add_check("store");
        let healthy = Arc::new(AtomicBool::new(false));
        let h = healthy.clone();
        readiness.add_probe("upstream", move || {
            let h = h.clone();
            async move { h.load(Ordering::SeqCst) }
        });
        assert_eq!(
            readiness.evaluate().await.failing,
            vec!["store", "upstream"]
        );

        store.set(true);
        healthy.store(true, Ordering::SeqCst);
        assert!(readiness.evaluate().await.is_ready());

        readiness.begin_shutdown();
        assert_eq!(readiness.evaluate().await.failing, vec![SHUTDOWN_CHECK]);
    }

    #[tokio::test(start_paused = true)]
    async fn hung_probe_fails() {
        let readiness = Readiness::new();
        readiness.add_probe("hangs", std::future::pending::<bool>);
        assert_eq!(readiness.evaluate().await.failing, vec!["hangs"]);
    }
}
