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

/// The wallet issuance on PostgreSQL across replicas: the offer made on A is redeemed on B, the
/// nonce comes from A and the credential from B; the code cannot be redeemed again on A, nor the
/// credential fetched again anywhere. (Each replica here has its own `public_url`, so the proof's
/// audience is the replica that checks it; behind one load balancer they share one.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wallet_offer_tokens_and_nonces_are_shared_by_the_replicas() {
    let schema = "ncp_wallet_replicas_test";
    fresh_schema(schema).await;
    let dir = tempfile::tempdir().expect("tmp");
    let (signer_addr, _, _, _signer) = start_signer(dir.path()).await;
    let mut config = NcpServiceConfig {
        dev_mode: true,
        ..Default::default()
    };
    config.signer.client.endpoint = format!("http://{signer_addr}");
    config.signer.client.timeout = Duration::from_secs(20);
    config.store.url = postgres_url();
    config.store.schema = schema.into();
    config.wallet.enabled = true;
    let (a, _task_a) = serve_replica(config.clone()).await;
    let (b, _task_b) = serve_replica(config.clone()).await;

    let mut agent = Agent::new();
    let r = agent
        .post(
            &format!("{a}/"),
            &[("sessionId", "wallet-replicas"), ("returnUrl", RETURN)],
        )
        .await;
    let path = r.location.expect("location");
    let login = agent.get(&format!("{a}{path}")).await;
    let csrf = input(&login.body, "csrf");
    agent
        .post(
            &format!("{a}{path}/login/dev"),
            &[("csrf", &csrf), ("student", "demo-asa")],
        )
        .await;
    let select = agent.get(&format!("{a}{path}")).await;
    let offered = input_values(&select.body, "course");
    let csrf = input(&select.body, "csrf");
    let page = agent
        .post(
            &format!("{a}{path}/send"),
            &[
                ("csrf", &csrf),
                ("course", &offered[0]),
                ("consent", "yes"),
                ("wallet", "yes"),
            ],
        )
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    let code_at = page
        .body
        .find("pre-authorized_code%22%3A%22")
        .expect("code in the offer URI");
    let rest = &page.body[code_at + "pre-authorized_code%22%3A%22".len()..];
    let code = &rest[..rest.find("%22").expect("end of code")];
    let tx_at = page.body.find("id=\"tx-code\"").expect("tx code");
    let rest = &page.body[tx_at..];
    let rest = &rest[rest.find('>').expect(">") + 1..];
    let tx = rest[..rest.find('<').expect("<")].trim().to_string();

    let http = reqwest::Client::new();
    let grant = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
    let form = format!("grant_type={grant}&pre-authorized_code={code}&tx_code={tx}");
    let token = |base: &str| {
        http.post(format!("{base}/wallet/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form.clone())
            .send()
    };
    let r = token(&b).await.expect("token on B");
    assert_eq!(r.status(), 200);
    let t: serde_json::Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    let access = t["access_token"]
        .as_str()
        .expect("access token")
        .to_string();
    let r = token(&a).await.expect("token on A");
    assert_eq!(r.status(), 400, "the code is spent on every replica");

    let r = http
        .post(format!("{a}/wallet/nonce"))
        .send()
        .await
        .expect("nonce on A");
    let n: serde_json::Value = serde_json::from_str(&r.text().await.expect("body")).expect("json");
    let nonce = n["c_nonce"].as_str().expect("c_nonce");
    let key = emrex_tests::sdjwt::oracle(
        &serde_json::json!({"mode": "wallet", "alg": "ES256", "aud": b, "nonce": nonce}),
    );
    let body = serde_json::json!({
        "credential_configuration_id": "elm_dc_sd_jwt",
        "proofs": {"jwt": [key["proof"]]},
    })
    .to_string();
    let credential = |base: &str| {
        http.post(format!("{base}/wallet/credential"))
            .bearer_auth(&access)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    let r = credential(&b).await.expect("credential on B");
    let status = r.status();
    let text = r.text().await.expect("body");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"credentials\""), "{text}");
    let r = credential(&a).await.expect("credential again on A");
    assert_eq!(
        r.status(),
        401,
        "one credential per offer, on every replica"
    );
}
