//! The gRPC services in-process: a tonic server on a loopback port (plain TCP), real tonic
//! clients, a SQLite store underneath.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{country, ec_cert, entry, rsa1024_cert};
use emrex_emreg::{
    Entry, RegistryAdminService, RegistryService, RegistryStore, SqliteStore,
    registry_admin_server, registry_server,
};
use emrex_proto::registry::v1 as pb;
use emrex_proto::registry::v1::registry_admin_client::RegistryAdminClient;
use emrex_proto::registry::v1::registry_client::RegistryClient;
use emrex_proto::registry::v1::watch_event::Change as Ev;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Code, Streaming};

struct Harness {
    store: Arc<SqliteStore>,
    client: RegistryClient<Channel>,
    admin: RegistryAdminClient<Channel>,
    _store_guard: common::TestStore<SqliteStore>,
}

async fn start() -> Harness {
    let t = common::sqlite_store().await;
    let store = Arc::clone(&t.store);
    let (client, admin) = serve(Arc::clone(&store)).await;
    Harness {
        store,
        client,
        admin,
        _store_guard: t,
    }
}

/// The Registry services over `store` on a loopback port, and clients for them.
async fn serve<S: RegistryStore>(
    store: Arc<S>,
) -> (RegistryClient<Channel>, RegistryAdminClient<Channel>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tonic::transport::Server::builder()
        .add_service(registry_server(RegistryService::new(Arc::clone(&store))))
        .add_service(registry_admin_server(RegistryAdminService::new(
            Arc::clone(&store),
        )))
        .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener));
    tokio::spawn(server);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    (
        RegistryClient::new(channel.clone()),
        // The client may send anything; the server's limit is what is under test.
        RegistryAdminClient::new(channel).max_encoding_message_size(64 << 20),
    )
}

fn pb_entry(e: Entry) -> pb::Entry {
    e.into()
}

async fn upsert(h: &mut Harness, e: Entry) -> Result<pb::Entry, tonic::Status> {
    h.admin
        .upsert(pb::UpsertRequest {
            entry: Some(pb_entry(e)),
        })
        .await
        .map(|r| r.into_inner().entry.expect("entry"))
}

async fn next(stream: &mut Streaming<pb::WatchEvent>) -> pb::WatchEvent {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("a watch event within 10 s")
        .expect("stream open")
        .expect("event")
}

