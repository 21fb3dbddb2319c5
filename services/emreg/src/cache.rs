//! The documents EMREG serves over HTTP (the JSON lists, the EWP manifest), rendered once per
//! store revision instead of once per request.
//!
//! Rendering a list reads every entry, parses every certificate (to pick the one valid now),
//! serialises the JSON and hashes it: a few milliseconds for 200 entries, which capped EMREG at
//! ~2 % of what nginx serves from a static file (docs/benchmarks.md). A rendered document depends
//! only on the registry's content and on which certificates are valid now, so [`DocumentCache`]
//! keeps it — identity body, a pre-compressed gzip body and their validators — until either
//! changes:
//!
//! * **Any store change.** The cache holds a subscription to the store's change feed
//!   ([`RegistryStore::subscribe`]), which delivers every committed change whichever replica made
//!   it (PostgreSQL: `LISTEN/NOTIFY` plus the change log). Each request drains the subscription
//!   first; any change, or a lag notice, drops every cached document. A document is only stored
//!   if no change arrived between the moment its snapshot was requested and the moment it was
//!   rendered, so a document built from an older snapshot never outlives the change that
//!   superseded it. If the feed ever closes, nothing is cached any more (every request renders,
//!   as before the cache existed): fail towards freshness.
//! * **The next certificate validity boundary** ([`next_validity_boundary`]): the earliest
//!   notBefore or notAfter + 1 s ahead of any certificate of the registry, when the choice of
//!   `pubKey` or of the manifest's certificates can change.
//! * **[`MAX_AGE_SECS`]** as a safety net, whatever happens: a document is re-rendered at least
//!   that often.
//!
//! The feed delivers a change a moment after its commit, so a request in that moment can still
//! get the previous document; clients see changes with up to `max-age=60` of delay anyway.
//! Rendering (certificate parsing, JSON, gzip) runs on the blocking pool, one render at a time,
//! so a burst of requests after a change renders once and does not hold up the async workers.

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::HeaderValue;
use tokio::sync::broadcast::{self, error::TryRecvError};

use crate::jsonlist::{ListKey, RenderOptions, RenderedList, next_validity_boundary};
use crate::model::{Change, Snapshot};
use crate::store::{RegistryStore, StoreError};

/// A cached document is rendered again at least this often, even with no change and no validity
/// boundary ahead (a safety net; the change feed is the real trigger).
pub const MAX_AGE_SECS: i64 = 300;

/// The current time in Unix seconds. Injectable so tests can move across a certificate's validity
/// boundary without waiting for it.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// Which document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// `/ncp-list.json` or `/emp-list.json`, with or without `pubKeys`.
    List(ListKey, RenderOptions),
    /// `/ewp/manifest.xml`.
    EwpManifest,
    /// `/wallet-issuers.json`.
    WalletIssuers,
}

/// A rendered document ready to serve: bodies and header values computed once.
#[derive(Debug)]
pub struct CachedDocument {
    /// The document as rendered.
    pub identity: Bytes,
    /// Its gzip encoding, when that is smaller than the identity body.
    pub gzip: Option<Bytes>,
    /// Strong ETag of the identity body.
    pub etag: HeaderValue,
    /// Strong ETag of the gzip body (the identity tag with `-gzip` inside the quotes: a strong
    /// validator names one representation, RFC 9110 §8.8.1).
    pub gzip_etag: HeaderValue,
    /// `Last-Modified`, when the registry ever changed.
    pub last_modified: Option<HeaderValue>,
}

impl CachedDocument {
    /// Compresses and prepares the headers of `rendered` (CPU work: call off the async workers).
    pub fn prepare(rendered: RenderedList) -> Self {
        let identity = Bytes::from(rendered.body);
        let gzip = gzip(&identity).filter(|z| z.len() < identity.len());
        let quoted = rendered.etag.trim_matches('"');
        let etag = HeaderValue::from_str(&rendered.etag)
            .unwrap_or_else(|_| HeaderValue::from_static("\"unknown\""));
        let gzip_etag = HeaderValue::from_str(&format!("\"{quoted}-gzip\""))
            .unwrap_or_else(|_| HeaderValue::from_static("\"unknown-gzip\""));
        let last_modified = rendered
            .last_modified_unix
            .and_then(|s| u64::try_from(s).ok())
            .and_then(|secs| {
                HeaderValue::from_str(&httpdate::fmt_http_date(
                    UNIX_EPOCH + Duration::from_secs(secs),
                ))
                .ok()
            });
        Self {
            identity,
            gzip: gzip.map(Bytes::from),
            etag,
            gzip_etag,
            last_modified,
        }
    }
}

/// gzip at the best level: the body is compressed once per revision, so size wins over speed.
fn gzip(body: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::best(),
    );
    encoder.write_all(body).ok()?;
    encoder.finish().ok()
}

/// Why a document could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    /// Reading the registry failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The render task panicked or was cancelled.
    #[error("rendering failed: {0}")]
    Render(String),
}

struct Slot {
    document: Arc<CachedDocument>,
    /// Unix seconds from which the document must be rendered again.
    expires: i64,
}

struct State {
    changes: broadcast::Receiver<Change>,
    /// False once the change feed closed: nothing is cached from then on.
    feed_open: bool,
    /// Bumped whenever a change (or a lag notice) is seen.
    epoch: u64,
    documents: HashMap<DocumentKind, Slot>,
}

