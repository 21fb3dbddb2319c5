//! The exchange store: one scenario suite, run against every back end. Each `async fn` below
//! takes a fresh store, and `for_each_backend!` runs it as `sqlite::<name>` (a temporary file) and
//! `postgres::<name>` (a schema of its own, dropped and recreated, in the database named by
//! `EMREX_TEST_POSTGRES_URL`).
//!
//! Like EMREG's store suite, the PostgreSQL half never skips: without `EMREX_TEST_POSTGRES_URL`
//! those tests fail and say what to run (`eval "$(scripts/postgres-test-db.sh)"`).

use std::sync::Arc;

use emrex_elmo::{Person, match_person};
use emrex_smp::model::{ExchangeRecord, Outcome, OutcomeKind, Status};
use emrex_smp::store::{
    AnyStore, Completion, ListFilter, MAX_BLOB_BYTES, PostgresStore, SmpStore, SqliteStore,
    StoreError,
};
use tokio::sync::broadcast;

/// A store for one test, with whatever keeps its database alive.
struct TestStore<S> {
    store: Arc<S>,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite_store() -> TestStore<SqliteStore> {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("smp.db").display());
    let store = SqliteStore::open(&url).await.expect("open sqlite store");
    TestStore {
        store: Arc::new(store),
        _dir: Some(dir),
    }
}

/// The PostgreSQL test database. Never skips: without it the test fails and says what to run.
fn postgres_url() -> String {
    match std::env::var("EMREX_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "EMREX_TEST_POSTGRES_URL is not set. The PostgreSQL back-end tests need a database: run \
             `eval \"$(scripts/postgres-test-db.sh)\"` from the workspace root (it installs and \
             starts a local PostgreSQL if needed and prints the export line), then rerun the tests."
        ),
    }
}

/// A store in a schema of its own (`smp_<name>`, dropped and recreated), so tests run in parallel
/// in one database and reruns start clean.
async fn postgres_store(name: &str) -> TestStore<PostgresStore> {
    let url = postgres_url();
    let schema = format!("smp_{name}");
    run_sql(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    let store = PostgresStore::connect_in_schema(&url, &schema)
        .await
        .unwrap_or_else(|e| panic!("connect in schema {schema}: {e}"));
    TestStore {
        store: Arc::new(store),
        _dir: None,
    }
}

/// Runs one statement on a connection of its own.
async fn run_sql(url: &str, statement: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect to the test database: {e}"));
    sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
        .execute(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{statement}: {e}"));
    conn.close().await.expect("close");
}

macro_rules! for_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let t = crate::sqlite_store().await;
                    super::$name(t.store.clone()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let t = crate::postgres_store(stringify!($name)).await;
                    super::$name(t.store.clone()).await;
                }
            )*
        }
    };
}

for_each_backend!(
    insert_and_get,
    duplicate_insert_changes_nothing,
    invalid_inserts_store_nothing,
    complete_is_single_use,
    unknown_and_expired_completions_change_nothing,
    concurrent_completes_have_one_winner,
    oversized_completions_are_refused,
    list_order_and_filters,
    list_limits,
    subscribe_delivers_in_revision_order,
);

const NOW: i64 = 1_750_000_000;

fn record(session_id: &str, sis_reference: &str) -> ExchangeRecord {
    ExchangeRecord {
        session_id: session_id.into(),
        sis_reference: sis_reference.into(),
        person: Person::new("Åsa Marie", "Öberg-Łukasz", Some("1999-02-28")),
        ncp_acronym: "CSC".into(),
        ncp_country: "FI".into(),
        ncp_url: "https://csc.emp.example/emrex".into(),
        created_unix: NOW - 60,
        expires_unix: NOW + 3600,
        status: Status::Pending,
        completed_unix: None,
        outcome: None,
        raw_response: None,
        elmo_xml: None,
        revision: 0,
    }
}

fn outcome() -> Outcome {
    let expected = Person::new("Åsa Marie", "Öberg-Łukasz", Some("1999-02-28"));
    let actual = Person::new("Asa", "Oberg-Lukasz", Some("1999-02-28"));
    Outcome {
        kind: OutcomeKind::IdentityReview,
        return_code: "NCP_OK".into(),
        return_message: "fine — «ok»".into(),
        detail: "names differ in diacritics".into(),
        identity: Some(match_person(&expected, &actual)),
        signer_index: Some(1),
    }
}

