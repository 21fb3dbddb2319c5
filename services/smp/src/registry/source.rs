//! Where the registry comes from ([`RegistryConfig`]) and the live view of it the SMP reads
//! ([`RegistryView`]).
//!
//! * **`grpc`** — our EMREG: `List` for the first snapshot (entries and countries), then `Watch`
//!   from that revision to apply every change as it happens. Events must arrive in consecutive
//!   revision order (EMREG guarantees it); a gap, a stream error or the stream ending makes the
//!   client reconnect with backoff and start again with `List`. Every [`RESYNC_INTERVAL`] it
//!   also calls `List` and, if the registry is ahead of the stream (a silently dead connection,
//!   or a change written by another EMREG process on a shared database), takes that state and
//!   restarts the Watch from it.
//! * **`json`** — an EMREX 1.x list over HTTP(S) (ours, `…/ncp-list.json?pubKeys=true`, or any
//!   other), parsed by [`parse_list`]. Fetched every `refresh` with `If-None-Match` (a `304`
//!   keeps the current snapshot without reparsing), bounded by timeouts and by
//!   [`MAX_DOCUMENT_BYTES`](super::jsonlist::MAX_DOCUMENT_BYTES) while streaming. `https://`
//!   only, except `http://` for loopback hosts; redirects must keep the scheme (at most 5).
//!
//! A failed fetch, an invalid document or a broken stream never replaces a good snapshot: the
//! view keeps the last one and retries with jittered exponential backoff.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use emrex_proto::registry::v1 as pb;
use emrex_proto::registry::v1::registry_client::RegistryClient;
use emrex_runtime::config::GrpcClientConfig;
use emrex_runtime::shutdown::Shutdown;
use emrex_runtime::tls::TlsOptions;
use reqwest::header::{self, HeaderValue};
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use super::jsonlist::{MAX_DOCUMENT_BYTES, ParseOptions, certificates_from_texts, parse_list};
use super::{RegistryCountry, RegistryNcp, Snapshot};

/// How often the gRPC client compares the registry's revision with its Watch stream.
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(300);

/// Largest gRPC message accepted from EMREG (a `List` of thousands of NCPs with their
/// certificates).
const MAX_GRPC_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Warnings of one JSON list written to the log.
const MAX_LOGGED_WARNINGS: usize = 50;

/// Watch events applied before a new snapshot is published, when they arrive in a burst.
const MAX_EVENTS_PER_PUBLISH: usize = 1024;

/// Where the SMP reads the registry from (`[registry]` in its configuration, with `kind`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RegistryConfig {
    /// Our EMREG over gRPC (`emrex.registry.v1.Registry`): List, then Watch.
    Grpc {
        /// Endpoint, TLS and timeouts.
        #[serde(default)]
        client: GrpcClientConfig,
        /// A file holding a bearer token to send (development setups; mTLS is configured in
        /// `client.tls`).
        #[serde(default)]
        token_file: Option<PathBuf>,
    },
    /// An EMREX 1.x JSON list over HTTP(S).
    Json {
        /// `https://…/ncp-list.json` (with `?pubKeys=true` on our EMREG, to get every
        /// certificate); `http://` only for loopback hosts.
        url: String,
        /// How often the list is fetched again.
        #[serde(with = "emrex_runtime::config::duration", default = "default_refresh")]
        refresh: Duration,
        /// Time allowed for one fetch (connect, headers and body).
        #[serde(with = "emrex_runtime::config::duration", default = "default_timeout")]
        timeout: Duration,
        /// An extra CA bundle (PEM) for the server's certificate; the platform trust store is
        /// used too.
        #[serde(default)]
        ca_file: Option<PathBuf>,
        /// Acronyms of NCPs that still sign with SHA-1 (the JSON list has no such flag).
        #[serde(default)]
        legacy_acronyms: Vec<String>,
    },
}

