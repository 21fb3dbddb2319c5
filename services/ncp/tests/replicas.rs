//! Several NCP replicas sharing one PostgreSQL store (the real server of
//! scripts/postgres-test-db.sh): an exchange started on replica A continues on replica B with
//! no session affinity, and a restart between login and sending loses nothing. Each step goes
//! to a different replica, as a round-robin load balancer would send it.

mod support;

use std::time::Duration;

use emrex_elmo::Budget;
use emrex_ncp::NcpServiceConfig;
use support::{Agent, input, input_values, return_fields, serve_replica, start_signer};

const RETURN: &str = "http://127.0.0.1:9/emrex/return";

fn postgres_url() -> String {
    std::env::var("EMREX_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("EMREX_TEST_POSTGRES_URL is not set: run `eval \"$(bash scripts/postgres-test-db.sh)\"` (./scripts/test.sh does)")
    })
}

/// Drops the test's schema so every run starts empty.
async fn fresh_schema(schema: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&postgres_url())
        .await
        .expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE"
    )))
    .execute(&mut conn)
    .await
    .expect("drop schema");
    conn.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_replica_serves_any_step_and_a_restart_loses_nothing() {
    let schema = "ncp_replicas_test";
    fresh_schema(schema).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (signer_addr, cert, _, _signer) = start_signer(dir.path()).await;
    let mut config = NcpServiceConfig {
        dev_mode: true,
        ..Default::default()
    };
    config.signer.client.endpoint = format!("http://{signer_addr}");
    config.signer.client.timeout = Duration::from_secs(20);
    config.store.url = postgres_url();
    config.store.schema = schema.into();

    let (a, task_a) = serve_replica(config.clone()).await;
    let (b, task_b) = serve_replica(config.clone()).await;
    let mut agent = Agent::new();

    // The client hands the student over to replica A…
    let session = "5b1f3d2e-replicas";
    let r = agent
        .post(
            &format!("{a}/"),
            &[("sessionId", session), ("returnUrl", RETURN)],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let path = r.location.expect("location");
    // …the login page comes from B, and the login is posted to A.
    let login = agent.get(&format!("{b}{path}")).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let csrf = input(&login.body, "csrf");
    let r = agent
        .post(
            &format!("{a}{path}/login/dev"),
            &[("csrf", &csrf), ("student", "demo-asa")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Both replicas restart (a rolling update) between the login and the choice.
    task_a.abort();
    task_b.abort();
    let _ = (task_a.await, task_b.await);
    let (c, _task_c) = serve_replica(config.clone()).await;
    let (d, _task_d) = serve_replica(config.clone()).await;

    let select = agent.get(&format!("{c}{path}")).await;
    assert_eq!(select.status, 200, "{}", select.body);
    let offered = input_values(&select.body, "course");
    assert_eq!(
        offered.len(),
        5,
        "the choice survived the restart: {offered:?}"
    );
    let csrf = input(&select.body, "csrf");
    // A browser without the exchange's cookie is refused on any replica.
    let mut stranger = Agent::new();
    let r = stranger.get(&format!("{d}{path}")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let answer = agent
        .post(
            &format!("{d}{path}/send"),
            &[("csrf", &csrf), ("course", &offered[0]), ("consent", "yes")],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let fields = return_fields(&answer.body);
    assert_eq!(fields["sessionId"], session);
    assert_eq!(fields["returnCode"], "NCP_OK");
    let signed =
        emrex_elmo::transport::decode(&fields["elmo"], &Budget::default()).expect("decode");
    emrex_xmldsig::verify(&signed, std::slice::from_ref(&cert), &Default::default())
        .expect("signed by the Signer");

    // The same form replayed on the other replica: already finished there too.
    let again = agent
        .post(
            &format!("{c}{path}/send"),
            &[("csrf", &csrf), ("course", &offered[0]), ("consent", "yes")],
        )
        .await;
    assert_ne!(
        again.status, 200,
        "a second response must never be produced"
    );
    assert!(!again.body.contains("NCP_OK"), "{}", again.body);
}
