//! The NCP's Prometheus metrics. No label ever carries personal data or client-chosen text.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// NCP_OK, NCP_NO_RESULTS, NCP_CANCEL, NCP_ERROR.
    pub outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    /// login, source, elmo, pdf, sign, encode.
    pub step: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RefusalLabels {
    /// bad_entry, unknown_exchange, finished, forbidden, csrf, busy, too_large.
    pub reason: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WalletErrorLabels {
    /// The protocol error code answered: invalid_grant, invalid_request, invalid_proof, …
    pub error: String,
}

/// Counters and histograms of the NCP.
#[derive(Debug, Clone)]
pub struct NcpMetrics {
    pub started: Counter,
    pub finished: Family<OutcomeLabels, Counter>,
    pub steps: Family<StepLabels, Histogram>,
    pub refused: Family<RefusalLabels, Counter>,
    pub active: Gauge,
    /// Wallet offers made after consent.
    pub wallet_offers: Counter,
    /// Wallet credentials issued.
    pub wallet_issued: Counter,
    /// Wallet requests refused, by protocol error code.
    pub wallet_refused: Family<WalletErrorLabels, Counter>,
}

impl Default for NcpMetrics {
    fn default() -> Self {
        Self {
            started: Counter::default(),
            finished: Family::default(),
            // 0.1 ms .. ~26 s
            steps: Family::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.0001, 2.0, 18))
            }),
            refused: Family::default(),
            active: Gauge::default(),
            wallet_offers: Counter::default(),
            wallet_issued: Counter::default(),
            wallet_refused: Family::default(),
        }
    }
}

impl NcpMetrics {
    /// Registers every metric under the `emrex_ncp` prefix.
    pub fn register(&self, registry: &mut Registry) {
        let r = registry.sub_registry_with_prefix("emrex_ncp");
        r.register(
            "exchanges_started",
            "Exchanges started by a client",
            self.started.clone(),
        );
        r.register(
            "exchanges_finished",
            "Exchanges answered to the client, by return code",
            self.finished.clone(),
        );
        r.register(
            "step_duration_seconds",
            "Time spent in each step of an exchange",
            self.steps.clone(),
        );
        r.register(
            "refused_requests",
            "Requests refused with an error page, by reason",
            self.refused.clone(),
        );
        r.register(
            "active_exchanges",
            "Exchanges in memory",
            self.active.clone(),
        );
        r.register(
            "wallet_offers",
            "Wallet credential offers made after consent",
            self.wallet_offers.clone(),
        );
        r.register(
            "wallet_issued",
            "Wallet credentials issued",
            self.wallet_issued.clone(),
        );
        r.register(
            "wallet_refused",
            "Wallet (OpenID4VCI) requests refused, by error code",
            self.wallet_refused.clone(),
        );
    }

    /// Counts a refused wallet request.
    pub fn wallet_refused(&self, error: &str) {
        self.wallet_refused
            .get_or_create(&WalletErrorLabels {
                error: error.into(),
            })
            .inc();
    }

    /// Records one step's duration.
    pub fn step(&self, step: &str, seconds: f64) {
        self.steps
            .get_or_create(&StepLabels { step: step.into() })
            .observe(seconds);
    }

    /// Counts a refusal.
    pub fn refuse(&self, reason: &str) {
        self.refused
            .get_or_create(&RefusalLabels {
                reason: reason.into(),
            })
            .inc();
    }

    /// Counts a finished exchange.
    pub fn finish(&self, outcome: &str) {
        self.finished
            .get_or_create(&OutcomeLabels {
                outcome: outcome.into(),
            })
            .inc();
    }
}