fn cancelled() -> Outcome {
    Outcome {
        kind: OutcomeKind::NcpReturned,
        return_code: "NCP_CANCEL".into(),
        return_message: String::new(),
        detail: String::new(),
        identity: None,
        signer_index: None,
    }
}

fn completed(c: Completion) -> ExchangeRecord {
    match c {
        Completion::Completed(r) => *r,
        other => panic!("expected Completed, got {other:?}"),
    }
}

async fn all<S: SmpStore>(store: &S) -> Vec<ExchangeRecord> {
    store
        .list(ListFilter {
            limit: 1000,
            ..ListFilter::default()
        })
        .await
        .expect("list")
}

/// The feed's records up to revision `until` (the feed delivers after commit, asynchronously;
/// on PostgreSQL through LISTEN/NOTIFY), then whatever else is already there.
async fn drain(rx: &mut broadcast::Receiver<ExchangeRecord>, until: i64) -> Vec<ExchangeRecord> {
    let mut out: Vec<ExchangeRecord> = Vec::new();
    while out.last().is_none_or(|r| r.revision < until) {
        match tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await {
            Ok(Ok(r)) => out.push(r),
            Ok(Err(e)) => panic!("broadcast: {e}"),
            Err(_) => break,
        }
    }
    loop {
        match rx.try_recv() {
            Ok(r) => out.push(r),
            Err(broadcast::error::TryRecvError::Empty) => return out,
            Err(e) => panic!("broadcast: {e}"),
        }
    }
}

async fn insert_and_get<S: SmpStore>(store: Arc<S>) {
    assert!(all(&*store).await.is_empty());
    let mut given = record("s-one", "sis-1");
    given.revision = 77; // ignored: the store assigns revisions
    let a = store.insert(given.clone()).await.expect("insert");
    assert_eq!(a.revision, 1);
    assert_eq!(
        a,
        ExchangeRecord {
            revision: 1,
            ..given
        }
    );
    assert_eq!(store.get("s-one").await.expect("get"), Some(a.clone()));
    let b = store.insert(record("s-two", "")).await.expect("insert");
    assert_eq!(b.revision, 2);
    assert_eq!(store.get("s-two").await.expect("get"), Some(b));
    assert_eq!(store.get("nope").await.expect("get"), None);
    assert_eq!(store.get("").await.expect("get"), None);
    assert_eq!(store.get(&"x".repeat(10_000)).await.expect("get"), None);
}

