//! The gRPC services of `emrex.registry.v1`.
//!
//! * [`RegistryService`] — `Registry`: List, Get and Watch, open to any client of the federation.
//! * [`RegistryAdminService`] — `RegistryAdmin`: Upsert, Delete, SetCountry, ReplaceAll.
//!   **It performs no authentication.** Whoever serves it must wrap it, e.g.
//!   `tonic::service::interceptor::InterceptedService::new(registry_admin_server(svc), auth)` or a
//!   tower layer, so that only administrators reach it.
//!
//! Status codes: invalid input → `INVALID_ARGUMENT` (the message names the field, e.g.
//! `entries[2].url: must use https …`), duplicate acronym/country in ReplaceAll →
//! `INVALID_ARGUMENT`, unknown acronym → `NOT_FOUND`, `expected_generation` mismatch → `ABORTED`,
//! `generation` not above the current one → `FAILED_PRECONDITION`, database trouble →
//! `UNAVAILABLE`/`INTERNAL` (details only in the log). Requests larger than
//! [`MAX_MESSAGE_BYTES`] are refused by tonic's decoder when the servers are built with
//! [`registry_server`] / [`registry_admin_server`]; tonic reports that as `OUT_OF_RANGE`, which
//! [`OversizeAsResourceExhausted`] turns into `RESOURCE_EXHAUSTED`, the code gRPC's reference
//! implementations (C core, Java, Go) use for it.
//!
//! ## Watch without gaps
//!
//! Revisions are consecutive (every change adds one), which makes a missed change detectable.
//! A Watch stream:
//!
//! 1. subscribes to the store's change feed **before** reading anything, so every change
//!    committed after the snapshot is already queued for it;
//! 2. sends a snapshot when `since_revision` is 0, or resumes by replaying `changes_since` from
//!    the change log, falling back to a snapshot when the log cannot serve it (too old, or newer
//!    than the registry);
//! 3. then forwards live changes, dropping those at or below the revision it has already sent
//!    (they are in the snapshot), and whenever the next change is not exactly `last + 1` (the
//!    broadcast lagged, or another process wrote to a shared database) it replays the missing
//!    ones from the change log — or, if they are gone, sends a fresh snapshot;
//! 4. turns a `ReplaceAll` into a fresh snapshot (the change carries no data).
//!
//! So a client sees events in strictly increasing revision order, and the state it builds equals
//! the registry at the revision of the last event.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use emrex_proto::registry::v1 as pb;
use emrex_proto::registry::v1::registry_admin_server::{RegistryAdmin, RegistryAdminServer};
use emrex_proto::registry::v1::registry_server::{Registry, RegistryServer};
use emrex_runtime::shutdown::Shutdown;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::model::{Change, ChangeKind};
use crate::store::{RegistryStore, StoreError};
use crate::validate::validate_acronym;

/// Largest accepted request (and the default tonic also applies): 4 MiB. A full ReplaceAll of a
/// few hundred providers with two certificates each is well below 1 MiB.
pub const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// Events buffered per Watch stream before the sender waits for the client.
const WATCH_BUFFER: usize = 64;

/// The `Registry` server for `service`, with the request size limit set (oversized requests get
/// `RESOURCE_EXHAUSTED`). Add it to a `tonic::transport::Server` or a routes builder.
pub fn registry_server<S: RegistryStore>(
    service: RegistryService<S>,
) -> OversizeAsResourceExhausted<RegistryServer<RegistryService<S>>> {
    OversizeAsResourceExhausted::new(
        RegistryServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES),
    )
}

/// The `RegistryAdmin` server for `service`, with the request size limit set (oversized requests
/// get `RESOURCE_EXHAUSTED`). **Wrap it with authentication before serving it**, e.g.
/// `InterceptedService::new(registry_admin_server(svc), check_admin_token)`.
pub fn registry_admin_server<S: RegistryStore>(
    service: RegistryAdminService<S>,
) -> OversizeAsResourceExhausted<RegistryAdminServer<RegistryAdminService<S>>> {
    OversizeAsResourceExhausted::new(
        RegistryAdminServer::new(service).max_decoding_message_size(MAX_MESSAGE_BYTES),
    )
}

