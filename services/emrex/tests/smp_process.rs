//! `emrex smp` as a real process: not ready until the NCP list has loaded from EMREG (here an
//! `emrex emreg` process started after it), the chooser page lists what EMREG holds, unsafe
//! configurations are refused, and SIGTERM stops it cleanly.

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

fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some((body.split_whitespace().nth(1)?.parse().ok()?, body))
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn smp_waits_for_emreg_then_serves_and_stops_cleanly() {
    let dir = tempfile::tempdir().expect("tmp");
    let (http, admin, grpc, emreg_grpc, emreg_http, emreg_admin) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    let mut smp = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(["smp", "--dev"])
        .args(["--http-listen", &format!("127.0.0.1:{http}")])
        .args(["--public-url", &format!("http://127.0.0.1:{http}")])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--grpc-listen", &format!("127.0.0.1:{grpc}")])
        .args([
            "--store",
            &format!("sqlite:{}", dir.path().join("smp.db").display()),
        ])
        .env("EMREX_SMP_REGISTRY__KIND", "grpc")
        .env(
            "EMREX_SMP_REGISTRY__CLIENT__ENDPOINT",
            format!("http://127.0.0.1:{emreg_grpc}"),
        )
        .env("EMREX_SMP_SHUTDOWN__DRAIN_DELAY", "100ms")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn smp");
    wait_for("the admin server", || get(admin, "/live").is_some());
    let (status, body) = get(admin, "/ready").expect("ready");
    assert_eq!(status, 503, "no EMREG yet: {body}");
    assert!(body.contains("NCP list"), "{body}");

    let mut emreg = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(["emreg", "--dev"])
        .args(["--grpc-listen", &format!("127.0.0.1:{emreg_grpc}")])
        .args(["--http-listen", &format!("127.0.0.1:{emreg_http}")])
        .args(["--admin-listen", &format!("127.0.0.1:{emreg_admin}")])
        .args([
            "--store",
            &format!("sqlite:{}", dir.path().join("emreg.db").display()),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn emreg");
    wait_for("the SMP to become ready", || {
        matches!(get(admin, "/ready"), Some((200, _)))
    });
    let (status, page) = get(http, "/").expect("chooser");
    assert_eq!(status, 200);
    assert!(
        page.contains("No results providers are registered yet"),
        "{page}"
    );

    for child in [&mut smp, &mut emreg] {
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
    }
    let status = smp.wait().expect("wait");
    assert!(status.success(), "emrex smp exit status {status}");
    let _ = emreg.wait();

    // Outside development mode an http:// public URL is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_emrex"))
        .args(["smp", "--public-url", "http://smp.example.org"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("https"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