fn default_refresh() -> Duration {
    Duration::from_secs(300)
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

impl Default for RegistryConfig {
    /// gRPC to the default endpoint of the runtime (`http://127.0.0.1:50051`).
    fn default() -> Self {
        Self::Grpc {
            client: GrpcClientConfig::default(),
            token_file: None,
        }
    }
}

impl RegistryConfig {
    /// A JSON source with the default refresh (5 min) and timeout (30 s).
    pub fn json(url: impl Into<String>) -> Self {
        Self::Json {
            url: url.into(),
            refresh: default_refresh(),
            timeout: default_timeout(),
            ca_file: None,
            legacy_acronyms: Vec::new(),
        }
    }

    /// A gRPC source at `endpoint` (other settings default).
    pub fn grpc(endpoint: impl Into<String>) -> Self {
        Self::Grpc {
            client: GrpcClientConfig {
                endpoint: endpoint.into(),
                ..GrpcClientConfig::default()
            },
            token_file: None,
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::Grpc { client, .. } => format!("grpc {}", client.endpoint),
            Self::Json { url, .. } => format!("json {url}"),
        }
    }
}

/// Why a registry source could not be started (configuration problems; fetch failures later
/// are retried and reported through [`RegistryView::status`]).
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The JSON list URL is unusable.
    #[error("registry url {url:?}: {message}")]
    Url { url: String, message: String },
    /// The CA file could not be read or holds no certificate.
    #[error("registry ca_file {}: {message}", path.display())]
    CaFile { path: PathBuf, message: String },
    /// The bearer token file could not be read.
    #[error("registry token_file {}: {source}", path.display())]
    TokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The bearer token cannot be sent as a header.
    #[error("registry token_file {}: the token is not a valid header value", path.display())]
    TokenInvalid { path: PathBuf },
    /// The gRPC channel could not be built.
    #[error("registry client: {0}")]
    Grpc(#[from] emrex_runtime::grpc::GrpcError),
    /// The HTTP client could not be built.
    #[error("registry HTTP client: {0}")]
    HttpClient(String),
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

    fn failed(&self, error: &str) {
        let (failures, source) = self.with_status(|s| {
            s.last_error = Some(error.to_string());
            s.consecutive_failures = s.consecutive_failures.saturating_add(1);
            (s.consecutive_failures, s.source.clone())
        });
        tracing::warn!(%source, failures, error, "registry update failed; keeping the last snapshot");
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
                    .max_decoding_message_size(MAX_GRPC_MESSAGE_BYTES);
                tokio::spawn(run_grpc(Arc::clone(&inner), client, shutdown));
            }
            RegistryConfig::Json {
                url,
                refresh,
                timeout,
                ca_file,
                legacy_acronyms,
            } => {
                let parsed = check_url(url)?;
                let client = http_client(&parsed, ca_file.as_deref(), *timeout)?;
                let source = JsonSource {
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

/// Exponential backoff with ±20 % jitter.
#[derive(Debug)]
struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    fn new(initial: Duration, max: Duration) -> Self {
        let max = max.max(initial);
        Self {
            initial,
            max,
            current: initial,
        }
    }

    fn next_delay(&mut self) -> Duration {
        let delay = jitter(self.current);
        self.current = (self.current * 2).min(self.max);
        delay
    }

    fn reset(&mut self) {
        self.current = self.initial;
    }
}

/// `d` scaled by a random factor in [0.8, 1.2] (so replicas do not retry in lockstep).
fn jitter(d: Duration) -> Duration {
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    d.mul_f64(0.8 + (random % 401) as f64 / 1000.0)
}

/// Sleeps `delay`; false when shutdown came first.
async fn sleep_or_shutdown(delay: Duration, shutdown: &Shutdown) -> bool {
    tokio::select! {
        () = tokio::time::sleep(delay) => true,
        () = shutdown.triggered() => false,
    }
}

// ---------------------------------------------------------------------------------------------
// JSON over HTTP(S)

/// 127.0.0.0/8, ::1 and the name `localhost` (as EMREG's dev mode).
fn is_loopback(url: &Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn check_url(url: &str) -> Result<Url, RegistryError> {
    let bad = |message: &str| RegistryError::Url {
        url: url.to_string(),
        message: message.to_string(),
    };
    let parsed = Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not contain a user name or password"));
    }
    match parsed.scheme() {
        "https" => Ok(parsed),
        "http" if is_loopback(&parsed) => Ok(parsed),
        "http" => Err(bad(
            "http:// is allowed only for loopback hosts; use https://",
        )),
        other => Err(bad(&format!("unsupported scheme {other:?}; use https://"))),
    }
}

fn http_client(
    url: &Url,
    ca_file: Option<&Path>,
    timeout: Duration,
) -> Result<reqwest::Client, RegistryError> {
    let scheme = url.scheme().to_string();
    let redirects = reqwest::redirect::Policy::custom(move |attempt| {
        let target = attempt.url();
        if attempt.previous().len() > 5 {
            attempt.error("more than 5 redirects")
        } else if target.scheme() != scheme {
            let message = format!("redirect from {scheme}:// to {}://", target.scheme());
            attempt.error(message)
        } else if target.scheme() == "http" && !is_loopback(target) {
            attempt.error("redirect to http:// on a host that is not loopback")
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::Client::builder()
        .redirect(redirects)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .timeout(timeout)
        .user_agent(concat!("emrex-smp/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = ca_file {
        let bad = |message: String| RegistryError::CaFile {
            path: path.to_path_buf(),
            message,
        };
        let pem = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad("no certificate in the file".into()));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| RegistryError::HttpClient(error_chain(&e)))
}

/// An error with its causes, `a: b: c`.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = cause.source();
    }
    s
}

struct JsonSource {
    client: reqwest::Client,
    url: Url,
    refresh: Duration,
    options: ParseOptions,
    /// The ETag of the document the current snapshot comes from.
    etag: Option<HeaderValue>,
}

enum Fetched {
    NotModified,
    Document {
        body: Vec<u8>,
        etag: Option<HeaderValue>,
    },
}

impl JsonSource {
    async fn run(mut self, inner: Arc<Inner>, shutdown: Shutdown) {
        let initial = self.refresh.min(Duration::from_secs(1));
        let mut backoff = Backoff::new(initial, self.refresh.min(Duration::from_secs(300)));
        loop {
            let outcome = tokio::select! {
                r = self.update(&inner) => r,
                () = shutdown.triggered() => return,
            };
            let delay = match outcome {
                Ok(()) => {
                    inner.succeeded();
                    backoff.reset();
                    self.refresh
                }
                Err(e) => {
                    inner.failed(&e);
                    backoff.next_delay()
                }
            };
            if !sleep_or_shutdown(delay, &shutdown).await {
                return;
            }
        }
    }

    /// One fetch; publishes a new snapshot when the document changed.
    async fn update(&mut self, inner: &Inner) -> Result<(), String> {
        let (body, etag) = match self.fetch().await? {
            Fetched::NotModified => {
                tracing::debug!(url = %self.url, "registry list not modified");
                return Ok(());
            }
            Fetched::Document { body, etag } => (body, etag),
        };
        let options = self.options.clone();
        let parsed = tokio::task::spawn_blocking(move || parse_list(&body, &options))
            .await
            .map_err(|e| format!("parsing the registry list failed: {e}"))?
            .map_err(|e| e.to_string())?;
        let warnings = parsed.warnings.len();
        let changed = inner.publish(parsed.snapshot);
        // Warnings once per new document, and not thousands of lines for a broken one.
        for w in parsed.warnings.iter().take(MAX_LOGGED_WARNINGS) {
            if changed {
                tracing::warn!(url = %self.url, "registry list: {w}");
            } else {
                tracing::debug!(url = %self.url, "registry list: {w}");
            }
        }
        if changed && warnings > MAX_LOGGED_WARNINGS {
            tracing::warn!(
                url = %self.url,
                "registry list: {} more warnings not shown",
                warnings - MAX_LOGGED_WARNINGS
            );
        }
        if changed {
            tracing::info!(url = %self.url, key = ?parsed.key, warnings, "registry list loaded");
        }
        // Only now: a document that failed to parse is fetched again in full next time.
        self.etag = etag;
        Ok(())
    }

    async fn fetch(&self) -> Result<Fetched, String> {
        let mut request = self
            .client
            .get(self.url.clone())
            .header(header::ACCEPT, "application/json");
        if let Some(etag) = &self.etag {
            request = request.header(header::IF_NONE_MATCH, etag.clone());
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| format!("GET {}: {}", self.url, error_chain(&e)))?;
        match response.status() {
            StatusCode::OK => {}
            StatusCode::NOT_MODIFIED if self.etag.is_some() => return Ok(Fetched::NotModified),
            status => return Err(format!("GET {}: HTTP {status}", self.url)),
        }
        let too_large = || {
            format!(
                "GET {}: the list is larger than {MAX_DOCUMENT_BYTES} bytes",
                self.url
            )
        };
        if response
            .content_length()
            .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
        {
            return Err(too_large());
        }
        let etag = response.headers().get(header::ETAG).cloned();
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| format!("GET {}: {}", self.url, error_chain(&e)))?
        {
            if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Document { body, etag })
    }
}

// ---------------------------------------------------------------------------------------------
// gRPC to EMREG

/// Adds `authorization: Bearer …` when a token is configured.
#[derive(Clone, Default)]
struct Bearer(Option<MetadataValue<Ascii>>);

impl fmt::Debug for Bearer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Bearer(redacted)"
        } else {
            "Bearer(none)"
        })
    }
}

