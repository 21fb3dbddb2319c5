//! One test suite, run against every back end: each `async fn` below takes a fresh store, and
//! `for_each_backend!` runs it as `sqlite::<name>` and `postgres::<name>`.
//!
//! The PostgreSQL half needs `EMREX_TEST_POSTGRES_URL` (see `scripts/postgres-test-db.sh`); without
//! it those tests fail with instructions rather than pass silently.

mod common;

use std::sync::Arc;

use common::{country, ec_cert, entry, rsa1024_cert, rsa2048_cert};
use emrex_emreg::validate::Problem;
use emrex_emreg::{Change, ChangeKind, Entry, RegistryStore, Snapshot, StoreError};
use tokio::sync::broadcast;

macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let t = crate::common::sqlite_store().await;
                    super::$name(t.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let t = crate::common::postgres_store(stringify!($name)).await;
                    super::$name(t.store.clone()).await;
                }
            )*
        }
    };
}

for_each_backend!(
    crud,
    identical_writes_are_no_ops,
    validation_errors_store_nothing,
    replace_all_is_atomic,
    replace_all_checks_generations,
    duplicates_in_replace_all_store_nothing,
    revisions_and_change_feed,
    concurrent_writers_get_consecutive_revisions,
);

fn invalid_field(err: StoreError) -> String {
    match err {
        StoreError::Invalid(v) => v.field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

/// The parts of a snapshot that must not move when a write fails.
fn state(s: &Snapshot) -> (u64, u64, Vec<String>, Vec<String>) {
    (
        s.revision,
        s.generation,
        s.entries.iter().map(|e| e.acronym.clone()).collect(),
        s.countries.iter().map(|c| c.code.clone()).collect(),
    )
}

async fn crud<S: RegistryStore>(store: Arc<S>) {
    let empty = store.list(None).await.expect("list");
    assert_eq!(state(&empty), (0, 0, vec![], vec![]));

    let a = store.upsert(entry("CSC", "FI")).await.expect("upsert");
    assert_eq!(a.revision, 1);
    assert!(a.updated_unix > 0);
    assert_eq!(store.get("CSC").await.expect("get"), Some(a.clone()));
    assert_eq!(store.get("NOPE").await.expect("get"), None);

    let mut changed = a.clone();
    changed.institutions = vec!["All".into()];
    changed
        .metadata
        .insert("contact".into(), "ops@example.org".into());
    changed.certificates.push(rsa2048_cert());
    let a2 = store.upsert(changed).await.expect("update");
    assert_eq!(a2.revision, 2);
    assert_eq!(a2.institutions, ["All"]);
    assert_eq!(a2.certificates.len(), 2);
    assert_eq!(store.get("CSC").await.expect("get"), Some(a2.clone()));

    store.upsert(entry("UIO", "NO")).await.expect("upsert");
    store.upsert(entry("AAU", "DK")).await.expect("upsert");
    let all = store.list(None).await.expect("list");
    assert_eq!(
        state(&all),
        (4, 0, vec!["AAU".into(), "CSC".into(), "UIO".into()], vec![]),
        "ordered by country, then acronym"
    );
    let no = store.list(Some("NO")).await.expect("list");
    assert_eq!(no.entries.len(), 1);
    assert_eq!(no.entries[0].acronym, "UIO");

    assert_eq!(
        store
            .set_country(country("FI", "Finland", false))
            .await
            .expect("country"),
        5
    );
    assert_eq!(
        store
            .set_country(country("FI", "Suomi", true))
            .await
            .expect("country"),
        6
    );
    let all = store.list(None).await.expect("list");
    assert_eq!(all.countries, vec![country("FI", "Suomi", true)]);
    assert!(all.updated_unix > 0);

    assert_eq!(store.delete("CSC").await.expect("delete"), 7);
    assert_eq!(store.get("CSC").await.expect("get"), None);
    assert!(matches!(
        store.delete("CSC").await,
        Err(StoreError::NotFound(a)) if a == "CSC"
    ));
    let after = store.list(None).await.expect("list");
    assert_eq!(after.revision, 7, "a failed delete takes no revision");
    assert_eq!(after.entries.len(), 2);
}

async fn identical_writes_are_no_ops<S: RegistryStore>(store: Arc<S>) {
    let e = entry("CSC", "FI");
    let first = store.upsert(e.clone()).await.expect("upsert");
    let again = store.upsert(e).await.expect("upsert");
    assert_eq!(
        again, first,
        "same content: stored entry returned unchanged"
    );
    let r = store
        .set_country(country("FI", "Finland", false))
        .await
        .expect("country");
    assert_eq!(r, 2);
    let r = store
        .set_country(country("FI", "Finland", false))
        .await
        .expect("country");
    assert_eq!(r, 2);
    assert_eq!(store.list(None).await.expect("list").revision, 2);
    assert_eq!(store.changes_since(0).await.expect("changes").len(), 2);
}

async fn validation_errors_store_nothing<S: RegistryStore>(store: Arc<S>) {
    store.upsert(entry("CSC", "FI")).await.expect("seed");
    let before = store.list(None).await.expect("list");

    let cases: Vec<(Entry, &str)> = vec![
        (
            Entry {
                certificates: vec![
                    "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into(),
                ],
                ..entry("BAD1", "FI")
            },
            "certificates_pem[0]",
        ),
        (
            Entry {
                certificates: vec![ec_cert(), "not a certificate".into()],
                ..entry("BAD2", "FI")
            },
            "certificates_pem[1]",
        ),
        (
            Entry {
                certificates: vec![rsa1024_cert()],
                ..entry("BAD3", "FI")
            },
            "certificates_pem[0]",
        ),
        (
            Entry {
                certificates: vec![],
                ..entry("BAD4", "FI")
            },
            "certificates_pem",
        ),
        (
            Entry {
                url: "http://emp.example/emrex".into(),
                ..entry("BAD5", "FI")
            },
            "url",
        ),
        (
            Entry {
                url: "http://127.0.0.1:8080/emrex".into(),
                ..entry("BAD6", "FI")
            },
            "url",
        ),
        (entry("BAD7", "XX"), "country_code"),
        (entry("BAD8", "fi"), "country_code"),
        (entry("BAD 9", "FI"), "acronym"),
        (
            Entry {
                institutions: vec!["x".repeat(513)],
                ..entry("BAD10", "FI")
            },
            "institutions[0]",
        ),
        // An invalid update of an existing entry leaves the stored one alone.
        (
            Entry {
                url: "ftp://emp.example/".into(),
                ..entry("CSC", "FI")
            },
            "url",
        ),
    ];
    for (bad, field) in cases {
        let acronym = bad.acronym.clone();
        let err = store.upsert(bad).await.expect_err(&acronym);
        assert_eq!(invalid_field(err), field, "{acronym}");
    }
    let err = store
        .upsert(Entry {
            certificates: vec![rsa1024_cert()],
            ..entry("WEAK", "FI")
        })
        .await
        .expect_err("RSA-1024");
    match err {
        StoreError::Invalid(v) => assert!(matches!(v.problem, Problem::WeakKey(_)), "{v}"),
        other => panic!("{other:?}"),
    }
    let err = store
        .set_country(country("XX", "Testland", true))
        .await
        .expect_err("unknown country");
    assert_eq!(invalid_field(err), "country_code");

    let after = store.list(None).await.expect("list");
    assert_eq!(after, before, "nothing stored, no revision taken");
    assert_eq!(store.changes_since(0).await.expect("changes").len(), 1);

    // RSA-2048 and P-256 are fine; Kosovo's user-assigned code is accepted.
    store
        .upsert(Entry {
            certificates: vec![rsa2048_cert(), ec_cert()],
            ..entry("GOOD", "XK")
        })
        .await
        .expect("valid");
}

async fn replace_all_is_atomic<S: RegistryStore>(store: Arc<S>) {
    store.upsert(entry("OLD", "SE")).await.expect("seed");
    store
        .set_country(country("SE", "Sweden", false))
        .await
        .expect("seed");
    let before = store.list(None).await.expect("list");

    // One invalid entry in the middle: nothing of the request is stored.
    let err = store
        .replace_all(
            vec![
                entry("A", "FI"),
                Entry {
                    certificates: vec![rsa1024_cert()],
                    ..entry("B", "FI")
                },
                entry("C", "NO"),
            ],
            vec![country("FI", "Finland", true)],
            0,
            1,
        )
        .await
        .expect_err("invalid entry");
    assert_eq!(invalid_field(err), "entries[1].certificates_pem[0]");
    // An invalid country as well.
    let err = store
        .replace_all(
            vec![entry("A", "FI")],
            vec![
                country("FI", "Finland", true),
                country("QQ", "Nowhere", false),
            ],
            0,
            1,
        )
        .await
        .expect_err("invalid country");
    assert_eq!(invalid_field(err), "countries[1].country_code");
    assert_eq!(store.list(None).await.expect("list"), before);

    // A valid request replaces everything, countries included.
    let out = store
        .replace_all(
            vec![entry("C", "NO"), entry("A", "FI"), entry("B", "FI")],
            vec![country("FI", "Finland", true)],
            0,
            3,
        )
        .await
        .expect("replace");
    assert_eq!(out.generation, 3);
    assert_eq!(out.revision, before.revision + 1);
    let after = store.list(None).await.expect("list");
    assert_eq!(
        state(&after),
        (
            out.revision,
            3,
            vec!["A".into(), "B".into(), "C".into()],
            vec!["FI".into()]
        )
    );
    assert!(after.entries.iter().all(|e| e.revision == out.revision));
    assert_eq!(store.get("OLD").await.expect("get"), None);

    // Replacing with nothing empties the registry.
    store
        .replace_all(vec![], vec![], 3, 4)
        .await
        .expect("empty replace");
    let empty = store.list(None).await.expect("list");
    assert!(empty.entries.is_empty() && empty.countries.is_empty());
    assert_eq!(empty.generation, 4);
}

async fn replace_all_checks_generations<S: RegistryStore>(store: Arc<S>) {
    store
        .replace_all(vec![entry("A", "FI")], vec![], 0, 5)
        .await
        .expect("first");
    let before = store.list(None).await.expect("list");
    assert_eq!(before.generation, 5);

    let err = store
        .replace_all(vec![entry("B", "FI")], vec![], 4, 6)
        .await
        .expect_err("conflict");
    assert!(
        matches!(
            err,
            StoreError::GenerationConflict {
                expected: 4,
                current: 5
            }
        ),
        "{err:?}"
    );
    for new in [5, 1] {
        let err = store
            .replace_all(vec![entry("B", "FI")], vec![], 5, new)
            .await
            .expect_err("not increasing");
        assert!(
            matches!(err, StoreError::GenerationNotIncreasing { current: 5, .. }),
            "{err:?}"
        );
    }
    assert_eq!(store.list(None).await.expect("list"), before);

    let out = store
        .replace_all(vec![entry("B", "FI")], vec![], 5, 6)
        .await
        .expect("matching generation");
    assert_eq!(out.generation, 6);
    let out = store
        .replace_all(vec![entry("C", "FI")], vec![], 0, 7)
        .await
        .expect("0 = unchecked");
    assert_eq!(out.generation, 7);
    assert_eq!(
        store.list(None).await.expect("list").entries[0].acronym,
        "C"
    );
}

async fn duplicates_in_replace_all_store_nothing<S: RegistryStore>(store: Arc<S>) {
    store.upsert(entry("KEEP", "FI")).await.expect("seed");
    let before = store.list(None).await.expect("list");
    let err = store
        .replace_all(
            vec![entry("A", "FI"), entry("B", "NO"), entry("A", "SE")],
            vec![],
            0,
            1,
        )
        .await
        .expect_err("duplicate acronym");
    assert!(
        matches!(&err, StoreError::DuplicateAcronym { acronym, index: 2 } if acronym == "A"),
        "{err:?}"
    );
    assert!(err.to_string().contains("entries[2].acronym"), "{err}");
    let err = store
        .replace_all(
            vec![entry("A", "FI")],
            vec![
                country("FI", "Finland", false),
                country("FI", "Suomi", true),
            ],
            0,
            1,
        )
        .await
        .expect_err("duplicate country");
    assert!(
        matches!(&err, StoreError::DuplicateCountry { code, index: 1 } if code == "FI"),
        "{err:?}"
    );
    assert_eq!(store.list(None).await.expect("list"), before);
}

/// The feed's changes up to revision `until` (the feed delivers after commit, asynchronously;
/// on PostgreSQL through LISTEN/NOTIFY), then whatever else is already there.
async fn drain(rx: &mut broadcast::Receiver<Change>, until: u64) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    while out.last().is_none_or(|c| c.revision < until) {
        match tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await {
            Ok(Ok(c)) => out.push(c),
            Ok(Err(e)) => panic!("feed: {e}"),
            Err(_) => break,
        }
    }
    while let Ok(c) = rx.try_recv() {
        out.push(c);
    }
    out
}

async fn revisions_and_change_feed<S: RegistryStore>(store: Arc<S>) {
    let mut rx = store.subscribe();
    let a = store.upsert(entry("A", "FI")).await.expect("1");
    store.upsert(entry("B", "NO")).await.expect("2");
    store
        .set_country(country("FI", "Finland", true))
        .await
        .expect("3");
    store.delete("A").await.expect("4");
    // Failures in between produce no change.
    store.delete("A").await.expect_err("gone");
    store
        .upsert(entry("C", "ZZ"))
        .await
        .expect_err("bad country");
    store
        .replace_all(vec![entry("D", "DK")], vec![], 0, 1)
        .await
        .expect("5");

    let log = store.changes_since(0).await.expect("changes");
    let revisions: Vec<u64> = log.iter().map(|c| c.revision).collect();
    assert_eq!(revisions, [1, 2, 3, 4, 5]);
    assert_eq!(log[0].kind, ChangeKind::Upserted(a));
    assert!(matches!(&log[1].kind, ChangeKind::Upserted(e) if e.acronym == "B"));
    assert_eq!(
        log[2].kind,
        ChangeKind::Country(country("FI", "Finland", true))
    );
    assert_eq!(log[3].kind, ChangeKind::Deleted("A".into()));
    assert_eq!(log[4].kind, ChangeKind::Replaced { generation: 1 });

    assert_eq!(store.changes_since(3).await.expect("since 3"), log[3..]);
    assert!(store.changes_since(5).await.expect("since 5").is_empty());
    match store.changes_since(6).await {
        Err(StoreError::Gap(gap)) => {
            assert_eq!((gap.requested, gap.current), (6, 5));
        }
        other => panic!("expected a gap, got {other:?}"),
    }

    assert_eq!(drain(&mut rx, 5).await, log, "live feed = log, in order");
}

async fn concurrent_writers_get_consecutive_revisions<S: RegistryStore>(store: Arc<S>) {
    let mut rx = store.subscribe();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store
                .upsert(entry(&format!("E{i:02}"), "FI"))
                .await
                .expect("upsert")
                .revision
        }));
    }
    let mut revisions = Vec::new();
    for t in tasks {
        revisions.push(t.await.expect("task"));
    }
    revisions.sort_unstable();
    assert_eq!(revisions, (1..=16).collect::<Vec<u64>>());
    let live: Vec<u64> = drain(&mut rx, 16)
        .await
        .iter()
        .map(|c| c.revision)
        .collect();
    assert_eq!(live, (1..=16).collect::<Vec<u64>>(), "broadcast in order");
    let logged: Vec<u64> = store
        .changes_since(0)
        .await
        .expect("log")
        .iter()
        .map(|c| c.revision)
        .collect();
    assert_eq!(logged, live);
}