/// Wraps a tonic server so that a request refused for exceeding the decoding limit is answered
/// with `RESOURCE_EXHAUSTED` (gRPC's code for "message larger than the limit") instead of
/// tonic's `OUT_OF_RANGE`. Other responses pass through untouched.
#[derive(Debug, Clone)]
pub struct OversizeAsResourceExhausted<S> {
    inner: S,
}

impl<S> OversizeAsResourceExhausted<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
    }
}

impl<S: tonic::server::NamedService> tonic::server::NamedService
    for OversizeAsResourceExhausted<S>
{
    const NAME: &'static str = S::NAME;
}

impl<S, ReqBody, ResBody> tower::Service<axum::http::Request<ReqBody>>
    for OversizeAsResourceExhausted<S>
where
    S: tower::Service<axum::http::Request<ReqBody>, Response = axum::http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: axum::http::Request<ReqBody>) -> Self::Future {
        let response = self.inner.call(request);
        Box::pin(async move {
            let mut response = response.await?;
            // A decode error ends the call before any message: tonic answers "trailers-only",
            // with the status in the response headers and, unencoded, in the extensions.
            let oversize = response.extensions().get::<Status>().is_some_and(|s| {
                s.code() == tonic::Code::OutOfRange
                    && s.message().contains("message length too large")
            });
            if oversize {
                response
                    .headers_mut()
                    .insert("grpc-status", axum::http::HeaderValue::from_static("8"));
                if let Some(status) = response.extensions_mut().remove::<Status>() {
                    response
                        .extensions_mut()
                        .insert(Status::resource_exhausted(status.message().to_string()));
                }
            }
            Ok(response)
        })
    }
}

/// Maps store errors to gRPC statuses (see the module documentation). Database details are
/// logged, not sent.
pub fn status_from_store(e: StoreError) -> Status {
    match &e {
        StoreError::Invalid(_)
        | StoreError::DuplicateAcronym { .. }
        | StoreError::DuplicateCountry { .. } => Status::invalid_argument(e.to_string()),
        StoreError::NotFound(_) => Status::not_found(e.to_string()),
        StoreError::GenerationConflict { .. } => Status::aborted(e.to_string()),
        StoreError::GenerationNotIncreasing { .. } => Status::failed_precondition(e.to_string()),
        StoreError::Gap(_) => Status::out_of_range(e.to_string()),
        StoreError::Database(_) => {
            tracing::error!(error = %e, "registry database error");
            Status::unavailable("registry storage is unavailable")
        }
        StoreError::Config(_) | StoreError::Open(_) | StoreError::Corrupt(_) => {
            tracing::error!(error = %e, "registry storage error");
            Status::internal("registry storage error")
        }
    }
}

fn checked_acronym(acronym: &str) -> Result<(), Status> {
    validate_acronym(acronym).map_err(|e| Status::invalid_argument(e.to_string()))
}

/// `Registry`: read access and Watch.
#[derive(Debug)]
pub struct RegistryService<S> {
    store: Arc<S>,
    shutdown: Shutdown,
}

impl<S: RegistryStore> RegistryService<S> {
    /// A service reading `store`.
    pub fn new(store: Arc<S>) -> Self {
        Self {
            store,
            shutdown: Shutdown::new(),
        }
    }

    /// Ends every Watch stream with `UNAVAILABLE` when `shutdown`'s listeners close, so a
    /// replica that is stopping exits at the end of its drain instead of waiting out the
    /// shutdown timeout for streams that never end; clients resume from their last revision
    /// elsewhere.
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }
}

/// The stream type of Watch.
pub type WatchStream = Pin<Box<dyn Stream<Item = Result<pb::WatchEvent, Status>> + Send>>;

