//! `emrex emreg` as a real process: SQLite store in a temp dir, RegistryAdmin guarded by a
//! development bearer token (mTLS is covered by the Signer process test and the runtime's tests),
//! the EMREX 1.x JSON list reflecting what was written, the EWP manifest configured through the
//! environment, and on SIGTERM a drain (not ready, still accepting on every listener) then a clean
//! exit 0.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emrex_proto::registry::v1::registry_admin_client::RegistryAdminClient;
use emrex_proto::registry::v1::registry_client::RegistryClient;
use emrex_proto::registry::v1::{Entry, GetRequest, UpsertRequest, WatchRequest};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some((body.split_whitespace().nth(1)?.parse().ok()?, body))
}

fn certificate_pem() -> String {
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    rcgen::CertificateParams::new(vec!["ncp.test.invalid".into()])
        .expect("params")
        .self_signed(&key)
        .expect("cert")
        .pem()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emreg_serves_grpc_and_json_and_guards_admin() {
    let dir = tempfile::tempdir().expect("tmp");
    let (grpc, http, admin) = (free_port(), free_port(), free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(["emreg", "--dev"])
        .args(["--grpc-listen", &format!("127.0.0.1:{grpc}")])
        .args(["--http-listen", &format!("127.0.0.1:{http}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args([
            "--store",
            &format!("sqlite:{}", dir.path().join("emreg.db").display()),
        ])
        .env("EMREX_EMREG_AUTH__ALLOW_DEV_BEARER_TOKENS", "true")
        .env(
            "EMREX_EMREG_AUTH__DEV_BEARER_TOKENS",
            r#"["test-admin-token"]"#,
        )
        .env("EMREX_EMREG_SHUTDOWN__DRAIN_DELAY", "2s")
        // Longer than the test waits for the exit: an open Watch stream must not hold the
        // process until this timeout.
        .env("EMREX_EMREG_SHUTDOWN__TIMEOUT", "60s")
        // Publishing into EWP: the manifest's host, as environment variables.
        .env(
            "EMREX_EMREG_EWP__ADMIN_EMAILS",
            r#"["registry@test.invalid"]"#,
        )
        .env("EMREX_EMREG_EWP__ADMIN_PROVIDER", "emrex-rs tests")
        .env(
            "EMREX_EMREG_EWP__MANIFEST_URL",
            "https://emreg.test.invalid/ewp/manifest.xml",
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http_get(admin, "/ready"), Some((200, _))) {
        assert!(
            Instant::now() < deadline,
            "emrex emreg did not become ready"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let entry = Entry {
        acronym: "TEST-NCP".into(),
        country_code: "FI".into(),
        institutions: vec!["Test University".into()],
        url: format!("http://127.0.0.1:{}/ncp", free_port()),
        certificates_pem: vec![certificate_pem()],
        credential_issuer: "http://127.0.0.1:1/ncp".into(),
        ..Entry::default()
    };
    let channel = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{grpc}"))
        .expect("uri")
        .connect()
        .await
        .expect("connect");
    let mut admin_client = RegistryAdminClient::new(channel.clone());
    let refused = admin_client
        .upsert(UpsertRequest {
            entry: Some(entry.clone()),
        })
        .await;
    assert_eq!(
        refused.expect_err("no token").code(),
        tonic::Code::Unauthenticated
    );
    let mut req = tonic::Request::new(UpsertRequest {
        entry: Some(entry.clone()),
    });
    req.metadata_mut().insert(
        "authorization",
        "Bearer test-admin-token".parse().expect("header"),
    );
    admin_client
        .upsert(req)
        .await
        .expect("upsert with the token");

    let got = RegistryClient::new(channel)
        .get(GetRequest {
            acronym: "TEST-NCP".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.country_code, "FI");
    let (status, body) = http_get(http, "/ncp-list.json").expect("json list");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value =
        serde_json::from_str(body.split("\r\n\r\n").nth(1).unwrap_or_default()).expect("JSON body");
    assert_eq!(json["ncps"][0]["acronym"], "TEST-NCP", "{json}");
    assert_eq!(json["countries"][0]["countryCode"], "FI", "{json}");
    assert!(
        json["ncps"][0]["pubKey"]
            .as_str()
            .is_some_and(|k| k.contains("BEGIN CERTIFICATE")),
        "{json}"
    );
    // The EWP manifest is served; the development entry (http://) is not in it, since the
    // manifest-entry schema requires https.
    let (status, manifest) = http_get(http, "/ewp/manifest.xml").expect("manifest");
    assert_eq!(status, 200, "{manifest}");
    assert!(
        manifest.contains("content-type: application/xml")
            && manifest.contains("<ewp:admin-provider>emrex-rs tests</ewp:admin-provider>")
            && manifest.contains("<url>https://emreg.test.invalid/ewp/manifest.xml</url>")
            && !manifest.contains("TEST-NCP"),
        "{manifest}"
    );

    // The NCP issues wallet credentials: its key is listed for wallet verifiers.
    let (status, issuers) = http_get(http, "/wallet-issuers.json").expect("wallet issuers");
    assert_eq!(status, 200, "{issuers}");
    let issuers: serde_json::Value =
        serde_json::from_str(issuers.split("\r\n\r\n").nth(1).unwrap_or_default())
            .expect("JSON body");
    assert_eq!(
        issuers["issuers"][0]["credentialIssuer"],
        "http://127.0.0.1:1/ncp"
    );
    assert_eq!(
        issuers["issuers"][0]["jwks"]["keys"][0]["kty"], "EC",
        "{issuers}"
    );

    // A client watching the registry when the replica is told to stop.
    let mut watch = RegistryClient::new(
        tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{grpc}"))
            .expect("uri")
            .connect()
            .await
            .expect("connect"),
    )
    .watch(WatchRequest { since_revision: 0 })
    .await
    .expect("watch")
    .into_inner();
    let first = watch.message().await.expect("first event");
    assert!(first.is_some(), "the snapshot comes first");
    let watch_end = tokio::spawn(async move {
        loop {
            match watch.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => return None,
                Err(status) => return Some(status.code()),
            }
        }
    });

    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let terminated = Instant::now();
    // The drain: not ready any more, yet NEW connections to the HTTP and gRPC listeners are
    // still accepted and answered, so a rolling update refuses nobody.
    while !matches!(http_get(admin, "/ready"), Some((503, _))) {
        assert!(
            terminated.elapsed() < Duration::from_secs(2),
            "/ready never went 503"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, _) = http_get(http, "/ncp-list.json").expect("JSON list during the drain");
    assert_eq!(status, 200);
    let during = tonic::transport::Channel::from_shared(format!("http://127.0.0.1:{grpc}"))
        .expect("uri")
        .connect()
        .await
        .expect("a new gRPC connection during the drain");
    RegistryClient::new(during)
        .get(GetRequest {
            acronym: "TEST-NCP".into(),
        })
        .await
        .expect("gRPC answered during the drain");
    assert!(
        terminated.elapsed() < Duration::from_secs(2),
        "the checks outlasted the drain delay"
    );
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            // The Watch stream was ended (so the process did not wait out the 60 s timeout),
            // telling the client to watch again elsewhere.
            assert_eq!(
                watch_end.await.expect("watch task"),
                Some(tonic::Code::Unavailable)
            );
            assert!(status.success(), "{status}");
            assert!(
                terminated.elapsed() >= Duration::from_secs(2),
                "stopped before the drain delay"
            );
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("emrex emreg did not stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
