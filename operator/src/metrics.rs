//! The operator's Prometheus metrics (served at `/metrics` with the runtime's admin server).

use std::time::Instant;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

type Labels = Vec<(String, String)>;

/// Counters and gauges the controllers update.
#[derive(Clone)]
pub struct OperatorMetrics {
    reconciles: Family<Labels, Counter>,
    failures: Family<Labels, Counter>,
    duration: Family<Labels, Histogram>,
    cert_expiry: Family<Labels, Gauge>,
    cert_renewal: Family<Labels, Gauge>,
    /// 1 while this replica holds the leader Lease.
    pub leader: Gauge,
}

impl OperatorMetrics {
    /// Registers everything in `metrics` (prefix `emrex_operator_`).
    pub fn register(metrics: &emrex_runtime::metrics::Metrics) -> Self {
        let m = Self {
            reconciles: Family::default(),
            failures: Family::default(),
            duration: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.005, 2.0, 14))
            }),
            cert_expiry: Family::default(),
            cert_renewal: Family::default(),
            leader: Gauge::default(),
        };
        metrics.register(
            "reconciles",
            "Reconciliations run, by controller",
            m.reconciles.clone(),
        );
        metrics.register(
            "reconcile_failures",
            "Reconciliations that failed, by controller and reason",
            m.failures.clone(),
        );
        metrics.register(
            "reconcile_duration_seconds",
            "Time one reconciliation took, by controller",
            m.duration.clone(),
        );
        metrics.register(
            "certificate_expiration_timestamp_seconds",
            "notAfter of each SigningCertificate's current certificate (Unix seconds)",
            m.cert_expiry.clone(),
        );
        metrics.register(
            "certificate_renewal_timestamp_seconds",
            "When each SigningCertificate's renewal starts (Unix seconds)",
            m.cert_renewal.clone(),
        );
        metrics.register(
            "leader",
            "1 while this replica holds the leader Lease",
            m.leader.clone(),
        );
        m
    }

    /// Starts timing one reconciliation of `controller`.
    pub fn start(&self, controller: &'static str) -> ReconcileTimer {
        self.reconciles
            .get_or_create(&vec![("controller".into(), controller.into())])
            .inc();
        ReconcileTimer {
            metrics: self.clone(),
            controller,
            start: Instant::now(),
        }
    }

    /// Counts a failure.
    pub fn failed(&self, controller: &str, reason: &str) {
        self.failures
            .get_or_create(&vec![
                ("controller".into(), controller.into()),
                ("reason".into(), reason.into()),
            ])
            .inc();
    }

    /// Records a certificate's expiry and renewal time.
    pub fn certificate(&self, namespace: &str, name: &str, not_after: i64, renewal: i64) {
        let labels = vec![
            ("namespace".into(), namespace.into()),
            ("name".into(), name.into()),
        ];
        self.cert_expiry.get_or_create(&labels).set(not_after);
        self.cert_renewal.get_or_create(&labels).set(renewal);
    }

    /// Forgets a deleted certificate.
    pub fn forget_certificate(&self, namespace: &str, name: &str) {
        let labels = vec![
            ("namespace".into(), namespace.into()),
            ("name".into(), name.into()),
        ];
        self.cert_expiry.remove(&labels);
        self.cert_renewal.remove(&labels);
    }
}

/// Observes the duration when dropped.
pub struct ReconcileTimer {
    metrics: OperatorMetrics,
    controller: &'static str,
    start: Instant,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.metrics
            .duration
            .get_or_create(&vec![("controller".into(), self.controller.into())])
            .observe(self.start.elapsed().as_secs_f64());
    }
}

impl std::fmt::Debug for OperatorMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorMetrics").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for ReconcileTimer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReconcileTimer")
            .field("controller", &self.controller)
            .finish()
    }
}