#[tonic::async_trait]
impl<S: RegistryStore> Registry for RegistryService<S> {
    async fn list(
        &self,
        request: Request<pb::ListRequest>,
    ) -> Result<Response<pb::ListResponse>, Status> {
        let code = request.into_inner().country_code;
        let filter = (!code.is_empty()).then_some(code.as_str());
        let snapshot = self.store.list(filter).await.map_err(status_from_store)?;
        Ok(Response::new(snapshot.into()))
    }

    async fn get(&self, request: Request<pb::GetRequest>) -> Result<Response<pb::Entry>, Status> {
        let acronym = request.into_inner().acronym;
        checked_acronym(&acronym)?;
        match self.store.get(&acronym).await.map_err(status_from_store)? {
            Some(entry) => Ok(Response::new(entry.into())),
            None => Err(status_from_store(StoreError::NotFound(acronym))),
        }
    }

    type WatchStream = WatchStream;

    async fn watch(
        &self,
        request: Request<pb::WatchRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let since = request.into_inner().since_revision;
        // Subscribe first: anything committed from now on is queued for this stream.
        let feed = self.store.subscribe();
        let store = Arc::clone(&self.store);
        let shutdown = self.shutdown.clone();
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        tokio::spawn(async move {
            let mut watcher = Watcher {
                store: store.as_ref(),
                tx: &tx,
                last: 0,
            };
            let ended = tokio::select! {
                ended = watcher.run(feed, since) => ended,
                () = shutdown.listeners_closing() => Err(WatchEnd::Stopping),
            };
            match ended {
                Ok(()) | Err(WatchEnd::ClientGone) => {}
                Err(WatchEnd::Stopping) => {
                    let _ = tx
                        .send(Err(Status::unavailable(
                            "this registry replica is stopping: watch again from your last revision",
                        )))
                        .await;
                }
                Err(WatchEnd::Store(e)) => {
                    let _ = tx.send(Err(status_from_store(e))).await;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// Why a Watch stream stopped early.
enum WatchEnd {
    ClientGone,
    Store(StoreError),
    /// The replica's listeners are closing.
    Stopping,
}

/// The state of one Watch stream: the revision of the last event sent.
struct Watcher<'a, S> {
    store: &'a S,
    tx: &'a mpsc::Sender<Result<pb::WatchEvent, Status>>,
    last: u64,
}

impl<S: RegistryStore> Watcher<'_, S> {
    async fn run(
        &mut self,
        mut feed: broadcast::Receiver<Change>,
        since: u64,
    ) -> Result<(), WatchEnd> {
        if since == 0 {
            self.snapshot().await?;
        } else {
            self.last = since;
            self.catch_up().await?;
        }
        loop {
            let received = tokio::select! {
                () = self.tx.closed() => return Err(WatchEnd::ClientGone),
                r = feed.recv() => r,
            };
            match received {
                Ok(change) if change.revision <= self.last => {}
                Ok(change) if change.revision == self.last + 1 => self.apply(change).await?,
                // A jump: something was missed; the log has it (and this change too).
                Ok(_) => self.catch_up().await?,
                Err(broadcast::error::RecvError::Lagged(skipped)) => {
                    tracing::debug!(skipped, "watch stream lagged; replaying from the log");
                    self.catch_up().await?;
                }
                Err(broadcast::error::RecvError::Closed) => return Ok(()),
            }
        }
    }

    async fn send(&self, revision: u64, change: pb::watch_event::Change) -> Result<(), WatchEnd> {
        let event = pb::WatchEvent {
            revision,
            change: Some(change),
        };
        self.tx
            .send(Ok(event))
            .await
            .map_err(|_| WatchEnd::ClientGone)
    }

    /// Sends the current state and continues from its revision.
    async fn snapshot(&mut self) -> Result<(), WatchEnd> {
        let snapshot = self.store.list(None).await.map_err(WatchEnd::Store)?;
        let revision = snapshot.revision;
        self.send(revision, pb::watch_event::Change::Snapshot(snapshot.into()))
            .await?;
        self.last = revision;
        Ok(())
    }

    /// Sends `change`, which must be the one right after `self.last`.
    async fn apply(&mut self, change: Change) -> Result<(), WatchEnd> {
        let event = match change.kind {
            ChangeKind::Replaced { .. } => return self.snapshot().await,
            ChangeKind::Upserted(entry) => pb::watch_event::Change::Upserted(entry.into()),
            ChangeKind::Deleted(acronym) => pb::watch_event::Change::DeletedAcronym(acronym),
            ChangeKind::Country(country) => pb::watch_event::Change::Country(country.into()),
        };
        self.send(change.revision, event).await?;
        self.last = change.revision;
        Ok(())
    }

    /// Replays everything after `self.last` from the change log, or sends a snapshot when the
    /// log cannot.
    async fn catch_up(&mut self) -> Result<(), WatchEnd> {
        let changes = match self.store.changes_since(self.last).await {
            Ok(changes) => changes,
            Err(StoreError::Gap(gap)) => {
                tracing::debug!(%gap, "watch resumes with a snapshot");
                return self.snapshot().await;
            }
            Err(e) => return Err(WatchEnd::Store(e)),
        };
        for change in changes {
            if change.revision <= self.last {
                continue; // covered by a snapshot sent during this replay
            }
            if change.revision != self.last + 1 {
                return self.snapshot().await;
            }
            self.apply(change).await?;
        }
        Ok(())
    }
}

/// `RegistryAdmin`: writes. **No authentication here; wrap it.**
#[derive(Debug)]
pub struct RegistryAdminService<S> {
    store: Arc<S>,
}

impl<S: RegistryStore> RegistryAdminService<S> {
    /// A service writing to `store`.
    pub fn new(store: Arc<S>) -> Self {
        Self { store }
    }
}

#[tonic::async_trait]
impl<S: RegistryStore> RegistryAdmin for RegistryAdminService<S> {
    async fn upsert(
        &self,
        request: Request<pb::UpsertRequest>,
    ) -> Result<Response<pb::UpsertResponse>, Status> {
        let entry = request
            .into_inner()
            .entry
            .ok_or_else(|| Status::invalid_argument("entry: required"))?;
        let stored = self
            .store
            .upsert(entry.into())
            .await
            .map_err(status_from_store)?;
        tracing::info!(acronym = %stored.acronym, revision = stored.revision, "registry entry upserted");
        Ok(Response::new(pb::UpsertResponse {
            entry: Some(stored.into()),
        }))
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteResponse>, Status> {
        let acronym = request.into_inner().acronym;
        checked_acronym(&acronym)?;
        let revision = self
            .store
            .delete(&acronym)
            .await
            .map_err(status_from_store)?;
        tracing::info!(%acronym, revision, "registry entry deleted");
        Ok(Response::new(pb::DeleteResponse { revision }))
    }

    async fn set_country(
        &self,
        request: Request<pb::SetCountryRequest>,
    ) -> Result<Response<pb::SetCountryResponse>, Status> {
        let country = request
            .into_inner()
            .country
            .ok_or_else(|| Status::invalid_argument("country: required"))?;
        let revision = self
            .store
            .set_country(country.into())
            .await
            .map_err(status_from_store)?;
        tracing::info!(revision, "registry country set");
        Ok(Response::new(pb::SetCountryResponse { revision }))
    }

    async fn replace_all(
        &self,
        request: Request<pb::ReplaceAllRequest>,
    ) -> Result<Response<pb::ReplaceAllResponse>, Status> {
        let req = request.into_inner();
        let entries = req.entries.len();
        let outcome = self
            .store
            .replace_all(
                req.entries.into_iter().map(Into::into).collect(),
                req.countries.into_iter().map(Into::into).collect(),
                req.expected_generation,
                req.generation,
            )
            .await
            .map_err(status_from_store)?;
        tracing::info!(
            entries,
            revision = outcome.revision,
            generation = outcome.generation,
            "registry replaced"
        );
        Ok(Response::new(pb::ReplaceAllResponse {
            revision: outcome.revision,
            generation: outcome.generation,
        }))
    }
}
