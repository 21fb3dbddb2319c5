//! Where the registry comes from ([`RegistryConfig`]) and the live view of it the SMP reads
//! ([`RegistryView`]).
//!
//! * [`config`]: `[registry]` — `grpc` (our EMREG: List, then Watch) or `json` (an EMREX 1.x
//!   list over HTTP(S), ours at `…/ncp-list.json?pubKeys=true` or any other);
//! * [`grpc`]: List + Watch with revision checks and periodic resynchronisation;
//! * [`json`]: fetching with ETags, size and scheme limits, parsed by
//!   [`parse_list`](super::parse_list);
//! * `backoff`: jittered exponential backoff between attempts.
//!
//! A failed fetch, an invalid document or a broken stream never replaces a good snapshot: the
//! view keeps the last one, reports the error in [`RegistryView::status`] and retries.

mod backoff;
pub mod config;
pub mod grpc;
pub mod json;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use emrex_proto::registry::v1::registry_client::RegistryClient;
use emrex_runtime::grpc::{Bearer, BearerError, GrpcError, error_chain};
use emrex_runtime::shutdown::Shutdown;
use emrex_runtime::tls::TlsOptions;
use tokio::sync::watch;
use tonic::service::interceptor::InterceptedService;

use super::Snapshot;
use super::jsonlist::ParseOptions;

pub use config::RegistryConfig;
pub use grpc::{RESYNC_INTERVAL, WatchError};
pub use json::{CaFileError, FetchError, UrlProblem};

/// Why a registry source could not be started (configuration problems; fetch failures later
/// are retried and reported through [`RegistryView::status`]).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The JSON list URL is unusable.
    #[error("registry url {url:?}: {problem}")]
    Url { url: String, problem: UrlProblem },
    /// The CA file (`ca_file`) could not be read, holds no certificate, or one is unusable.
    #[error("registry ca_file")]
    CaFile(#[from] CaFileError),
    /// The bearer token file (`token_file`; its message names the file).
    #[error(transparent)]
    Token(#[from] BearerError),
    /// The gRPC channel could not be built.
    #[error("registry client")]
    Grpc(#[from] GrpcError),
    /// The HTTP client could not be built.
    #[error("registry HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// [`RegistryView::wait_ready`] timed out.
    #[error(
        "no registry snapshot from {registry} within {waited:?}{}",
        last_error.as_ref().map(|e| format!(" (last error: {e})")).unwrap_or_default()
    )]
    NotReady {
        /// What the view reads, as in [`RegistryStatus::source`].
        registry: String,
        waited: Duration,
        last_error: Option<String>,
    },
}

/// How the source is doing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryStatus {
    /// What the view reads, e.g. `json https://…` or `grpc https://…`.
    pub source: String,
    /// Snapshots published so far (0: not ready).
    pub updates: u64,
    /// When the source last answered usefully (a document, a 304, a List or a Watch event).
    pub last_success: Option<SystemTime>,
    /// The error of the latest attempt; `None` when it succeeded.
    pub last_error: Option<String>,
    /// Attempts failed in a row.
    pub consecutive_failures: u32,
}

struct Inner {
    snapshot: ArcSwap<Snapshot>,
    /// Number of snapshots published; 0 until the first one.
    updates: watch::Sender<u64>,
    status: Mutex<RegistryStatus>,
}

impl Inner {
    fn new(source: String) -> Self {
        Self {
            snapshot: ArcSwap::from_pointee(Snapshot::default()),
            updates: watch::Sender::new(0),
            status: Mutex::new(RegistryStatus {
                source,
                ..RegistryStatus::default()
            }),
        }
    }