impl State {
    /// Takes every change the feed delivered since the last call; any → drop every document.
    fn absorb_changes(&mut self) {
        let mut changed = false;
        loop {
            match self.changes.try_recv() {
                Ok(_) | Err(TryRecvError::Lagged(_)) => changed = true,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Closed) => {
                    if self.feed_open {
                        tracing::warn!(
                            "the registry's change feed closed: the HTTP documents are rendered per request from now on"
                        );
                    }
                    self.feed_open = false;
                    changed = true;
                    break;
                }
            }
        }
        if changed {
            self.epoch += 1;
            self.documents.clear();
        }
    }
}

/// The documents of one store, cached per revision (see the module documentation).
pub struct DocumentCache<S> {
    store: Arc<S>,
    clock: Clock,
    state: Mutex<State>,
    /// One render at a time: the requests that miss together wait for one render.
    render: tokio::sync::Mutex<()>,
    renders: AtomicU64,
}

impl<S> std::fmt::Debug for DocumentCache<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentCache")
            .field("renders", &self.renders.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<S: RegistryStore> DocumentCache<S> {
    /// A cache of `store`'s documents, on the system clock.
    pub fn new(store: Arc<S>) -> Self {
        Self::with_clock(store, Arc::new(crate::store::now_unix))
    }

    /// A cache on `clock` (tests move it across validity boundaries).
    pub fn with_clock(store: Arc<S>, clock: Clock) -> Self {
        // Subscribe before the first snapshot is read, so no change falls in between.
        let changes = store.subscribe();
        Self {
            store,
            clock,
            state: Mutex::new(State {
                changes,
                feed_open: true,
                epoch: 0,
                documents: HashMap::new(),
            }),
            render: tokio::sync::Mutex::new(()),
            renders: AtomicU64::new(0),
        }
    }

    /// How many documents were rendered so far (for tests and metrics: a request served from the
    /// cache does not add one).
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// The current time on this cache's clock.
    pub fn now(&self) -> i64 {
        (self.clock)()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state holds no invariant a panicking holder could break half-way (the critical
        // sections only drain a channel and read or replace map entries).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lookup(&self, kind: DocumentKind, now: i64) -> Option<Arc<CachedDocument>> {
        let mut state = self.state();
        state.absorb_changes();
        state
            .documents
            .get(&kind)
            .filter(|slot| now < slot.expires)
            .map(|slot| Arc::clone(&slot.document))
    }

    /// The document `kind`, from the cache or rendered by `render(snapshot, now)` on the blocking
    /// pool (and cached when nothing changed meanwhile).
    pub async fn get<F>(
        &self,
        kind: DocumentKind,
        render: F,
    ) -> Result<Arc<CachedDocument>, CacheError>
    where
        F: FnOnce(&Snapshot, i64) -> RenderedList + Send + 'static,
    {
        if let Some(doc) = self.lookup(kind, self.now()) {
            return Ok(doc);
        }
        let _one_render = self.render.lock().await;
        let now = self.now();
        if let Some(doc) = self.lookup(kind, now) {
            return Ok(doc);
        }
        // The epoch before the snapshot is read: a change seen after this point may not be in
        // the snapshot, so it forbids caching what we render from it.
        let epoch = self.state().epoch;
        let snapshot = self.store.list(None).await?;
        let (document, boundary) = tokio::task::spawn_blocking(move || {
            let boundary = next_validity_boundary(&snapshot, now);
            (CachedDocument::prepare(render(&snapshot, now)), boundary)
        })
        .await
        .map_err(|e| CacheError::Render(e.to_string()))?;
        self.renders.fetch_add(1, Ordering::Relaxed);
        let document = Arc::new(document);
        let expires = boundary.map_or(now.saturating_add(MAX_AGE_SECS), |b| {
            b.min(now.saturating_add(MAX_AGE_SECS))
        });
        let mut state = self.state();
        state.absorb_changes();
        if state.feed_open && state.epoch == epoch {
            state.documents.insert(
                kind,
                Slot {
                    document: Arc::clone(&document),
                    expires,
                },
            );
        }
        Ok(document)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_body_decompresses_to_the_identity_body() {
        let body: Vec<u8> = b"{\"countries\":[],\"ncps\":[]}\n".repeat(200);
        let doc = CachedDocument::prepare(RenderedList {
            etag: crate::jsonlist::strong_etag(&body),
            body: body.clone(),
            last_modified_unix: Some(1_700_000_000),
        });
        let z = doc.gzip.as_ref().expect("a repetitive body compresses");
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&z[..]), &mut out)
            .expect("gunzip");
        assert_eq!(out, body);
        assert_ne!(doc.etag, doc.gzip_etag);
        assert_eq!(
            doc.last_modified.as_ref().map(|v| v.to_str().unwrap_or("")),
            Some("Tue, 14 Nov 2023 22:13:20 GMT")
        );
        // A body that does not shrink is served as is.
        let tiny = CachedDocument::prepare(RenderedList {
            etag: "\"x\"".into(),
            body: b"{}".to_vec(),
            last_modified_unix: None,
        });
        assert!(tiny.gzip.is_none());
        assert!(tiny.last_modified.is_none());
    }
}
