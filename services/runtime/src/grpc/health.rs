//! gRPC health (`grpc.health.v1.Health`, tonic-health) with a memory of which services it
//! reports on, so shutdown can flip **all** of them to NOT_SERVING (tonic-health's reporter
//! cannot list its services).

use std::{
    collections::BTreeSet,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
};

use tonic::server::NamedService;
use tonic_health::{ServingStatus, server::HealthReporter};

/// A cloneable health handle: per-service status plus the overall (`""`) status.
///
/// Once [`GrpcHealth::set_all_not_serving`] has run (shutdown), later `set_serving` calls are
/// ignored, so a service cannot undo the drain by reporting itself healthy again.
#[derive(Debug, Clone)]
pub struct GrpcHealth {
    reporter: HealthReporter,
    names: Arc<Mutex<BTreeSet<String>>>,
    draining: Arc<AtomicBool>,
}

impl GrpcHealth {
    pub(crate) fn new(reporter: HealthReporter) -> Self {
        Self {
            reporter,
            names: Arc::default(),
            draining: Arc::default(),
        }
    }

    /// The underlying tonic-health reporter. Statuses set directly on it are **not** flipped at
    /// shutdown unless the name was also set through this handle.
    pub fn reporter(&self) -> &HealthReporter {
        &self.reporter
    }

    pub(crate) fn remember(&self, name: &str) {
        self.names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string());
    }

    /// Names of the services reported on (without the overall `""`).
    pub fn services(&self) -> Vec<String> {
        self.names
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// Sets the status of `S` (e.g. `SignerServer<MySigner>`).
    pub async fn set_status_of<S: NamedService>(&self, status: ServingStatus) {
        self.set_status(S::NAME, status).await;
    }

    /// Sets the status of the service named `name` (fully qualified, e.g.
    /// `emrex.signer.v1.Signer`; `""` is the whole server).
    pub async fn set_status(&self, name: &str, status: ServingStatus) {
        if status == ServingStatus::Serving && self.draining.load(Ordering::SeqCst) {
            tracing::debug!(service = name, "ignoring SERVING while shutting down");
            return;
        }
        self.remember(name);
        self.reporter.set_service_status(name, status).await;
    }

    /// Sets every known service and the overall status to NOT_SERVING, for good.
    pub async fn set_all_not_serving(&self) {
        self.draining.store(true, Ordering::SeqCst);
        let mut names = self.services();
        names.push(String::new());
        for name in names {
            self.reporter
                .set_service_status(&name, ServingStatus::NotServing)
                .await;
        }
    }

    /// Whether [`GrpcHealth::set_all_not_serving`] ran.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}