    fn with_status<R>(&self, f: impl FnOnce(&mut RegistryStatus) -> R) -> R {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Publishes `snapshot` unless the view is ready and already shows exactly this.
    fn publish(&self, snapshot: Snapshot) -> bool {
        if *self.updates.borrow() > 0 && **self.snapshot.load() == snapshot {
            return false;
        }
        let (ncps, countries) = (snapshot.ncps.len(), snapshot.countries.len());
        self.snapshot.store(Arc::new(snapshot));
        let mut updates = 0;
        self.updates.send_modify(|n| {
            *n += 1;
            updates = *n;
        });
        self.with_status(|s| s.updates = updates);
        tracing::info!(ncps, countries, updates, "registry snapshot updated");
        true
    }

    fn succeeded(&self) {
        self.with_status(|s| {
            s.last_success = Some(SystemTime::now());
            s.last_error = None;
            s.consecutive_failures = 0;
        });
    }

    /// Records a failed attempt (its error with all its causes, as the status shows it).
    fn failed(&self, error: &dyn std::error::Error) {
        let error = error_chain(error);
        let (failures, source) = self.with_status(|s| {
            s.last_error = Some(error.clone());
            s.consecutive_failures = s.consecutive_failures.saturating_add(1);
            (s.consecutive_failures, s.source.clone())
        });
        tracing::warn!(%source, failures, %error, "registry update failed; keeping the last snapshot");
    }
}

/// The registry as the SMP currently knows it: cheap to clone, always answers (an empty
/// snapshot until the first one arrives — see [`RegistryView::is_ready`]).
#[derive(Clone)]
pub struct RegistryView {
    inner: Arc<Inner>,
}

impl fmt::Debug for RegistryView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status();
        f.debug_struct("RegistryView")
            .field("source", &status.source)
            .field("updates", &status.updates)
            .field("ncps", &self.inner.snapshot.load().ncps.len())
            .finish()
    }
}

impl RegistryView {
    /// Checks `config` and spawns the task that keeps the view current until `shutdown`. Must
    /// be called inside a Tokio runtime. Errors are configuration problems only; an unreachable
    /// registry is retried in the background (the view is not ready until it answers).
    pub fn start(
        config: &RegistryConfig,
        shutdown: Shutdown,
    ) -> Result<RegistryView, RegistryError> {
        let inner = Arc::new(Inner::new(config.describe()));
        match config {
            RegistryConfig::Grpc { client, token_file } => {
                let channel = emrex_runtime::grpc::channel(client, &TlsOptions::default())?;
                let bearer = Bearer::from_file(token_file.as_deref())?;
                let client = RegistryClient::new(InterceptedService::new(channel, bearer))
                    .max_decoding_message_size(grpc::MAX_GRPC_MESSAGE_BYTES);
                tokio::spawn(grpc::run(Arc::clone(&inner), client, shutdown));
            }
            RegistryConfig::Json {
                url,
                refresh,
                timeout,
                ca_file,
                legacy_acronyms,
            } => {
                let parsed = json::check_url(url)?;
                let client = json::http_client(&parsed, ca_file.as_deref(), *timeout)?;
                let source = json::JsonSource {
                    client,
                    url: parsed,
                    refresh: (*refresh).max(Duration::from_millis(10)),
                    options: ParseOptions::with_legacy_acronyms(legacy_acronyms.iter().cloned()),
                    etag: None,
                };
                tokio::spawn(source.run(Arc::clone(&inner), shutdown));
            }
        }
        Ok(RegistryView { inner })
    }

    /// A view that always shows `snapshot` (tests, fixed setups). Ready at once.
    pub fn fixed(snapshot: Snapshot) -> RegistryView {
        let inner = Arc::new(Inner::new("fixed".into()));
        inner.publish(snapshot);
        inner.succeeded();
        RegistryView { inner }
    }

    /// The current snapshot.
    pub fn current(&self) -> Arc<Snapshot> {
        self.inner.snapshot.load_full()
    }

    /// Whether a first snapshot arrived.
    pub fn is_ready(&self) -> bool {
        *self.inner.updates.borrow() > 0
    }

    /// Waits until a first snapshot arrived, at most `timeout`; on time-out the error carries
    /// the source's last error.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), RegistryError> {
        let mut updates = self.inner.updates.subscribe();
        match tokio::time::timeout(timeout, updates.wait_for(|n| *n > 0)).await {
            Ok(Ok(_)) => Ok(()),
            _ => {
                let status = self.status();
                Err(RegistryError::NotReady {
                    registry: status.source,
                    waited: timeout,
                    last_error: status.last_error,
                })
            }
        }
    }

    /// A receiver of the number of snapshots published so far; it changes with every new
    /// snapshot (use `changed()` to wait for the next one).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.updates.subscribe()
    }

    /// How the source is doing (for readiness checks, logs and metrics).
    pub fn status(&self) -> RegistryStatus {
        self.inner.with_status(|s| s.clone())
    }
}