impl Bearer {
    fn from_file(path: Option<&Path>) -> Result<Self, RegistryError> {
        let Some(path) = path else {
            return Ok(Self(None));
        };
        let token = std::fs::read_to_string(path).map_err(|source| RegistryError::TokenFile {
            path: path.to_path_buf(),
            source,
        })?;
        let value = format!("Bearer {}", token.trim()).parse().map_err(|_| {
            RegistryError::TokenInvalid {
                path: path.to_path_buf(),
            }
        })?;
        Ok(Self(Some(value)))
    }
}

impl Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}

type Client = RegistryClient<InterceptedService<Channel, Bearer>>;

fn status_text(what: &str, status: &tonic::Status) -> String {
    format!("{what}: {:?}: {}", status.code(), status.message())
}

/// The registry as built from List and Watch events.
#[derive(Debug, Default)]
struct GrpcState {
    revision: u64,
    ncps: BTreeMap<String, RegistryNcp>,
    countries: BTreeMap<String, RegistryCountry>,
}

impl GrpcState {
    fn from_list(list: pb::ListResponse) -> Self {
        Self {
            revision: list.revision,
            ncps: list
                .entries
                .into_iter()
                .map(|e| (e.acronym.clone(), ncp_from_entry(e)))
                .collect(),
            countries: list
                .countries
                .into_iter()
                .map(|c| (c.country_code.clone(), country_from_pb(c)))
                .collect(),
        }
    }