async fn duplicate_insert_changes_nothing<S: SmpStore>(store: Arc<S>) {
    let a = store.insert(record("dup", "sis-1")).await.expect("insert");
    let mut other = record("dup", "sis-2");
    other.ncp_acronym = "OTHER".into();
    assert!(matches!(
        store.insert(other).await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(store.get("dup").await.expect("get"), Some(a));
    // The refused insert used no revision.
    let b = store.insert(record("next", "")).await.expect("insert");
    assert_eq!(b.revision, 2);
    // A completed record is still a duplicate.
    completed(
        store
            .complete("dup", NOW, outcome(), b"r".to_vec(), None)
            .await
            .expect("complete"),
    );
    assert!(matches!(
        store.insert(record("dup", "")).await,
        Err(StoreError::Duplicate)
    ));
    assert_eq!(all(&*store).await.len(), 2);
}

async fn invalid_inserts_store_nothing<S: SmpStore>(store: Arc<S>) {
    let invalid = |r: Result<ExchangeRecord, StoreError>| match r {
        Err(StoreError::Invalid(msg)) => msg,
        other => panic!("expected Invalid, got {other:?}"),
    };
    let msg = invalid(store.insert(record(&"a".repeat(129), "")).await);
    assert!(msg.contains("session_id"), "{msg}");
    invalid(store.insert(record(&"é".repeat(129), "")).await);
    invalid(store.insert(record("", "")).await);
    let mut done = record("done", "");
    done.status = Status::Completed;
    done.completed_unix = Some(NOW);
    done.outcome = Some(outcome());
    invalid(store.insert(done).await);
    let mut with_payload = record("payload", "");
    with_payload.raw_response = Some(b"x".to_vec());
    invalid(store.insert(with_payload).await);
    assert!(all(&*store).await.is_empty());

    // The bounds are inclusive, in characters.
    let long = store
        .insert(record(&"é".repeat(128), ""))
        .await
        .expect("128 characters");
    assert_eq!(long.revision, 1, "refused inserts used no revision");
    assert_eq!(
        store.get(&"é".repeat(128)).await.expect("get"),
        Some(long.clone())
    );
    completed(
        store
            .complete(&"é".repeat(128), NOW, cancelled(), Vec::new(), None)
            .await
            .expect("complete"),
    );
}

async fn complete_is_single_use<S: SmpStore>(store: Arc<S>) {
    let pending = store.insert(record("once", "sis")).await.expect("insert");
    let raw = b"elmo=H4sI...&returnCode=NCP_OK".to_vec();
    let xml = b"<elmo xmlns=\"https://github.com/emrex-eu/elmo-schemas/tree/v1\"/>".to_vec();
    let done = completed(
        store
            .complete("once", NOW, outcome(), raw.clone(), Some(xml.clone()))
            .await
            .expect("complete"),
    );
    assert_eq!(
        done,
        ExchangeRecord {
            status: Status::Completed,
            completed_unix: Some(NOW),
            outcome: Some(done.outcome.clone().expect("outcome")),
            raw_response: Some(raw.clone()),
            elmo_xml: Some(xml.clone()),
            revision: 2,
            ..pending
        }
    );
    let stored_outcome = done.outcome.clone().expect("outcome");
    let expected_outcome = outcome();
    assert_eq!(stored_outcome.kind, expected_outcome.kind);
    assert_eq!(
        stored_outcome.return_message,
        expected_outcome.return_message
    );
    assert_eq!(stored_outcome.signer_index, Some(1));
    let (got, want) = (
        stored_outcome.identity.expect("identity"),
        expected_outcome.identity.expect("identity"),
    );
    assert_eq!((got.verdict, &got.reasons), (want.verdict, &want.reasons));
    assert!((got.score - want.score).abs() < 1e-12);
    assert_eq!(store.get("once").await.expect("get"), Some(done.clone()));

    // A replay, even with another body and no XML, changes nothing.
    assert_eq!(
        store
            .complete("once", NOW + 1, cancelled(), b"replayed".to_vec(), None)
            .await
            .expect("replay"),
        Completion::AlreadyCompleted
    );
    // Also after expiry: it is still "already completed", not "expired".
    assert_eq!(
        store
            .complete("once", NOW + 999_999, cancelled(), Vec::new(), None)
            .await
            .expect("replay"),
        Completion::AlreadyCompleted
    );
    assert_eq!(store.get("once").await.expect("get"), Some(done));
    // No revision was used by the replays.
    assert_eq!(
        store
            .insert(record("n", ""))
            .await
            .expect("insert")
            .revision,
        3
    );

    // A completion without XML (the NCP cancelled) stores None and an empty body as given.
    store.insert(record("cancel", "")).await.expect("insert");
    let c = completed(
        store
            .complete("cancel", NOW, cancelled(), Vec::new(), None)
            .await
            .expect("complete"),
    );
    assert_eq!(c.raw_response, Some(Vec::new()));
    assert_eq!(c.elmo_xml, None);
    assert_eq!(c.outcome, Some(cancelled()));
    assert_eq!(store.get("cancel").await.expect("get"), Some(c));
}

async fn unknown_and_expired_completions_change_nothing<S: SmpStore>(store: Arc<S>) {
    assert_eq!(
        store
            .complete("ghost", NOW, outcome(), b"x".to_vec(), None)
            .await
            .expect("complete"),
        Completion::Unknown
    );
    assert_eq!(
        store
            .complete(&"g".repeat(500), NOW, outcome(), Vec::new(), None)
            .await
            .expect("complete"),
        Completion::Unknown
    );
    let mut r = record("late", "");
    r.expires_unix = NOW;
    let pending = store.insert(r).await.expect("insert");
    // Expired means expires_unix <= now.
    for now in [NOW, NOW + 1, NOW + 86_400] {
        assert_eq!(
            store
                .complete(
                    "late",
                    now,
                    outcome(),
                    b"late body".to_vec(),
                    Some(b"<x/>".to_vec())
                )
                .await
                .expect("complete"),
            Completion::Expired,
            "now = {now}"
        );
    }
    assert_eq!(store.get("late").await.expect("get"), Some(pending));
    // Nothing above used a revision.
    assert_eq!(
        store
            .insert(record("n", ""))
            .await
            .expect("insert")
            .revision,
        2
    );
    // One second earlier it was still valid.
    let done = completed(
        store
            .complete("late", NOW - 1, outcome(), b"in time".to_vec(), None)
            .await
            .expect("complete"),
    );
    assert_eq!(done.revision, 3);
    assert_eq!(done.completed_unix, Some(NOW - 1));
}

async fn concurrent_completes_have_one_winner<S: SmpStore>(store: Arc<S>) {
    const IDS: usize = 8;
    const RACERS: usize = 4;
    for i in 0..IDS {
        store
            .insert(record(&format!("race-{i}"), ""))
            .await
            .expect("insert");
    }
    let mut tasks = Vec::new();
    for i in 0..IDS {
        for j in 0..RACERS {
            let store = Arc::clone(&store);
            tasks.push(tokio::spawn(async move {
                let body = format!("racer {j}").into_bytes();
                let c = store
                    .complete(&format!("race-{i}"), NOW, outcome(), body, None)
                    .await
                    .expect("complete");
                (i, j, c)
            }));
        }
    }
    let mut winners = vec![Vec::new(); IDS];
    for t in tasks {
        let (i, j, c) = t.await.expect("task");
        match c {
            Completion::Completed(r) => {
                assert_eq!(r.raw_response, Some(format!("racer {j}").into_bytes()));
                winners[i].push((j, *r));
            }
            Completion::AlreadyCompleted => {}
            other => panic!("race-{i}: unexpected {other:?}"),
        }
    }
    let mut revisions = Vec::new();
    for (i, w) in winners.into_iter().enumerate() {
        assert_eq!(w.len(), 1, "race-{i}: exactly one winner, got {}", w.len());
        let (_, won) = &w[0];
        assert_eq!(
            store.get(&won.session_id).await.expect("get").as_ref(),
            Some(won),
            "the stored record is the winner's"
        );
        revisions.push(won.revision);
    }
    revisions.sort_unstable();
    let expected: Vec<i64> = (IDS as i64 + 1..=2 * IDS as i64).collect();
    assert_eq!(revisions, expected, "one revision per completion, no gaps");
}

async fn oversized_completions_are_refused<S: SmpStore>(store: Arc<S>) {
    let pending = store.insert(record("big", "")).await.expect("insert");
    let too_big = vec![b'a'; MAX_BLOB_BYTES + 1];
    assert!(matches!(
        store
            .complete("big", NOW, outcome(), too_big.clone(), None)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        store
            .complete("big", NOW, outcome(), b"ok".to_vec(), Some(too_big))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.get("big").await.expect("get"), Some(pending));
    // Exactly the limit, for both, is accepted and stored whole.
    let max = vec![b'z'; MAX_BLOB_BYTES];
    let done = completed(
        store
            .complete("big", NOW, outcome(), max.clone(), Some(max.clone()))
            .await
            .expect("complete"),
    );
    assert_eq!(done.revision, 2);
    let stored = store.get("big").await.expect("get").expect("record");
    assert_eq!(stored.raw_response.as_deref(), Some(&max[..]));
    assert_eq!(stored.elmo_xml.as_deref(), Some(&max[..]));
}

async fn list_order_and_filters<S: SmpStore>(store: Arc<S>) {
    // Revisions: a=1, b=2, c=3, d=4; completing b makes it 5.
    for (id, sis) in [("a", "x"), ("b", "y"), ("c", "x"), ("d", "")] {
        store.insert(record(id, sis)).await.expect("insert");
    }
    completed(
        store
            .complete("b", NOW, outcome(), Vec::new(), None)
            .await
            .expect("complete"),
    );
    let ids = |v: Vec<ExchangeRecord>| -> Vec<(String, i64)> {
        v.into_iter().map(|r| (r.session_id, r.revision)).collect()
    };
    let list = |sis: Option<&str>, after: Option<i64>, limit: usize| {
        let store = Arc::clone(&store);
        let filter = ListFilter {
            sis_reference: sis.map(str::to_string),
            after_revision: after,
            limit,
        };
        async move { ids(store.list(filter).await.expect("list")) }
    };
    let s = |v: &[(&str, i64)]| -> Vec<(String, i64)> {
        v.iter().map(|(id, r)| ((*id).to_string(), *r)).collect()
    };
    assert_eq!(
        list(None, None, 0).await,
        s(&[("b", 5), ("d", 4), ("c", 3), ("a", 1)])
    );
    assert_eq!(list(Some("x"), None, 0).await, s(&[("c", 3), ("a", 1)]));
    assert_eq!(list(Some("y"), None, 0).await, s(&[("b", 5)]));
    assert_eq!(list(Some(""), None, 0).await, s(&[("d", 4)]));
    assert_eq!(list(Some("X"), None, 0).await, s(&[]), "exact match");
    assert_eq!(list(None, Some(3), 0).await, s(&[("b", 5), ("d", 4)]));
    assert_eq!(list(None, Some(5), 0).await, s(&[]));
    assert_eq!(list(None, Some(-1), 0).await.len(), 4);
    assert_eq!(list(Some("x"), Some(1), 0).await, s(&[("c", 3)]));
    assert_eq!(list(Some("x"), Some(3), 0).await, s(&[]));
    assert_eq!(list(None, None, 2).await, s(&[("b", 5), ("d", 4)]));
    assert_eq!(list(Some("x"), None, 1).await, s(&[("c", 3)]));
    assert_eq!(list(None, Some(1), 1).await, s(&[("b", 5)]));
    // Listed records are whole.
    let all = all(&*store).await;
    assert_eq!(
        Some(&all[0]),
        store.get("b").await.expect("get").as_ref(),
        "list returns records as get does"
    );
}

async fn list_limits<S: SmpStore>(store: Arc<S>) {
    // 1005 records, through the trait (every insert is its own transaction).
    for i in 0..1005 {
        store
            .insert(record(
                &format!("r{i:04}"),
                if i % 2 == 0 { "even" } else { "odd" },
            ))
            .await
            .expect("insert");
    }
    let list = |sis: Option<&str>, limit: usize| {
        let store = Arc::clone(&store);
        let filter = ListFilter {
            sis_reference: sis.map(str::to_string),
            after_revision: None,
            limit,
        };
        async move { store.list(filter).await.expect("list") }
    };
    let zero = list(None, 0).await;
    assert_eq!(zero.len(), 100, "limit 0 means 100");
    assert_eq!(zero[0].revision, 1005);
    assert_eq!(zero[99].revision, 906);
    assert_eq!(list(None, 1000).await.len(), 1000);
    let capped = list(None, usize::MAX).await;
    assert_eq!(capped.len(), 1000, "capped at 1000");
    assert!(capped.windows(2).all(|w| w[0].revision > w[1].revision));
    assert_eq!(capped[999].revision, 6);
    assert_eq!(list(Some("even"), 5000).await.len(), 503);
    assert_eq!(list(None, 7).await.len(), 7);
}

async fn subscribe_delivers_in_revision_order<S: SmpStore>(store: Arc<S>) {
    let mut rx = store.subscribe();
    let mut tasks = Vec::new();
    for i in 0..16 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let id = format!("sub-{i:02}");
            store.insert(record(&id, "")).await.expect("insert");
            if i % 2 == 0 {
                completed(
                    store
                        .complete(&id, NOW, outcome(), id.clone().into_bytes(), None)
                        .await
                        .expect("complete"),
                );
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    // Refused operations are not broadcast.
    assert!(store.insert(record("sub-00", "")).await.is_err());
    assert_eq!(
        store
            .complete("sub-00", NOW, outcome(), Vec::new(), None)
            .await
            .expect("replay"),
        Completion::AlreadyCompleted
    );
    let live = drain(&mut rx, 24).await;
    let revisions: Vec<i64> = live.iter().map(|r| r.revision).collect();
    assert_eq!(
        revisions,
        (1..=24).collect::<Vec<i64>>(),
        "in revision order"
    );
    let pending = live.iter().filter(|r| r.status == Status::Pending).count();
    assert_eq!(pending, 16);
    // The last broadcast of each record is what is stored.
    for i in 0..16 {
        let id = format!("sub-{i:02}");
        let last = live
            .iter()
            .rev()
            .find(|r| r.session_id == id)
            .expect("broadcast");
        assert_eq!(store.get(&id).await.expect("get").as_ref(), Some(last));
        let expected = if i % 2 == 0 {
            Status::Completed
        } else {
            Status::Pending
        };
        assert_eq!(last.status, expected, "{id}");
    }
    // A second subscriber sees only what comes after it subscribed.
    let mut later = store.subscribe();
    let r = store.insert(record("after", "")).await.expect("insert");
    assert_eq!(drain(&mut later, r.revision).await, vec![r.clone()]);
    assert_eq!(drain(&mut rx, r.revision).await, vec![r]);
}

/// The SQLite file keeps everything across reopening, revisions continue, and several store
/// values on one file (as separate processes would) still complete a record only once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_file_persists_and_is_shared() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sub dir").join("smp.db");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let first = SqliteStore::open_path(&path).await.expect("open");
    first.insert(record("kept", "sis")).await.expect("insert");
    first.close().await;
    drop(first);

    let url = format!(
        "sqlite://{}",
        path.display().to_string().replace(' ', "%20")
    );
    let a = Arc::new(SqliteStore::open(&url).await.expect("reopen by URL"));
    let b = Arc::new(SqliteStore::open_path(&path).await.expect("second handle"));
    assert_eq!(
        a.get("kept").await.expect("get").map(|r| r.revision),
        Some(1)
    );
    let mut tasks = Vec::new();
    for store in [
        Arc::clone(&a),
        Arc::clone(&b),
        Arc::clone(&a),
        Arc::clone(&b),
    ] {
        tasks.push(tokio::spawn(async move {
            store
                .complete("kept", NOW, outcome(), b"x".to_vec(), None)
                .await
                .expect("complete")
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.expect("task") {
            Completion::Completed(r) => {
                assert_eq!(r.revision, 2);
                wins += 1;
            }
            Completion::AlreadyCompleted => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(
        b.insert(record("next", "")).await.expect("insert").revision,
        3
    );
}

#[tokio::test]
async fn sqlite_in_memory_works_and_is_private() {
    let one = SqliteStore::in_memory().await.expect("memory");
    let two = SqliteStore::in_memory().await.expect("memory");
    one.insert(record("m", "")).await.expect("insert");
    assert!(one.get("m").await.expect("get").is_some());
    assert!(two.get("m").await.expect("get").is_none());
    assert!(matches!(
        one.insert(record("m", "")).await,
        Err(StoreError::Duplicate)
    ));
    completed(
        one.complete("m", NOW, outcome(), Vec::new(), None)
            .await
            .expect("complete"),
    );
}

/// The run-time choice of back end by URL.
#[tokio::test]
async fn any_store_picks_the_back_end_from_the_url() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite:{}", dir.path().join("any.db").display());
    let store = AnyStore::connect(&url).await.expect("sqlite by URL");
    assert!(matches!(store, AnyStore::Sqlite(_)));
    store.insert(record("any", "")).await.expect("insert");
    completed(
        store
            .complete("any", NOW, outcome(), Vec::new(), None)
            .await
            .expect("complete"),
    );
    let mut rx = store.subscribe();
    let any2 = store.insert(record("any2", "x")).await.expect("insert");
    // (A subscriber may also get changes committed just before it subscribed: consumers filter
    // by revision.)
    let live = drain(&mut rx, any2.revision).await;
    assert_eq!(live.last(), Some(&any2));
    assert_eq!(live.iter().filter(|r| r.session_id == "any2").count(), 1);
    assert_eq!(
        store.list(ListFilter::default()).await.expect("list").len(),
        2
    );
    assert!(dir.path().join("any.db").is_file());

    for bad in ["mysql://u:secret@localhost/db", "/var/lib/smp.db"] {
        match AnyStore::connect(bad).await {
            Err(e @ StoreError::Open(emrex_store::DbError::Scheme(_))) => {
                assert!(!e.to_string().contains("secret"), "{e}");
            }
            other => panic!("{bad}: expected a URL error, got {other:?}"),
        }
    }
    // A PostgreSQL server on another host without verified TLS is refused before connecting.
    for remote in [
        "postgres://u:p@db.example:5432/smp",
        "postgresql://u:p@10.0.0.1/smp?sslmode=require",
    ] {
        assert!(
            matches!(
                AnyStore::connect(remote).await,
                Err(StoreError::Open(emrex_store::DbError::UnverifiedTls { .. }))
            ),
            "{remote}"
        );
    }
}

#[tokio::test]
async fn any_store_connects_to_postgres() {
    let url = postgres_url();
    // A schema of its own, as an operator would choose it (`store.schema`; created when missing).
    let schema = "smp_any_store";
    run_sql(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    let config = emrex_store::StoreConfig {
        url: url.clone(),
        schema: schema.into(),
        ..Default::default()
    };
    let store = AnyStore::open(&config).await.expect("postgres by URL");
    assert!(matches!(store, AnyStore::Postgres(_)));
    // Connecting again finds the migrations applied.
    let again = AnyStore::open(&config).await.expect("second connect");
    let inserted = store.insert(record("any", "")).await.expect("insert");
    assert_eq!(inserted.revision, 1);
    assert_eq!(again.get("any").await.expect("get"), Some(inserted));
    // Two store values (as two processes would) on one database: still one winner.
    let (a, b) = tokio::join!(
        store.complete("any", NOW, outcome(), b"a".to_vec(), None),
        again.complete("any", NOW, outcome(), b"b".to_vec(), None),
    );
    let results = [a.expect("complete"), b.expect("complete")];
    assert_eq!(
        results
            .iter()
            .filter(|c| matches!(c, Completion::Completed(_)))
            .count(),
        1,
        "{results:?}"
    );
    assert!(results.contains(&Completion::AlreadyCompleted));
    // The tables are in that schema, not in the default one.
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&postgres_url())
        .await
        .expect("connect");
    let n: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables \
         WHERE table_schema = 'smp_any_store' AND table_name IN ('exchanges', 'smp_state')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("count");
    assert_eq!(n, 2);
    conn.close().await.expect("close");
}

/// Two SMP replicas on one PostgreSQL database: replica B's change feed (what its SIS
/// `WatchExchanges` streams follow) carries every change made through replica A, in revision
/// order and once each, within a second — with no write on B to wake it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicas_feed_follows_writes_through_another_replica() {
    let url = postgres_url();
    let schema = "smp_two_replicas";
    run_sql(&url, &format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    let a = PostgresStore::connect_in_schema(&url, schema)
        .await
        .expect("replica A");
    let b = PostgresStore::connect_in_schema(&url, schema)
        .await
        .expect("replica B");
    let mut feed_b = b.subscribe();
    let started = std::time::Instant::now();
    let inserted = a
        .insert(record("via-a", "sis"))
        .await
        .expect("insert via A");
    let seen = tokio::time::timeout(std::time::Duration::from_secs(1), feed_b.recv())
        .await
        .expect("B saw A's insert within a second")
        .expect("open");
    assert_eq!(seen, inserted);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));

    // Interleaved writes through both: B's feed has 2..=21 exactly once, in order, in the
    // stored state (a record completed before B read it arrives completed).
    let mut tasks = Vec::new();
    for i in 0..10 {
        let id = format!("x{i}");
        tasks.push((i, id));
    }
    let (a, b) = (Arc::new(a), Arc::new(b));
    let mut handles = Vec::new();
    for (i, id) in tasks {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        handles.push(tokio::spawn(async move {
            store.insert(record(&id, "")).await.expect("insert");
            completed(
                store
                    .complete(&id, NOW, outcome(), Vec::new(), None)
                    .await
                    .expect("complete"),
            );
        }));
    }
    for h in handles {
        h.await.expect("task");
    }
    let live = drain(&mut feed_b, 21).await;
    let revisions: Vec<i64> = live.iter().map(|r| r.revision).collect();
    assert!(
        revisions.windows(2).all(|w| w[0] < w[1]),
        "in order, no duplicates: {revisions:?}"
    );
    assert_eq!(revisions.last(), Some(&21));
    for i in 0..10 {
        let id = format!("x{i}");
        let last = live
            .iter()
            .rev()
            .find(|r| r.session_id == id)
            .expect("seen");
        assert_eq!(last.status, Status::Completed, "{id}");
    }
}