fn describe(ev: &pb::WatchEvent) -> (u64, String) {
    let what = match ev.change.as_ref().expect("change") {
        Ev::Snapshot(s) => format!(
            "snapshot[{}]",
            s.entries
                .iter()
                .map(|e| e.acronym.as_str())
                .collect::<Vec<_>>()
                .join(",")
        ),
        Ev::Upserted(e) => format!("upserted {}", e.acronym),
        Ev::DeletedAcronym(a) => format!("deleted {a}"),
        Ev::Country(c) => format!("country {}", c.country_code),
    };
    (ev.revision, what)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_get_and_delete() {
    let mut h = start().await;
    let stored = upsert(&mut h, entry("CSC", "FI")).await.expect("upsert");
    assert_eq!(stored.revision, 1);
    upsert(&mut h, entry("UIO", "NO")).await.expect("upsert");
    h.admin
        .set_country(pb::SetCountryRequest {
            country: Some(country("NO", "Norway", false).into()),
        })
        .await
        .expect("country");

    let all = h
        .client
        .list(pb::ListRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(all.revision, 3);
    assert_eq!(all.entries.len(), 2);
    let no = h
        .client
        .list(pb::ListRequest {
            country_code: "NO".into(),
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(no.entries.len(), 1);
    assert_eq!(no.countries.len(), 1);

    let got = h
        .client
        .get(pb::GetRequest {
            acronym: "CSC".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, stored);
    let missing = h
        .client
        .get(pb::GetRequest {
            acronym: "NOPE".into(),
        })
        .await
        .expect_err("missing");
    assert_eq!(missing.code(), Code::NotFound);
    let bad = h
        .client
        .get(pb::GetRequest {
            acronym: "no/pe".into(),
        })
        .await
        .expect_err("bad acronym");
    assert_eq!(bad.code(), Code::InvalidArgument);

    let del = h
        .admin
        .delete(pb::DeleteRequest {
            acronym: "CSC".into(),
        })
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(del.revision, 4);
    let again = h
        .admin
        .delete(pb::DeleteRequest {
            acronym: "CSC".into(),
        })
        .await
        .expect_err("already gone");
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sends_a_snapshot_then_changes_in_order() {
    let mut h = start().await;
    upsert(&mut h, entry("A", "FI")).await.expect("1");

    let mut stream = h
        .client
        .watch(pb::WatchRequest { since_revision: 0 })
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(
        describe(&next(&mut stream).await),
        (1, "snapshot[A]".into())
    );

    upsert(&mut h, entry("B", "NO")).await.expect("2");
    h.admin
        .set_country(pb::SetCountryRequest {
            country: Some(country("FI", "Finland", true).into()),
        })
        .await
        .expect("3");
    h.admin
        .delete(pb::DeleteRequest {
            acronym: "A".into(),
        })
        .await
        .expect("4");
    h.admin
        .replace_all(pb::ReplaceAllRequest {
            entries: vec![pb_entry(entry("C", "DK")), pb_entry(entry("D", "DK"))],
            countries: vec![],
            expected_generation: 0,
            generation: 1,
        })
        .await
        .expect("5");

    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(describe(&next(&mut stream).await));
    }
    assert_eq!(
        seen,
        vec![
            (2, "upserted B".to_string()),
            (3, "country FI".to_string()),
            (4, "deleted A".to_string()),
            // ReplaceAll arrives as a snapshot. (Had another change been committed before the
            // stream read it, the snapshot would include it, carry its revision, and the change
            // itself would be skipped: so the next write happens only after this event.)
            (5, "snapshot[C,D]".to_string()),
        ]
    );
    upsert(&mut h, entry("E", "SE")).await.expect("6");
    assert_eq!(describe(&next(&mut stream).await), (6, "upserted E".into()));

    // Resuming from a revision the log still has replays from there (ReplaceAll → snapshot).
    let mut resumed = h
        .client
        .watch(pb::WatchRequest { since_revision: 2 })
        .await
        .expect("watch")
        .into_inner();
    let mut replay = Vec::new();
    for _ in 0..3 {
        replay.push(describe(&next(&mut resumed).await));
    }
    assert_eq!(
        replay,
        vec![
            (3, "country FI".to_string()),
            (4, "deleted A".to_string()),
            (6, "snapshot[C,D,E]".to_string()),
        ]
    );

    // An unknown (future) revision gets a snapshot.
    let mut unknown = h
        .client
        .watch(pb::WatchRequest { since_revision: 99 })
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(
        describe(&next(&mut unknown).await),
        (6, "snapshot[C,D,E]".into())
    );
    // Resuming at the current revision sends nothing until the next change.
    let mut current = h
        .client
        .watch(pb::WatchRequest { since_revision: 6 })
        .await
        .expect("watch")
        .into_inner();
    upsert(&mut h, entry("F", "SE")).await.expect("7");
    assert_eq!(
        describe(&next(&mut current).await),
        (7, "upserted F".into())
    );
    assert_eq!(
        describe(&next(&mut unknown).await),
        (7, "upserted F".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_has_no_gaps_under_concurrent_writes() {
    let mut h = start().await;
    for i in 0..5 {
        upsert(&mut h, entry(&format!("PRE{i}"), "FI"))
            .await
            .expect("seed");
    }
    // Writers start before and keep going while the stream opens.
    let store = Arc::clone(&h.store);
    let writers = tokio::spawn(async move {
        let mut tasks = Vec::new();
        for i in 0..40 {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                store
                    .upsert(entry(&format!("W{i:02}"), "NO"))
                    .await
                    .expect("upsert")
            }));
        }
        for t in tasks {
            t.await.expect("writer");
        }
    });
    let mut stream = h
        .client
        .watch(pb::WatchRequest { since_revision: 0 })
        .await
        .expect("watch")
        .into_inner();
    writers.await.expect("writers");
    let final_revision = 45;

    let first = next(&mut stream).await;
    let mut acronyms: std::collections::BTreeSet<String> = match first.change {
        Some(Ev::Snapshot(ref s)) => s.entries.iter().map(|e| e.acronym.clone()).collect(),
        ref other => panic!("first event must be a snapshot, got {other:?}"),
    };
    let mut last = first.revision;
    while last < final_revision {
        let ev = next(&mut stream).await;
        assert_eq!(ev.revision, last + 1, "no gap, no repeat after {last}");
        match ev.change {
            Some(Ev::Upserted(e)) => {
                acronyms.insert(e.acronym);
            }
            other => panic!("unexpected {other:?}"),
        }
        last = ev.revision;
    }
    assert_eq!(
        acronyms.len(),
        45,
        "snapshot + changes = the whole registry"
    );
}

fn assert_status(result: Result<impl std::fmt::Debug, tonic::Status>, code: Code, needle: &str) {
    let status = result.expect_err("must fail");
    assert_eq!(status.code(), code, "{status:?}");
    assert!(
        status.message().contains(needle),
        "{:?} should mention {needle:?}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_statuses_and_stores_nothing() {
    let mut h = start().await;
    upsert(&mut h, entry("KEEP", "FI")).await.expect("seed");
    h.admin
        .replace_all(pb::ReplaceAllRequest {
            entries: vec![pb_entry(entry("KEEP", "FI"))],
            countries: vec![country("FI", "Finland", false).into()],
            expected_generation: 0,
            generation: 3,
        })
        .await
        .expect("generation 3");
    let before = h
        .client
        .list(pb::ListRequest::default())
        .await
        .expect("list")
        .into_inner();

    let malformed = Entry {
        certificates: vec![
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".into(),
        ],
        ..entry("BAD", "FI")
    };
    assert_status(
        upsert(&mut h, malformed).await,
        Code::InvalidArgument,
        "certificates_pem[0]",
    );
    let weak = Entry {
        certificates: vec![rsa1024_cert()],
        ..entry("BAD", "FI")
    };
    assert_status(
        upsert(&mut h, weak).await,
        Code::InvalidArgument,
        "RSA-1024 is too weak",
    );
    let plain_http = Entry {
        url: "http://emp.example/emrex".into(),
        ..entry("BAD", "FI")
    };
    assert_status(
        upsert(&mut h, plain_http).await,
        Code::InvalidArgument,
        "url: must use https",
    );
    assert_status(
        upsert(&mut h, entry("BAD", "XX")).await,
        Code::InvalidArgument,
        "country_code",
    );
    assert_status(
        h.admin.upsert(pb::UpsertRequest { entry: None }).await,
        Code::InvalidArgument,
        "entry",
    );
    assert_status(
        h.admin
            .set_country(pb::SetCountryRequest {
                country: Some(country("ZZ", "Nowhere", true).into()),
            })
            .await,
        Code::InvalidArgument,
        "country_code",
    );

    let replace = |entries: Vec<Entry>, expected_generation, generation| pb::ReplaceAllRequest {
        entries: entries.into_iter().map(pb_entry).collect(),
        countries: vec![],
        expected_generation,
        generation,
    };
    assert_status(
        h.admin
            .replace_all(replace(
                vec![entry("A", "FI"), entry("B", "NO"), entry("A", "SE")],
                3,
                4,
            ))
            .await,
        Code::InvalidArgument,
        "entries[2].acronym: \"A\" appears more than once",
    );
    assert_status(
        h.admin
            .replace_all(replace(
                vec![
                    entry("A", "FI"),
                    Entry {
                        certificates: vec![ec_cert(), rsa1024_cert()],
                        ..entry("B", "NO")
                    },
                ],
                3,
                4,
            ))
            .await,
        Code::InvalidArgument,
        "entries[1].certificates_pem[1]",
    );
    assert_status(
        h.admin
            .replace_all(replace(vec![entry("A", "FI")], 2, 4))
            .await,
        Code::Aborted,
        "expected generation 2",
    );
    assert_status(
        h.admin
            .replace_all(replace(vec![entry("A", "FI")], 3, 3))
            .await,
        Code::FailedPrecondition,
        "greater than",
    );

    // Larger than the 4 MiB request limit.
    let huge = Entry {
        institutions: vec!["x".repeat(5 << 20)],
        ..entry("HUGE", "FI")
    };
    assert_status(
        upsert(&mut h, huge).await,
        Code::ResourceExhausted,
        "too large",
    );

    let after = h
        .client
        .list(pb::ListRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert_eq!(after, before, "nothing stored");
    assert_eq!(h.store.list(None).await.expect("list").revision, 2);
}

/// Another process writing to the same database is not on this process's change feed: the
/// stream notices the jump in revision at the next local change and replays what it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_replays_changes_made_by_another_process() {
    let mut h = start().await;
    upsert(&mut h, entry("A", "FI")).await.expect("1");
    let path = h._store_guard.path.clone().expect("sqlite path");
    let other = SqliteStore::open(&path, emrex_emreg::ValidationOptions::default())
        .await
        .expect("second handle on the same file");

    let mut stream = h
        .client
        .watch(pb::WatchRequest { since_revision: 0 })
        .await
        .expect("watch")
        .into_inner();
    assert_eq!(
        describe(&next(&mut stream).await),
        (1, "snapshot[A]".into())
    );

    other.upsert(entry("B", "NO")).await.expect("2 elsewhere");
    other.delete("A").await.expect("3 elsewhere");
    upsert(&mut h, entry("C", "SE")).await.expect("4 here");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(describe(&next(&mut stream).await));
    }
    assert_eq!(
        seen,
        vec![
            (2, "upserted B".to_string()),
            (3, "deleted A".to_string()),
            (4, "upserted C".to_string()),
        ]
    );
}

/// Two EMREG replicas on one PostgreSQL database: a `Watch` on replica B sees every write made
/// through replica A (and its own), in revision order, with no gap and no duplicate, each within
/// a second of being written — without any write on B to wake it (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_on_one_replica_follows_writes_through_another_on_postgres() {
    let a = common::postgres_store("watch_two_replicas").await;
    let b = common::postgres_store_again("watch_two_replicas").await;
    let (_, mut admin_a) = serve(Arc::clone(&a.store)).await;
    let (mut client_b, mut admin_b) = serve(Arc::clone(&b.store)).await;
    let mut stream = client_b
        .watch(pb::WatchRequest { since_revision: 0 })
        .await
        .expect("watch on B")
        .into_inner();
    assert_eq!(describe(&next(&mut stream).await), (0, "snapshot[]".into()));

    // Writes through A only: each reaches B's watcher within a second.
    for i in 1..=3u64 {
        let written = std::time::Instant::now();
        admin_a
            .upsert(pb::UpsertRequest {
                entry: Some(pb_entry(entry(&format!("A{i}"), "FI"))),
            })
            .await
            .expect("upsert through A");
        let event = tokio::time::timeout(Duration::from_secs(1), stream.next())
            .await
            .expect("B's watcher saw A's write within a second")
            .expect("event")
            .expect("ok");
        assert_eq!(describe(&event), (i, format!("upserted A{i}")));
        assert!(written.elapsed() < Duration::from_secs(1));
    }

    // Concurrent writes through both replicas: B's watcher gets 4..=23 exactly once, in order.
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (mut via_a, mut via_b) = (admin_a.clone(), admin_b.clone());
        tasks.push(tokio::spawn(async move {
            via_a
                .upsert(pb::UpsertRequest {
                    entry: Some(pb_entry(entry(&format!("X{i:02}"), "NO"))),
                })
                .await
                .expect("via A");
        }));
        tasks.push(tokio::spawn(async move {
            via_b
                .upsert(pb::UpsertRequest {
                    entry: Some(pb_entry(entry(&format!("Y{i:02}"), "SE"))),
                })
                .await
                .expect("via B");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let mut revisions = Vec::new();
    for _ in 0..20 {
        revisions.push(describe(&next(&mut stream).await).0);
    }
    assert_eq!(revisions, (4..=23).collect::<Vec<u64>>());
    let extra = tokio::time::timeout(Duration::from_millis(500), stream.next()).await;
    assert!(extra.is_err(), "a duplicate or unexpected event: {extra:?}");
    admin_b
        .delete(pb::DeleteRequest {
            acronym: "A1".into(),
        })
        .await
        .expect("delete through B");
    assert_eq!(
        describe(&next(&mut stream).await),
        (24, "deleted A1".into())
    );
}
