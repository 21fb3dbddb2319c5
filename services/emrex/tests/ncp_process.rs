//! `emrex ncp` as a real process: `/ready` follows the Signer (down → 503 naming it; a real
//! `emrex signer` process started later → 200), the entry point answers, the dev banner shows in
//! development mode, refused configurations exit with a clear message, and SIGTERM stops it
//! cleanly.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn http(port: u16, request: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some((body.split_whitespace().nth(1)?.parse().ok()?, body))
}

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    http(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
    )
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn readiness_follows_the_signer_and_the_entry_point_answers() {
    let dir = tempfile::tempdir().expect("tmp");
    let (http_port, admin, grpc, signer_grpc, signer_admin) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let mut ncp = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(["ncp", "--dev"])
        .args(["--http-listen", &format!("127.0.0.1:{http_port}")])
        .args(["--public-url", &format!("http://127.0.0.1:{http_port}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--grpc-listen", &format!("127.0.0.1:{grpc}")])
        .args(["--signer", &format!("http://127.0.0.1:{signer_grpc}")])
        .arg("--store")
        .arg(format!("sqlite:{}", dir.path().join("ncp.db").display()))
        .env("EMREX_NCP_SHUTDOWN__DRAIN_DELAY", "100ms")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn ncp");
    wait_for("the admin server", || get(admin, "/live").is_some());
    let (status, body) = get(admin, "/ready").expect("ready");
    assert_eq!(status, 503, "no Signer yet: {body}");
    assert!(body.contains("signer"), "{body}");

    // The entry point works even while not ready (the Signer is only needed at the end).
    let form = "sessionId=p1&returnUrl=http%3A%2F%2F127.0.0.1%3A9%2Fr";
    let (status, response) = http(
        http_port,
        &format!(
            "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{form}",
            form.len()
        ),
    )
    .expect("entry");
    assert_eq!(status, 303, "{response}");
    assert!(response.contains("set-cookie: emrex-ncp-"), "{response}");

    // A real Signer process with a test-only key.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let cert = rcgen::CertificateParams::new(vec!["ncp.test.invalid".into()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    std::fs::write(dir.path().join("k.pem"), key.serialize_pem()).expect("key");
    std::fs::write(dir.path().join("c.pem"), cert.pem()).expect("cert");
    let mut signer = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .arg("signer")
        .args(["--grpc-listen", &format!("127.0.0.1:{signer_grpc}")])
        .args(["--admin-listen", &format!("127.0.0.1:{signer_admin}")])
        .arg("--key")
        .arg(dir.path().join("k.pem"))
        .arg("--cert")
        .arg(dir.path().join("c.pem"))
        .env("EMREX_SIGNER_AUTH__ALLOW_DEV_BEARER_TOKENS", "true")
        .env("EMREX_SIGNER_AUTH__DEV_BEARER_TOKENS", r#"["unused"]"#)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn signer");
    wait_for("the NCP to become ready", || {
        matches!(get(admin, "/ready"), Some((200, _)))
    });

    for child in [&mut ncp, &mut signer] {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    let status = ncp.wait().expect("wait");
    assert!(status.success(), "emrex ncp exit status {status}");
    let _ = signer.wait();
}

#[test]
fn unsafe_configurations_are_refused_at_start() {
    // The demo source outside development mode.
    let out = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args([
            "ncp",
            "--http-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("dev_mode"), "{err}");
    // An unknown key in the environment's nested section.
    let out = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(["ncp", "--dev"])
        .env("EMREX_NCP_EXCHANGE__TTLL", "5m")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ttll"), "{err}");
}