/// The run-time choice of back end by URL.
#[tokio::test]
async fn any_store_picks_the_back_end_from_the_url() {
    use emrex_emreg::{AnyStore, ValidationOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("any.db").display());
    let store = AnyStore::connect(&url, ValidationOptions::default())
        .await
        .expect("sqlite by URL");
    assert!(matches!(store, AnyStore::Sqlite(_)));
    store.upsert(entry("CSC", "FI")).await.expect("upsert");
    assert_eq!(store.list(None).await.expect("list").entries.len(), 1);
    drop(store);
    // Reopening the file finds the data (and re-running the migrations is a no-op).
    let again = AnyStore::connect(&url, ValidationOptions::default())
        .await
        .expect("reopen");
    assert_eq!(
        again.get("CSC").await.expect("get").map(|e| e.revision),
        Some(1)
    );

    for bad in ["mysql://localhost/db", "/var/lib/emreg.db"] {
        assert!(matches!(
            AnyStore::connect(bad, ValidationOptions::default()).await,
            Err(StoreError::Open(emrex_store::DbError::Scheme(_)))
        ));
    }
    // A PostgreSQL server on another host without verified TLS is refused before connecting.
    assert!(matches!(
        AnyStore::connect(
            "postgres://u:p@db.example.org/emreg",
            ValidationOptions::default()
        )
        .await,
        Err(StoreError::Open(emrex_store::DbError::UnverifiedTls { .. }))
    ));
}

/// Dev mode accepts loopback http URLs (and only those).
#[tokio::test]
async fn dev_mode_accepts_loopback_http() {
    use emrex_emreg::{SqliteStore, ValidationOptions};
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(
        &dir.path().join("dev.db"),
        ValidationOptions { dev_mode: true },
    )
    .await
    .expect("open");
    store
        .upsert(Entry {
            url: "http://127.0.0.1:8443/emp".into(),
            ..entry("LOCAL", "FI")
        })
        .await
        .expect("loopback http in dev mode");
    let err = store
        .upsert(Entry {
            url: "http://emp.example/".into(),
            ..entry("REMOTE", "FI")
        })
        .await
        .expect_err("remote http");
    assert_eq!(invalid_field(err), "url");
}
