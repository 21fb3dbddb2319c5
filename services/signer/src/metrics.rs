//! The Signer's Prometheus metrics.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabels {
    /// Why signing failed: too_large, not_well_formed, not_elmo, already_signed, internal, and
    /// for SignJws jws_bad_type, not_json.
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CertLabels {
    /// active or next.
    pub role: String,
}

/// Counters and histograms of the Signer.
#[derive(Debug, Clone)]
pub struct SignerMetrics {
    pub signatures: Counter,
    /// JWS (`SignJws`) signatures.
    pub jws_signatures: Counter,
    pub failures: Family<FailureLabels, Counter>,
    pub duration: Histogram,
    pub cert_not_after: Family<CertLabels, Gauge>,
}

impl Default for SignerMetrics {
    fn default() -> Self {
        Self {
            signatures: Counter::default(),
            jws_signatures: Counter::default(),
            failures: Family::default(),
            // 0.1 ms .. ~3 s
            duration: Histogram::new(exponential_buckets(0.0001, 2.0, 15)),
            cert_not_after: Family::default(),
        }
    }
}

impl SignerMetrics {
    /// Registers every metric under the `emrex_signer` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("emrex_signer");
        r.register("signatures", "Documents signed", self.signatures.clone());
        r.register(
            "jws_signatures",
            "JWTs signed (SignJws)",
            self.jws_signatures.clone(),
        );
        r.register(
            "failures",
            "Sign requests refused or failed, by reason",
            self.failures.clone(),
        );
        r.register(
            "sign_duration_seconds",
            "Time to check and sign one document",
            self.duration.clone(),
        );
        r.register(
            "certificate_not_after_timestamp_seconds",
            "End of validity of the signing certificates (Unix time), by role",
            self.cert_not_after.clone(),
        );
    }

    pub(crate) fn fail(&self, reason: &str) {
        self.failures
            .get_or_create(&FailureLabels {
                reason: reason.to_string(),
            })
            .inc();
    }
}