    /// Applies one event; `Err` on a revision gap (the caller starts over with List).
    fn apply(&mut self, event: pb::WatchEvent) -> Result<bool, String> {
        use pb::watch_event::Change;
        let Some(change) = event.change else {
            return Err(format!("Watch event {} without a change", event.revision));
        };
        if let Change::Snapshot(list) = change {
            let mut state = GrpcState::from_list(list);
            state.revision = event.revision;
            *self = state;
            return Ok(true);
        }
        if event.revision <= self.revision {
            return Ok(false); // already in the state
        }
        if event.revision != self.revision + 1 {
            return Err(format!(
                "Watch jumped from revision {} to {}",
                self.revision, event.revision
            ));
        }
        self.revision = event.revision;
        match change {
            Change::Snapshot(_) => {}
            Change::Upserted(entry) => {
                self.ncps
                    .insert(entry.acronym.clone(), ncp_from_entry(entry));
            }
            Change::DeletedAcronym(acronym) => {
                self.ncps.remove(&acronym);
            }
            Change::Country(country) => {
                self.countries
                    .insert(country.country_code.clone(), country_from_pb(country));
            }
        }
        Ok(true)
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot::from_parts(
            self.countries.values().cloned().collect(),
            self.ncps.values().cloned().collect(),
        )
    }
}

fn country_from_pb(c: pb::Country) -> RegistryCountry {
    RegistryCountry {
        name: if c.country_name.is_empty() {
            c.country_code.clone()
        } else {
            c.country_name
        },
        code: c.country_code,
        single_fetch: c.single_fetch,
    }
}

