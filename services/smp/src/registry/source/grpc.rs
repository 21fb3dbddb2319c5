//! The `grpc` source: our EMREG. `List` for the first snapshot (entries and countries), then
//! `Watch` from that revision to apply every change as it happens. Events must arrive in
//! consecutive revision order (EMREG guarantees it); a gap, a stream error or the stream ending
//! makes the client reconnect with backoff and start again with `List`. Every
//! [`RESYNC_INTERVAL`] it also calls `List` and, if the registry is ahead of the stream (a
//! silently dead connection, or a change written by another EMREG process on a shared
//! database), takes that state and restarts the Watch from it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use emrex_proto::registry::v1 as pb;
use emrex_proto::registry::v1::registry_client::RegistryClient;
use emrex_runtime::grpc::AuthChannel;
use emrex_runtime::shutdown::Shutdown;

use super::Inner;
use super::backoff::{Backoff, sleep_or_shutdown};
use crate::registry::jsonlist::certificates_from_texts;
use crate::registry::{RegistryCountry, RegistryNcp, Snapshot};

/// How often the gRPC client compares the registry's revision with its Watch stream.
pub const RESYNC_INTERVAL: Duration = Duration::from_secs(300);

/// Largest gRPC message accepted from EMREG (a `List` of thousands of NCPs with their
/// certificates).
pub(super) const MAX_GRPC_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Watch events applied before a new snapshot is published, when they arrive in a burst.
const MAX_EVENTS_PER_PUBLISH: usize = 1024;

pub(super) type Client = RegistryClient<AuthChannel>;

/// Why a List + Watch session ended (the client starts over with List after a backoff).
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// A call failed (its gRPC code and message say why).
    #[error("{call}: {:?}: {}", status.code(), status.message())]
    Call {
        /// `List` or `Watch`.
        call: &'static str,
        status: tonic::Status,
    },
    /// The registry closed the Watch stream.
    #[error("the registry ended the Watch stream")]
    Ended,
    /// An event without its change.
    #[error("Watch event {revision} without a change")]
    EmptyEvent { revision: u64 },
    /// Events skipped a revision: changes would be missing.
    #[error("Watch jumped from revision {from} to {to}")]
    Gap { from: u64, to: u64 },
}

impl WatchError {
    fn call(call: &'static str) -> impl FnOnce(tonic::Status) -> WatchError {
        move |status| WatchError::Call { call, status }
    }
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

    /// Applies one event: `Ok(true)` when it changed the state, `Ok(false)` when it was already
    /// in it, `Err` on a revision gap or an empty event (the caller starts over with List).
    fn apply(&mut self, event: pb::WatchEvent) -> Result<bool, WatchError> {
        use pb::watch_event::Change;
        let Some(change) = event.change else {
            return Err(WatchError::EmptyEvent {
                revision: event.revision,
            });
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
            return Err(WatchError::Gap {
                from: self.revision,
                to: event.revision,
            });
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
    error: WatchError,
    /// The session worked for a while (events applied, or the stream lived long enough): the
    /// next attempt starts with a short delay again.
    healthy: bool,
}

/// Follows the registry until `shutdown`: sessions of List + Watch, with backoff between them.
pub(super) async fn run(inner: Arc<Inner>, mut client: Client, shutdown: Shutdown) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        let end = tokio::select! {
            end = session(&inner, &mut client) => end,
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
async fn session(inner: &Inner, client: &mut Client) -> SessionEnd {
    let list = match client.list(pb::ListRequest::default()).await {
        Ok(r) => r.into_inner(),
        Err(s) => {
            return SessionEnd {
                error: WatchError::call("List")(s),
                healthy: false,
            };
        }
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
                    error: WatchError::call("Watch")(s),
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
                            error: WatchError::call("List")(s),
                            healthy: true,
                        },
                    }
                }
            };
            let ended = |error: WatchError| SessionEnd {
                error,
                healthy: healthy || opened.elapsed() > Duration::from_secs(30),
            };
            let event = match received {
                Ok(Some(event)) => event,
                Ok(None) => return ended(WatchError::Ended),
                Err(s) => return ended(WatchError::call("Watch")(s)),
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
                        end = Some(WatchError::Ended);
                        break;
                    }
                    Ok(Err(s)) => {
                        end = Some(WatchError::call("Watch")(s));
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

#[cfg(test)]
mod tests {
    use super::*;
    use pb::watch_event::Change;

    fn entry(acronym: &str) -> pb::Entry {
        pb::Entry {
            acronym: acronym.into(),
            country_code: "NO".into(),
            url: format!("https://{acronym}.example/"),
            ..pb::Entry::default()
        }
    }

    fn event(revision: u64, change: Option<Change>) -> pb::WatchEvent {
        pb::WatchEvent { revision, change }
    }

    #[test]
    fn events_apply_in_order_old_ones_are_ignored_and_gaps_end_the_session() {
        let mut state = GrpcState::from_list(pb::ListResponse {
            revision: 4,
            entries: vec![entry("A")],
            ..pb::ListResponse::default()
        });
        let up = |r, a: &str| event(r, Some(Change::Upserted(entry(a))));
        assert!(matches!(state.apply(up(4, "OLD")), Ok(false)));
        assert!(matches!(state.apply(up(5, "B")), Ok(true)));
        assert!(matches!(
            state.apply(event(6, Some(Change::DeletedAcronym("A".into())))),
            Ok(true)
        ));
        assert_eq!(state.ncps.keys().collect::<Vec<_>>(), ["B"]);
        assert!(matches!(
            state.apply(up(8, "C")),
            Err(WatchError::Gap { from: 6, to: 8 })
        ));
        assert!(matches!(
            state.apply(event(7, None)),
            Err(WatchError::EmptyEvent { revision: 7 })
        ));
        let err = WatchError::call("List")(tonic::Status::unavailable("down"));
        assert_eq!(err.to_string(), "List: Unavailable: down");
    }
}