fn ncp_from_entry(e: pb::Entry) -> RegistryNcp {
    let certificates = match certificates_from_texts(e.certificates_pem.iter().map(String::as_str))
    {
        Ok((certs, errors)) => {
            for error in errors {
                tracing::warn!(acronym = %e.acronym, error, "registry certificate ignored");
            }
            certs
        }
        Err(count) => {
            tracing::warn!(acronym = %e.acronym, count, "registry entry has too many certificates; none used");
            Vec::new()
        }
    };
    RegistryNcp {
        acronym: e.acronym,
        country_code: e.country_code,
        institutions: e.institutions,
        url: e.url,
        certificates,
        legacy_algorithms: e.legacy_algorithms,
    }
}

/// How a List + Watch session ended.
struct SessionEnd {
    error: String,
    /// The session worked for a while (events applied, or the stream lived long enough): the
    /// next attempt starts with a short delay again.
    healthy: bool,
}

async fn run_grpc(inner: Arc<Inner>, mut client: Client, shutdown: Shutdown) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let end = tokio::select! {
            end = grpc_session(&inner, &mut client) => end,
            () = shutdown.triggered() => return,
        };
        if end.healthy {
            backoff.reset();
        }
        inner.failed(&end.error);
        if !sleep_or_shutdown(backoff.next_delay(), &shutdown).await {
            return;
        }
    }
}

/// List, then Watch until something goes wrong.
async fn grpc_session(inner: &Inner, client: &mut Client) -> SessionEnd {
    let failed = |error: String| SessionEnd {
        error,
        healthy: false,
    };
    let list = match client.list(pb::ListRequest::default()).await {
        Ok(r) => r.into_inner(),
        Err(s) => return failed(status_text("List", &s)),
    };
    let mut state = GrpcState::from_list(list);
    inner.publish(state.snapshot());
    inner.succeeded();
    let mut healthy = false;
    'watch: loop {
        let request = pb::WatchRequest {
            since_revision: state.revision,
        };
        let mut stream = match client.watch(request).await {
            Ok(r) => r.into_inner(),
            Err(s) => {
                return SessionEnd {
                    error: status_text("Watch", &s),
                    healthy,
                };
            }
        };
        let opened = Instant::now();
        let mut resync = tokio::time::interval_at(
            tokio::time::Instant::now() + RESYNC_INTERVAL,
            RESYNC_INTERVAL,
        );
        loop {
            let received = tokio::select! {
                r = stream.message() => r,
                _ = resync.tick() => {
                    match client.list(pb::ListRequest::default()).await {
                        Ok(r) => {
                            let list = r.into_inner();
                            if list.revision > state.revision {
                                tracing::info!(
                                    stream = state.revision,
                                    registry = list.revision,
                                    "registry Watch is behind; resynchronising"
                                );
                                state = GrpcState::from_list(list);
                                inner.publish(state.snapshot());
                                inner.succeeded();
                                continue 'watch;
                            }
                            inner.succeeded();
                            continue;
                        }
                        Err(s) => return SessionEnd {
                            error: status_text("List", &s),
                            healthy: true,
                        },
                    }
                }
            };
            let healthy_now = healthy || opened.elapsed() > Duration::from_secs(30);
            let ended = |error: String| SessionEnd {
                error,
                healthy: healthy_now,
            };
            let event = match received {
                Ok(Some(event)) => event,
                Ok(None) => return ended("the registry ended the Watch stream".into()),
                Err(s) => return ended(status_text("Watch", &s)),
            };
            let mut changed = match state.apply(event) {
                Ok(changed) => changed,
                Err(e) => return ended(e),
            };
            // Apply what has already arrived before publishing (bursts, catch-up).
            let mut end = None;
            for _ in 1..MAX_EVENTS_PER_PUBLISH {
                match tokio::time::timeout(Duration::ZERO, stream.message()).await {
                    Ok(Ok(Some(event))) => match state.apply(event) {
                        Ok(c) => changed |= c,
                        Err(e) => {
                            end = Some(e);
                            break;
                        }
                    },
                    Ok(Ok(None)) => {
                        end = Some("the registry ended the Watch stream".into());
                        break;
                    }
                    Ok(Err(s)) => {
                        end = Some(status_text("Watch", &s));
                        break;
                    }
                    Err(_) => break,
                }
            }
            if changed {
                inner.publish(state.snapshot());
            }
            if let Some(error) = end {
                return SessionEnd {
                    error,
                    healthy: true,
                };
            }
            inner.succeeded();
            healthy = true;
        }
    }
}
